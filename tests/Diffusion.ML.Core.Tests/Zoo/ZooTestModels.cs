using System.Security.Cryptography;
using System.Text.Json;
using Diffusion.ML.Zoo;

namespace Diffusion.ML.Core.Tests.Zoo;

/// <summary>Synthetic zoo models: random bytes and the manifest that describes them.</summary>
internal static class ZooTestModels
{
    public const string Id = "tiny-test-model";

    /// <summary><paramref name="size"/> bytes from a seeded generator.</summary>
    public static byte[] Bytes(int size, int seed = 1)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A one-model manifest whose files are <paramref name="files"/> (path, bytes).</summary>
    public static ZooManifest Manifest(params (string Path, byte[] Bytes)[] files) => new(ZooManifest.CurrentFormatVersion,
    [
        new ZooModel(Id, "1.0.0", "test", "random bytes", new ZooArchitecture("none", JsonDocument.Parse("{\"width\":4}").RootElement),
            files.Select(f => new ZooFile(f.Path, f.Bytes.Length, Convert.ToHexStringLower(SHA256.HashData(f.Bytes)))).ToArray(),
            "MIT", "none", [new ZooMetric("mse", 0.5, "echo 0.5")]),
    ]);

    /// <summary>Serves <paramref name="files"/> and their manifest on <paramref name="server"/>; returns the manifest.</summary>
    public static ZooManifest Publish(LoopbackZooServer server, params (string Path, byte[] Bytes)[] files)
    {
        var manifest = Manifest(files);
        server.Serve(ZooManifest.FileName, System.Text.Encoding.UTF8.GetBytes(manifest.ToJson()));
        foreach (var (path, bytes) in files) server.Serve($"{Id}/{path}", bytes);
        return manifest;
    }

    /// <summary>Writes <paramref name="files"/> and their manifest as a mirror folder under <paramref name="root"/>.</summary>
    public static void WriteMirror(string root, params (string Path, byte[] Bytes)[] files)
    {
        File.WriteAllText(Path.Combine(root, ZooManifest.FileName), Manifest(files).ToJson());
        foreach (var (path, bytes) in files)
        {
            string target = Path.Combine(root, Id, path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, bytes);
        }
    }

    /// <summary>Options for a client of <paramref name="baseUrl"/> caching in <paramref name="cache"/>, with fast retries and no repository fallback.</summary>
    public static ZooClientOptions Options(string baseUrl, string cache, string noLocalZoo) => new()
    {
        BaseUrl = baseUrl,
        CacheDirectory = cache,
        LocalZooDirectory = noLocalZoo,
        RetryDelay = TimeSpan.FromMilliseconds(10),
        MaxRetryDelay = TimeSpan.FromMilliseconds(50),
        StallTimeout = TimeSpan.FromSeconds(20),
        LockTimeout = TimeSpan.FromSeconds(60),
    };
}
