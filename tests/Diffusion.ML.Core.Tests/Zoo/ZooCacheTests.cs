using Diffusion.ML.Core.Tests.Data;
using Diffusion.ML.Zoo;

namespace Diffusion.ML.Core.Tests.Zoo;

/// <summary>The cache's lock, its default folder and its behaviour on a full disk.</summary>
[TestClass]
public sealed class ZooCacheTests
{
    [TestMethod]
    public async Task SecondLockHolderWaitsForTheFirst()
    {
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "m", ZooCacheLayout.LockFileName);
        var first = await ZooFileLock.AcquireAsync(path, TimeSpan.FromSeconds(5));
        var timedOut = await Assert.ThrowsExactlyAsync<ZooException>(() => ZooFileLock.AcquireAsync(path, TimeSpan.FromMilliseconds(200)));
        Assert.AreEqual(ZooErrorKind.LockTimeout, timedOut.Kind);
        StringAssert.Contains(timedOut.Message, path);

        var waiting = ZooFileLock.AcquireAsync(path, TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        Assert.IsFalse(waiting.IsCompleted, "the lock is held");
        first.Dispose();
        using var second = await waiting;
        Assert.AreEqual(path, second.Path);
    }

    [TestMethod]
    public void DefaultCacheFolderFollowsTheEnvironment()
    {
        string? saved = Environment.GetEnvironmentVariable(ZooCacheLayout.CacheEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(ZooCacheLayout.CacheEnvironmentVariable, "/tmp/dml-cache-test");
            Assert.AreEqual("/tmp/dml-cache-test", ZooCacheLayout.DefaultDirectory());
            Environment.SetEnvironmentVariable(ZooCacheLayout.CacheEnvironmentVariable, null);
            StringAssert.EndsWith(ZooCacheLayout.DefaultDirectory(), "diffusion-ml");
        }
        finally
        {
            Environment.SetEnvironmentVariable(ZooCacheLayout.CacheEnvironmentVariable, saved);
        }
    }

    [TestMethod]
    public async Task FullDiskIsReportedAndNothingBecomesVisible()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/dev/full")) Assert.Inconclusive("needs Linux's /dev/full (every write fails with ENOSPC)");
        using var temp = new TempDirectory();
        string mirror = Directory.CreateDirectory(Path.Combine(temp.Path, "mirror")).FullName, cache = Path.Combine(temp.Path, "cache");
        ZooTestModels.WriteMirror(mirror, ("model.bin", ZooTestModels.Bytes(10_000)));
        string final = Path.Combine(cache, "models", ZooTestModels.Id, "1.0.0", "model.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        File.CreateSymbolicLink(final + ZooCacheLayout.PartialSuffix, "/dev/full"); // the partial file lands on a full "disk"

        using var client = new ZooClient(ZooTestModels.Options(mirror, cache, Path.Combine(temp.Path, "no-zoo")));
        var e = await Assert.ThrowsExactlyAsync<ZooException>(() => client.PullAsync(ZooTestModels.Id));
        Assert.AreEqual(ZooErrorKind.DiskFull, e.Kind, e.Message);
        StringAssert.Contains(e.Message, "disk is full");
        StringAssert.Contains(e.Message, "--cache-dir");
        Assert.IsFalse(File.Exists(final));
    }
}
