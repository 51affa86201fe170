using Diffusion.ML.Core.Tests.Data;
using Diffusion.ML.Zoo;

namespace Diffusion.ML.Core.Tests.Zoo;

/// <summary>Mirror folders, file:// URLs and offline mode.</summary>
[TestClass]
public sealed class ZooLocalSourceTests
{
    private static readonly byte[] Weights = ZooTestModels.Bytes(70_000, seed: 2);

    [TestMethod]
    public async Task MirrorFolderAndFileUrlWork()
    {
        using var temp = new TempDirectory();
        string mirror = Directory.CreateDirectory(Path.Combine(temp.Path, "mirror")).FullName;
        ZooTestModels.WriteMirror(mirror, ("model.bin", Weights));

        foreach (string baseUrl in new[] { mirror, new Uri(mirror).AbsoluteUri })
        {
            string cache = Path.Combine(temp.Path, "cache-" + (baseUrl.StartsWith("file:", StringComparison.Ordinal) ? "url" : "folder"));
            using var client = new ZooClient(ZooTestModels.Options(baseUrl, cache, Path.Combine(temp.Path, "no-zoo")));
            var result = await client.PullAsync(ZooTestModels.Id);
            Assert.AreEqual(1, result.DownloadedFiles, baseUrl);
            StringAssert.StartsWith(result.PathOf("model.bin"), cache);
            CollectionAssert.AreEqual(Weights, File.ReadAllBytes(result.PathOf("model.bin")), baseUrl);
        }
    }

    [TestMethod]
    public async Task TamperedMirrorFileIsRefused()
    {
        using var temp = new TempDirectory();
        string mirror = Directory.CreateDirectory(Path.Combine(temp.Path, "mirror")).FullName;
        ZooTestModels.WriteMirror(mirror, ("model.bin", Weights));
        File.WriteAllBytes(Path.Combine(mirror, ZooTestModels.Id, "model.bin"), ZooTestModels.Bytes(70_000, seed: 3));

        using var client = new ZooClient(ZooTestModels.Options(mirror, Path.Combine(temp.Path, "cache"), Path.Combine(temp.Path, "no-zoo")));
        var e = await Assert.ThrowsExactlyAsync<ZooException>(() => client.PullAsync(ZooTestModels.Id));
        Assert.AreEqual(ZooErrorKind.ChecksumMismatch, e.Kind);
        Assert.AreEqual(0, Directory.GetFiles(Path.Combine(temp.Path, "cache", "models"), "*", SearchOption.AllDirectories)
            .Count(f => !f.EndsWith(ZooCacheLayout.LockFileName, StringComparison.Ordinal)));
    }

    [TestMethod]
    public async Task OfflineUsesTheCacheAndFailsClearlyWithoutIt()
    {
        using var temp = new TempDirectory();
        string mirror = Directory.CreateDirectory(Path.Combine(temp.Path, "mirror")).FullName, cache = Path.Combine(temp.Path, "cache");
        string noZoo = Path.Combine(temp.Path, "no-zoo");
        ZooTestModels.WriteMirror(mirror, ("model.bin", Weights));

        // Nothing cached, no in-repository zoo: the manifest itself is missing.
        using (var empty = new ZooClient(ZooTestModels.Options(mirror, cache, noZoo) with { Offline = true }))
        {
            var e = await Assert.ThrowsExactlyAsync<ZooException>(() => empty.PullAsync(ZooTestModels.Id));
            Assert.AreEqual(ZooErrorKind.OfflineNotCached, e.Kind);
            StringAssert.Contains(e.Message, "without --offline");
        }

        // The manifest is cached (an online list), the file is not.
        using (var online = new ZooClient(ZooTestModels.Options(mirror, cache, noZoo)))
            await online.GetManifestAsync();
        using (var offline = new ZooClient(ZooTestModels.Options(mirror, cache, noZoo) with { Offline = true }))
        {
            var e = await Assert.ThrowsExactlyAsync<ZooException>(() => offline.PullAsync(ZooTestModels.Id));
            Assert.AreEqual(ZooErrorKind.OfflineNotCached, e.Kind);
            StringAssert.Contains(e.Message, "'model.bin'");
            StringAssert.Contains(e.Message, $"diffusion-ml zoo pull {ZooTestModels.Id}");
        }

        // Pulled once online: offline finds it, even with the mirror gone.
        using (var online = new ZooClient(ZooTestModels.Options(mirror, cache, noZoo)))
            await online.PullAsync(ZooTestModels.Id);
        Directory.Delete(mirror, recursive: true);
        using (var offline = new ZooClient(ZooTestModels.Options("https://unreachable.invalid/zoo", cache, noZoo) with { Offline = true }))
        {
            var result = await offline.PullAsync(ZooTestModels.Id);
            Assert.AreEqual(0, result.DownloadedFiles);
            CollectionAssert.AreEqual(Weights, File.ReadAllBytes(result.PathOf("model.bin")));
        }
    }

    [TestMethod]
    public async Task OfflineFallsBackToTheInRepositoryZoo()
    {
        using var temp = new TempDirectory();
        string localZoo = Directory.CreateDirectory(Path.Combine(temp.Path, "repo", "zoo")).FullName;
        ZooTestModels.WriteMirror(localZoo, ("model.bin", Weights));

        using var client = new ZooClient(ZooTestModels.Options("https://unreachable.invalid/zoo", Path.Combine(temp.Path, "cache"), localZoo) with { Offline = true });
        var result = await client.PullAsync(ZooTestModels.Id);
        Assert.AreEqual(Path.Combine(localZoo, ZooTestModels.Id, "model.bin"), result.PathOf("model.bin"), "used in place, not copied");
        Assert.AreEqual(localZoo, ZooRepository.FindFrom(Path.Combine(temp.Path, "repo", "src", "deeper")), "found from a folder below the zoo's parent");

        File.WriteAllBytes(result.PathOf("model.bin"), ZooTestModels.Bytes(70_000, seed: 9));
        using var again = new ZooClient(client.Options);
        var e = await Assert.ThrowsExactlyAsync<ZooException>(() => again.PullAsync(ZooTestModels.Id));
        Assert.AreEqual(ZooErrorKind.OfflineNotCached, e.Kind);
        StringAssert.Contains(e.Message, "does not match the manifest");
    }
}
