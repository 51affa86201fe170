using System.IO.Compression;
using Diffusion.ML.TorchSharp.Evaluation;
using Diffusion.ML.TorchSharp.Tests.Training;
using Diffusion.ML.TorchSharp.Training;

namespace Diffusion.ML.TorchSharp.Tests.Evaluation;

[TestClass]
public sealed class FeatureExtractorTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-features").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    /// <summary>A network trained for a few steps (so its BatchNorm statistics are not the initial ones), saved to a file.</summary>
    private string SaveTrained(FeatureClassifier network)
    {
        using (var trainer = new FeatureClassifierTrainer(network, TinyClassifiers.Stripes(48, seed: 1),
                   new FeatureClassifierTrainerOptions { Epochs = 1, BatchSize = 16, Seed = 2 }))
            trainer.Train();
        string path = Path.Combine(_dir, "tiny.zip");
        FeatureNetworkFile.Save(path, network, new FeatureNetworkManifest
        {
            Id = "tiny-features", ClassNames = ["flat", "rows", "columns"], TestAccuracy = 0.5, TestCount = 60, TrainingCommand = "test",
        });
        return path;
    }

    [TestMethod]
    public void ExtractsInBatchesInEvalModeAndLeavesTheModuleAsItWas()
    {
        using var network = TinyClassifiers.Create();
        network.train();
        var images = TinyClassifiers.Stripes(5, seed: 3).Pixels;
        var byTwo = new TorchSharpFeatureExtractor(network, "tiny", batchSize: 2);
        var whole = new TorchSharpFeatureExtractor(network, "tiny");
        var f1 = new float[5 * 16];
        var l1 = new float[5 * 3];
        var f2 = new float[5 * 16];
        byTwo.Extract(images, f1, l1);
        whole.Extract(images, f2, Span<float>.Empty);
        Assert.IsTrue(network.training, "the caller's training mode is restored");
        Assert.AreEqual("tiny", byTwo.Name);
        CollectionAssert.AreEqual(new[] { 1, 8, 8 }, byTwo.InputShape.ToArray());
        Assert.AreEqual(16, byTwo.FeatureDimension);
        Assert.AreEqual(3, byTwo.ClassCount);
        for (int i = 0; i < f1.Length; i++) Assert.AreEqual(f1[i], f2[i], 1e-5f, "batching and dropout change nothing");
        Assert.IsTrue(l1.Any(v => v != 0));
    }

    [TestMethod]
    public void SaveLoadRoundTripGivesIdenticalFeatures()
    {
        using var network = TinyClassifiers.Create();
        string path = SaveTrained(network);
        var images = TinyClassifiers.Stripes(7, seed: 5).Pixels;
        var expectedF = new float[7 * 16];
        var expectedL = new float[7 * 3];
        new TorchSharpFeatureExtractor(network, "tiny").Extract(images, expectedF, expectedL);

        using var loaded = TorchSharpFeatureExtractor.Load(path);
        var f = new float[7 * 16];
        var l = new float[7 * 3];
        loaded.Extract(images, f, l);
        CollectionAssert.AreEqual(expectedF, f);
        CollectionAssert.AreEqual(expectedL, l);
        Assert.AreEqual("tiny-features", loaded.Name);
        var manifest = loaded.Manifest!;
        Assert.AreEqual(FeatureNetworkManifest.FileKind, manifest.Kind);
        Assert.AreEqual(FeatureClassifier.KindName, manifest.ModelKind);
        CollectionAssert.AreEqual(new[] { 1, 8, 8 }, manifest.InputShape);
        Assert.AreEqual(16, manifest.FeatureDimension);
        Assert.AreEqual("rows", manifest.ClassNames![1]);
        Assert.AreEqual(0.5, manifest.TestAccuracy);
        Assert.IsTrue(manifest.EntryHashes.ContainsKey(FeatureNetworkFile.WeightsEntry));
    }

    [TestMethod]
    public void TamperedTruncatedOrForeignFilesAreRejectedWithTheReason()
    {
        using var network = TinyClassifiers.Create();
        string path = SaveTrained(network);

        string tampered = Path.Combine(_dir, "tampered.zip");
        File.Copy(path, tampered);
        using (var zip = ZipFile.Open(tampered, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry(FeatureNetworkFile.WeightsEntry)!;
            byte[] bytes;
            using (var s = entry.Open()) { using var ms = new MemoryStream(); s.CopyTo(ms); bytes = ms.ToArray(); }
            bytes[^5] ^= 0x40; // one bit of one weight
            entry.Delete();
            using var w = zip.CreateEntry(FeatureNetworkFile.WeightsEntry).Open();
            w.Write(bytes);
        }
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => FeatureNetworkFile.Load(tampered));
        StringAssert.Contains(ex.Message, "SHA-256");

        string truncated = Path.Combine(_dir, "truncated.zip");
        File.WriteAllBytes(truncated, File.ReadAllBytes(path)[..^200]);
        ex = Assert.ThrowsExactly<InvalidDataException>(() => TorchSharpFeatureExtractor.Load(truncated));
        StringAssert.Contains(ex.Message, "not a valid Diffusion.ML feature-network file");

        string junk = Path.Combine(_dir, "junk.zip");
        File.WriteAllText(junk, "not a zip");
        Assert.ThrowsExactly<InvalidDataException>(() => FeatureNetworkFile.Load(junk));
        Assert.ThrowsExactly<FileNotFoundException>(() => FeatureNetworkFile.Load(Path.Combine(_dir, "missing.zip")));

        string checkpoint = Path.Combine(_dir, "denoiser.ckpt");
        using (var trainer = new DdpmTrainer(TinyModels.Mlp(), TinyModels.Points(), new DdpmTrainerOptions { BatchSize = 8 }))
            trainer.SaveCheckpoint(checkpoint);
        ex = Assert.ThrowsExactly<InvalidDataException>(() => FeatureNetworkFile.Load(checkpoint));
        StringAssert.Contains(ex.Message, "not a feature-network file");
        StringAssert.Contains(ex.Message, "diffusion checkpoint");
        Assert.ThrowsExactly<InvalidDataException>(() => Checkpoint.Load(path), "and a checkpoint reader refuses a feature network");
    }

    [TestMethod]
    public void ExtractRejectsLengthsThatDoNotMatchTheBatch()
    {
        using var network = TinyClassifiers.Create();
        var extractor = new TorchSharpFeatureExtractor(network, "tiny");
        var images = new float[2 * 64];
        Assert.ThrowsExactly<ArgumentException>(() => extractor.Extract(new float[65], new float[16], Span<float>.Empty));
        Assert.ThrowsExactly<ArgumentException>(() => extractor.Extract(images, new float[16], Span<float>.Empty));
        Assert.ThrowsExactly<ArgumentException>(() => extractor.Extract(images, new float[32], new float[3]));
        extractor.Extract(images, new float[32], new float[6]);
        extractor.Extract(ReadOnlySpan<float>.Empty, Span<float>.Empty, Span<float>.Empty);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TorchSharpFeatureExtractor(network, "tiny", batchSize: 0));
    }
}
