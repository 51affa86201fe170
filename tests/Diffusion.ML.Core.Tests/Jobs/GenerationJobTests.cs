using System.Text;
using System.Text.Json;
using Diffusion.ML.Data;
using Diffusion.ML.Jobs;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Jobs;

[TestClass]
public sealed class GenerationJobTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-job").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    /// <summary>A class-conditional epsilon model on 1x4x4 images whose output depends on x, t and the label.</summary>
    private static readonly DelegateDenoiser Model = new([1, 4, 4], PredictionType.Epsilon, (x, t, labels, output) =>
    {
        int size = x.Length / t.Length;
        for (int i = 0; i < x.Length; i++)
            output[i] = 0.5f * x[i] + 0.001f * t[i / size] - 0.1f * (labels.IsEmpty ? 0 : labels[i / size]);
    }, classCount: 3);

    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());

    private static GenerationJobSpec Spec(long count, long seed = 7) => GenerationJobSpec.Create("toy", "abc123", "test", "ddim", null, [1, 4, 4],
        new GenerationOptions { Count = (int)count, Seed = seed, NumInferenceSteps = 5, ClassLabels = [0, 1, 2], GuidanceScale = 2 });

    private GenerationJobResult Run(string folder, GenerationJobSpec spec, Shard shard, int batch, bool npy = false,
        IProgress<GenerationJobProgress>? progress = null, CancellationToken token = default) =>
        new GenerationJob(Model, Schedule, new GenerationJobOptions
        {
            OutputDirectory = Path.Combine(_dir, folder), Spec = spec, Shard = shard, BatchSize = batch, WriteNpy = npy,
            ClassNames = ["a", "b", "c"],
        }).Run(progress, token);

    private Dictionary<string, byte[]> Images(string folder) => Directory.GetFiles(Path.Combine(_dir, folder), "sample_*.png")
        .ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    private List<JsonElement> ManifestLines(string folder) => Directory.GetFiles(Path.Combine(_dir, folder), "manifest-*.jsonl")
        .SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    private static void AssertSameImages(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), actual.Keys.ToList());
        foreach (var (name, bytes) in expected) CollectionAssert.AreEqual(bytes, actual[name], name);
    }

    [TestMethod]
    public void TheUnionOfShardsIsTheUnshardedJobByteForByte()
    {
        var spec = Spec(10);
        var whole = Run("whole", spec, Shard.Whole, batch: 3);
        Assert.AreEqual(10, whole.Generated);
        for (int i = 0; i < 3; i++) Run("sharded", spec, new Shard(i, 3), batch: 4);
        AssertSameImages(Images("whole"), Images("sharded"));

        var lines = ManifestLines("sharded");
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).Select(i => (long)i).ToList(), lines.Select(l => l.GetProperty("index").GetInt64()).ToList());
        var third = lines.Single(l => l.GetProperty("index").GetInt64() == 4);
        Assert.AreEqual(1, third.GetProperty("class").GetInt32()); // labels cycle over the global index: 4 mod 3
        Assert.AreEqual("b", third.GetProperty("class_name").GetString());
        Assert.AreEqual("sample_000004.png", third.GetProperty("file").GetString());
        Assert.AreEqual("abc123", third.GetProperty("model_sha256").GetString());
    }

    [TestMethod]
    public void AKilledJobResumesToExactlyTheUninterruptedResult()
    {
        var spec = Spec(9);
        Run("reference", spec, Shard.Whole, batch: 2);

        using var cancel = new CancellationTokenSource();
        var stopAfterTwoBatches = new SyncProgress(p => { if (p.Done >= 4) cancel.Cancel(); });
        Assert.ThrowsExactly<OperationCanceledException>(() => Run("resumed", spec, Shard.Whole, batch: 2, progress: stopAfterTwoBatches, token: cancel.Token));
        string folder = Path.Combine(_dir, "resumed");
        Assert.AreEqual(4, Directory.GetFiles(folder, "sample_*.png").Length, "finished batches stay");
        // What a kill (not a cancellation) can leave: a half-written temporary image and a partial manifest line.
        File.WriteAllText(Path.Combine(folder, ".sample_000005.png.0123abcd.tmp"), "half an image");
        string manifest = Directory.GetFiles(folder, "manifest-*.jsonl").Single();
        File.AppendAllText(manifest, "{\"index\":5,\"fi");

        var result = Run("resumed", spec, Shard.Whole, batch: 3);
        Assert.AreEqual(4, result.Skipped);
        Assert.AreEqual(5, result.Generated);
        AssertSameImages(Images("reference"), Images("resumed"));
        Assert.IsEmpty(Directory.GetFiles(folder, "*.tmp"));
        var indices = ManifestLines("resumed").Select(l => l.GetProperty("index").GetInt64()).ToList();
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 9).Select(i => (long)i).ToList(), indices, "one line per sample, no duplicates");
    }

    [TestMethod]
    public void AFinishedImageWhoseManifestLineWasLostGetsItBack()
    {
        var spec = Spec(4);
        Run("job", spec, Shard.Whole, batch: 4);
        string manifest = Directory.GetFiles(Path.Combine(_dir, "job"), "manifest-*.jsonl").Single();
        File.WriteAllLines(manifest, File.ReadAllLines(manifest).Take(2)); // killed after the images, before all lines
        var result = Run("job", spec, Shard.Whole, batch: 4);
        Assert.AreEqual(0, result.Generated);
        Assert.AreEqual(4, ManifestLines("job").Select(l => l.GetProperty("index").GetInt64()).Distinct().Count());
    }

    [TestMethod]
    public void ARestartWithOtherSettingsIsRefusedButTheBatchSizeMayChange()
    {
        Run("job", Spec(4), Shard.Whole, batch: 2);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => Run("job", Spec(4, seed: 8), Shard.Whole, batch: 2));
        StringAssert.Contains(ex.Message, "other settings");
        Assert.AreEqual(4, Run("job", Spec(4), Shard.Whole, batch: 3).Skipped);
    }

    [TestMethod]
    public void TheNpyArrayHoldsTheShardsPixels()
    {
        var result = Run("npy", Spec(3), new Shard(1, 2), batch: 2, npy: true);
        byte[] bytes = File.ReadAllBytes(result.NpyPath!);
        CollectionAssert.AreEqual(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        int headerLength = bytes[8] | bytes[9] << 8;
        Assert.AreEqual(0, (10 + headerLength) % 64, "header padded to 64 bytes");
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        StringAssert.Contains(header, "'descr': '|u1'");
        StringAssert.Contains(header, "'shape': (2, 4, 4, 1)"); // shard 1 of 2 of 3 samples: indices 1 and 2
        byte[] data = bytes[(10 + headerLength)..];
        Assert.HasCount(2 * 16, data);
        float[] first = ImageFileDecoder.Decode(Path.Combine(_dir, "npy", "sample_000001.png"), 1, out _, out _);
        for (int p = 0; p < 16; p++) Assert.AreEqual((byte)Math.Round((first[p] + 1) * 127.5), data[p]);
    }

    [TestMethod]
    public void PointModelsAndImg2ImgAreRefusedClearly()
    {
        var points = new DelegateDenoiser([2], PredictionType.Epsilon, (x, t, l, o) => x.CopyTo(o));
        var pointSpec = Spec(2) with { SampleShape = [2] };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() =>
            new GenerationJob(points, Schedule, new GenerationJobOptions { OutputDirectory = _dir, Spec = pointSpec })).Message, "PNG");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => GenerationJobSpec.Create("m", "h", "b", "ddim", null, [1, 4, 4],
            new GenerationOptions { InitialImages = new float[16] })).Message, "img2img");
    }

    private sealed class SyncProgress(Action<GenerationJobProgress> report) : IProgress<GenerationJobProgress>
    {
        public void Report(GenerationJobProgress value) => report(value);
    }
}
