using Diffusion.ML.Core.Tests.Data;
using Diffusion.ML.Zoo;

namespace Diffusion.ML.Core.Tests.Zoo;

/// <summary>Pulls from a real HTTP server on loopback: verification, resume, retries, errors, concurrent pullers.</summary>
[TestClass]
public sealed class ZooHttpPullTests
{
    private const string FilePath = "weights/model.bin";
    private const string ServedPath = ZooTestModels.Id + "/" + FilePath;

    private static readonly byte[] Weights = ZooTestModels.Bytes(300_000);

    private static ZooClient Client(LoopbackZooServer server, TempDirectory temp, int maxRetries = 4) =>
        new(ZooTestModels.Options(server.BaseUrl, Path.Combine(temp.Path, "cache"), Path.Combine(temp.Path, "no-zoo")) with { MaxRetries = maxRetries });

    private static string CachedPath(TempDirectory temp) => Path.Combine(temp.Path, "cache", "models", ZooTestModels.Id, "1.0.0", "weights", "model.bin");

    [TestMethod]
    public async Task PullVerifiesCachesAndDoesNotDownloadTwice()
    {
        using var temp = new TempDirectory();
        using var server = new LoopbackZooServer();
        ZooTestModels.Publish(server, (FilePath, Weights), ("config.json", "{\"width\":4}"u8.ToArray()));

        using var client = Client(server, temp);
        var result = await client.PullAsync(ZooTestModels.Id);
        Assert.AreEqual(2, result.DownloadedFiles);
        Assert.AreEqual(CachedPath(temp), result.PathOf(FilePath));
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(result.PathOf(FilePath)));
        Assert.IsTrue(File.Exists(Path.Combine(temp.Path, "cache", ZooManifest.FileName)), "the manifest is kept for offline use");

        using var second = Client(server, temp);
        var again = await second.PullAsync(ZooTestModels.Id);
        Assert.AreEqual(0, again.DownloadedFiles);
        Assert.AreEqual(1, server.CountRequests(ServedPath));
        Assert.AreEqual(0, Directory.GetFiles(Path.Combine(temp.Path, "cache"), "*" + ZooCacheLayout.PartialSuffix, SearchOption.AllDirectories).Length);
    }

    [TestMethod]
    public async Task TamperedFileIsRefusedAndNothingBecomesVisible()
    {
        using var temp = new TempDirectory();
        using var server = new LoopbackZooServer();
        ZooTestModels.Publish(server, (FilePath, Weights));
        byte[] tampered = (byte[])Weights.Clone();
        tampered[123_456] ^= 0x01;
        server.Serve(ServedPath, tampered);

        using var client = Client(server, temp);
        var e = await Assert.ThrowsExactlyAsync<ZooException>(() => client.PullAsync(ZooTestModels.Id));
        Assert.AreEqual(ZooErrorKind.ChecksumMismatch, e.Kind);
        StringAssert.Contains(e.Message, "SHA-256");
        StringAssert.Contains(e.Message, server.BaseUrl + "/" + ServedPath);
        StringAssert.Contains(e.Message, "Nothing was added to the cache");
        Assert.AreEqual(1, server.CountRequests(ServedPath), "a checksum mismatch is not retried");
        string modelDir = Path.GetDirectoryName(CachedPath(temp))!;
        Assert.AreEqual(0, Directory.GetFiles(modelDir).Length, "neither the file nor a partial file is left");
    }

    [TestMethod]
    public async Task DroppedConnectionResumesWithARangeRequest()
    {
        using var temp = new TempDirectory();
        using var server = new LoopbackZooServer();
        ZooTestModels.Publish(server, (FilePath, Weights));
        server.Drop(ServedPath, afterBytes: 100_000);

        using var client = Client(server, temp);
        var result = await client.PullAsync(ZooTestModels.Id);
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(result.PathOf(FilePath)));
        var requests = server.Requests.Where(r => r.Path == ServedPath).ToArray();
        Assert.HasCount(2, requests);
        Assert.IsNull(requests[0].Range);
        Assert.AreEqual("bytes=100000-", requests[1].Range, "the second attempt continues the partial file");
    }

    [TestMethod]
    public async Task ServerWithoutRangeSupportSendsTheWholeFileAgain()
    {
        using var temp = new TempDirectory();
        using var server = new LoopbackZooServer { IgnoreRange = true };
        ZooTestModels.Publish(server, (FilePath, Weights));
        server.Drop(ServedPath, afterBytes: 100_000);

        using var client = Client(server, temp);
        var result = await client.PullAsync(ZooTestModels.Id);
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(result.PathOf(FilePath)), "the partial file is rewritten from byte 0, not appended to");
        Assert.AreEqual("bytes=100000-", server.Requests.Last(r => r.Path == ServedPath).Range);
    }

    [TestMethod]
    public async Task TruncatedDownloadIsNeverVisibleAndTheNextPullResumes()
    {
        using var temp = new TempDirectory();
        using var server = new LoopbackZooServer();
        ZooTestModels.Publish(server, (FilePath, Weights));
        server.Drop(ServedPath, afterBytes: 50_000, times: 3); // three attempts, each adds 50,000 bytes

        using (var client = Client(server, temp, maxRetries: 2))
        {
            var e = await Assert.ThrowsExactlyAsync<ZooException>(() => client.PullAsync(ZooTestModels.Id));
            Assert.AreEqual(ZooErrorKind.NetworkFailure, e.Kind);
            StringAssert.Contains(e.Message, "failed 3 times");
            StringAssert.Contains(e.Message, "resume");
        }
        Assert.IsFalse(File.Exists(CachedPath(temp)), "a short file is never made visible");
        Assert.AreEqual(150_000L, new FileInfo(CachedPath(temp) + ZooCacheLayout.PartialSuffix).Length, "the bytes received are kept");

        using var retry = Client(server, temp);
        var result = await retry.PullAsync(ZooTestModels.Id);
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(result.PathOf(FilePath)));
        Assert.AreEqual("bytes=150000-", server.Requests.Last(r => r.Path == ServedPath).Range);
    }

    [TestMethod]
    public async Task ServerErrorsAreRetriedAndNotFoundIsNot()
    {
        using var temp = new TempDirectory();
        using var server = new LoopbackZooServer();
        ZooTestModels.Publish(server, (FilePath, Weights), ("missing.bin", [1, 2, 3]));
        server.Fail(ServedPath, times: 2);
        server.Remove(ZooTestModels.Id + "/missing.bin");

        using var client = Client(server, temp);
        var e = await Assert.ThrowsExactlyAsync<ZooException>(() => client.PullAsync(ZooTestModels.Id));
        Assert.AreEqual(ZooErrorKind.NotFound, e.Kind);
        StringAssert.Contains(e.Message, server.BaseUrl + "/" + ZooTestModels.Id + "/missing.bin");
        StringAssert.Contains(e.Message, "HTTP 404");
        Assert.AreEqual(1, server.CountRequests(ZooTestModels.Id + "/missing.bin"), "404 is not retried");
        Assert.AreEqual(3, server.CountRequests(ServedPath), "two HTTP 500 answers, then the file");
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(CachedPath(temp)), "the file that exists was verified and kept");
    }

    [TestMethod]
    public async Task ConcurrentPullsDownloadOnceAndEndWithOneGoodCopy()
    {
        using var temp = new TempDirectory();
        using var server = new LoopbackZooServer { PauseMidway = TimeSpan.FromMilliseconds(300) };
        ZooTestModels.Publish(server, (FilePath, Weights));

        using var first = Client(server, temp);
        using var second = Client(server, temp);
        await Task.WhenAll(first.GetManifestAsync(), second.GetManifestAsync());
        var results = await Task.WhenAll(Task.Run(() => first.PullAsync(ZooTestModels.Id)), Task.Run(() => second.PullAsync(ZooTestModels.Id)));

        Assert.AreEqual(1, results.Sum(r => r.DownloadedFiles), "the second puller waits for the lock and finds the verified file");
        Assert.AreEqual(1, server.CountRequests(ServedPath));
        Assert.AreEqual(results[0].PathOf(FilePath), results[1].PathOf(FilePath));
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(CachedPath(temp)));
        CollectionAssert.AreEquivalent(new[] { "model.bin" }, Directory.GetFiles(Path.GetDirectoryName(CachedPath(temp))!).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public async Task LongerFileThanTheManifestIsRefusedWithoutRetry()
    {
        using var temp = new TempDirectory();
        using var server = new LoopbackZooServer();
        ZooTestModels.Publish(server, (FilePath, Weights));
        server.Serve(ServedPath, [.. Weights, 0]);

        using var client = Client(server, temp);
        var e = await Assert.ThrowsExactlyAsync<ZooException>(() => client.PullAsync(ZooTestModels.Id));
        Assert.AreEqual(ZooErrorKind.ChecksumMismatch, e.Kind);
        StringAssert.Contains(e.Message, "longer than the 300,000 bytes");
        Assert.AreEqual(1, server.CountRequests(ServedPath));
        string[] left = Directory.GetFiles(Path.GetDirectoryName(CachedPath(temp))!);
        Assert.AreEqual("", string.Join(", ", left.Select(Path.GetFileName)), "neither the file nor a partial download stays in the cache");
    }

    [TestMethod]
    public async Task UnknownModelAndBadBaseUrlAreExplained()
    {
        using var temp = new TempDirectory();
        using var server = new LoopbackZooServer();
        ZooTestModels.Publish(server, (FilePath, Weights));

        using var client = Client(server, temp);
        var e = await Assert.ThrowsExactlyAsync<ZooException>(() => client.PullAsync("no-such-model"));
        Assert.AreEqual(ZooErrorKind.UnknownModel, e.Kind);
        StringAssert.Contains(e.Message, "'no-such-model'");
        StringAssert.Contains(e.Message, ZooTestModels.Id);

        using var bad = new ZooClient(new ZooClientOptions { BaseUrl = "ftp://example.org/zoo", CacheDirectory = temp.Path });
        var invalid = await Assert.ThrowsExactlyAsync<ZooException>(() => bad.GetManifestAsync());
        Assert.AreEqual(ZooErrorKind.InvalidBaseUrl, invalid.Kind);
        StringAssert.Contains(invalid.Message, "ftp://example.org/zoo");
    }
}
