using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Diffusion.ML.Cli.Commands;
using Diffusion.ML.Zoo;

namespace Diffusion.ML.Cli.Tests;

/// <summary><c>diffusion-ml zoo list | info | pull</c> against a mirror folder, a file:// URL and the in-repository zoo.</summary>
[TestClass]
public sealed class ZooCommandTests
{
    private const string Id = "cli-test-model";
    private static readonly byte[] Weights = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7))];
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-zoo-cli").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => new RootCommand { ZooCommand.Create() }.Parse(args).InvokeAsync().GetAwaiter().GetResult();

    private string Mirror(byte[] served)
    {
        string mirror = Directory.CreateDirectory(Path.Combine(_dir, "mirror")).FullName;
        var manifest = new ZooManifest(ZooManifest.CurrentFormatVersion,
        [
            new ZooModel(Id, "2.0.0", "test", "bytes", new ZooArchitecture("none", JsonDocument.Parse("{}").RootElement),
                [new ZooFile("model.bin", Weights.Length, Convert.ToHexStringLower(SHA256.HashData(Weights)))], "MIT", "none", []),
        ]);
        File.WriteAllText(Path.Combine(mirror, ZooManifest.FileName), manifest.ToJson());
        Directory.CreateDirectory(Path.Combine(mirror, Id));
        File.WriteAllBytes(Path.Combine(mirror, Id, "model.bin"), served);
        return mirror;
    }

    [TestMethod]
    public void ListInfoAndPullFromAMirrorFolderAndAFileUrl()
    {
        string mirror = Mirror(Weights), cache = Path.Combine(_dir, "cache");
        Assert.AreEqual(0, Run("zoo", "list", "--base-url", mirror, "--cache-dir", cache));
        Assert.AreEqual(0, Run("zoo", "info", Id, "--base-url", new Uri(mirror).AbsoluteUri, "--cache-dir", cache));
        Assert.AreEqual(0, Run("zoo", "pull", Id, "--base-url", new Uri(mirror).AbsoluteUri, "--cache-dir", cache));
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(Path.Combine(cache, "models", Id, "2.0.0", "model.bin")));

        Directory.Delete(mirror, recursive: true);
        Assert.AreEqual(0, Run("zoo", "pull", Id, "--offline", "--cache-dir", cache), "offline: the cached copy");
    }

    [TestMethod]
    public void ErrorsAreOneLineAndExitCodeTwo()
    {
        string cache = Path.Combine(_dir, "cache");
        Assert.AreEqual(CliApp.InputError, Run("zoo", "pull", Id, "--base-url", Mirror([.. Weights.Reverse()]), "--cache-dir", cache), "checksum mismatch");
        Assert.IsFalse(File.Exists(Path.Combine(cache, "models", Id, "2.0.0", "model.bin")));
        Assert.AreEqual(CliApp.InputError, Run("zoo", "info", "no-such-model", "--base-url", Path.Combine(_dir, "mirror"), "--cache-dir", cache), "unknown id");
        Assert.AreEqual(CliApp.InputError, Run("zoo", "list", "--base-url", Path.Combine(_dir, "absent"), "--cache-dir", cache), "bad base URL");
    }

    [TestMethod]
    public void OfflineReadsTheInRepositoryZoo()
    {
        string cache = Path.Combine(_dir, "empty-cache");
        Assert.AreEqual(0, Run("zoo", "list", "--offline", "--cache-dir", cache));
        Assert.AreEqual(0, Run("zoo", "info", "fashion-mnist-unet32", "--offline", "--cache-dir", cache));
        Assert.AreEqual(0, Run("zoo", "pull", "fashion-mnist-features", "--offline", "--cache-dir", cache));
        Assert.IsFalse(Directory.Exists(Path.Combine(cache, "models")), "the in-repository copy is used in place");
    }
}
