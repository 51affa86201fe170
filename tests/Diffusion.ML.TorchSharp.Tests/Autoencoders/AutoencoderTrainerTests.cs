using System.IO.Compression;
using System.Text.Json.Nodes;
using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Autoencoders;

[TestClass]
public sealed class AutoencoderTrainerTests
{
    /// <summary>Tiny, fast trainer settings with an EMA, shared by the autoencoder checkpoint tests.</summary>
    internal static readonly AutoencoderTrainerOptions Options = new() { BatchSize = 4, LearningRate = 3e-3, WarmupSteps = 2, Seed = 9, EmaDecay = 0.9, LatentScaleSamples = 16 };
    private string _dir = "";

    [TestInitialize]
    public void Setup()
    {
        TorchSharpRuntime.EnsureLoaded();
        _dir = Directory.CreateTempSubdirectory("dml-autoencoder").FullName;
    }

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    [DataRow("vqvae")]
    [DataRow("vae")]
    [DataRow("classic")]
    public void ResumedRunHasTheSameNextLossAsAStraightRun(string kind)
    {
        var data = TinyModels.Images(count: 12);
        using var straight = new AutoencoderTrainer(Create(kind), data, Options);
        straight.Train(3);
        double expected = straight.TrainStep();

        string path = Path.Combine(_dir, "run.ckpt");
        using (var first = new AutoencoderTrainer(Create(kind), data, Options))
            first.Train(3, path);
        torch.manual_seed(12345); // the global generator must not matter after a resume
        using var resumed = AutoencoderTrainer.Resume(path, data);
        Assert.AreEqual(3L, resumed.Step);
        Assert.AreEqual(expected, resumed.TrainStep(), 0.0, "the next loss is bit-identical");
        Assert.IsFalse(Directory.GetFiles(_dir, "*.tmp").Any(), "no temporary file is left");
    }

    [TestMethod]
    public void CheckpointKeepsTheLatentScaleAndTheCodebookState()
    {
        var data = TinyModels.Images(count: 12);
        using var trainer = new AutoencoderTrainer(Create("vqvae"), data, Options);
        string path = Path.Combine(_dir, "vq.ckpt");
        trainer.Train(2, path);
        var checkpoint = AutoencoderCheckpoint.Load(path);
        Assert.AreEqual(trainer.Model.LatentScale, checkpoint.Manifest.LatentScale);
        Assert.IsTrue(checkpoint.HasEma);
        using var loaded = (VqVae)checkpoint.LoadModel();
        Assert.AreEqual(trainer.Model.LatentScale, loaded.LatentScale);
        var original = (VqVae)trainer.Model;
        Assert.IsTrue(original.Quantizer.ClusterSize.allclose(loaded.Quantizer.ClusterSize, rtol: 0, atol: 0));
        Assert.IsTrue(original.Quantizer.Codebook.allclose(loaded.Quantizer.Codebook, rtol: 0, atol: 0));
    }

    [TestMethod]
    public void TheEmaWeightsLoadWithTheirOwnLatentScale()
    {
        var data = TinyModels.Images(count: 12);
        using var trainer = new AutoencoderTrainer(Create("vae"), data, Options);
        string path = Path.Combine(_dir, "vae.ckpt");
        trainer.Train(3, path);
        double emaScale = trainer.Ema!.Model.LatentScale;
        // Independent: 1 / std of the EMA weights' own latents of the training images.
        double recomputed = LatentCodec.ComputeLatentScale(trainer.Ema.Model, data);
        Assert.AreEqual(recomputed, emaScale, 1e-9 * recomputed);
        Assert.AreNotEqual(trainer.Model.LatentScale, emaScale, "the EMA's scale differs from the trained weights' (the case that was wrong)");

        var checkpoint = AutoencoderCheckpoint.Load(path);
        Assert.AreEqual(emaScale, checkpoint.Manifest.EmaLatentScale);
        using var ema = checkpoint.LoadModel(useEma: true);
        Assert.AreEqual(emaScale, ema.LatentScale);
        using var raw = checkpoint.LoadModel();
        Assert.AreEqual(trainer.Model.LatentScale, raw.LatentScale);

        // A checkpoint written before EmaLatentScale existed (the entry removed from its manifest): the EMA weights
        // fall back to the trained weights' scale, as before.
        string legacyPath = Path.Combine(_dir, "legacy.ckpt");
        File.Copy(path, legacyPath);
        using (var zip = ZipFile.Open(legacyPath, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("manifest.json")!;
            JsonObject manifest;
            using (var stream = entry.Open()) manifest = JsonNode.Parse(stream)!.AsObject();
            Assert.IsTrue(manifest.Remove(nameof(AutoencoderCheckpointManifest.EmaLatentScale)));
            entry.Delete();
            using var writer = zip.CreateEntry("manifest.json").Open();
            writer.Write(System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        }
        var legacy = AutoencoderCheckpoint.Load(legacyPath);
        Assert.IsNull(legacy.Manifest.EmaLatentScale);
        using var legacyEma = legacy.LoadModel(useEma: true);
        Assert.AreEqual(trainer.Model.LatentScale, legacyEma.LatentScale);
    }

    [TestMethod]
    public void LatentScaleIsOneOverTheLatentStd()
    {
        var data = TinyModels.Images(count: 12);
        using var trainer = new AutoencoderTrainer(Create("vae"), data, Options);
        trainer.Train(2);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Independent: encode the 12 images in one batch and take the population std in double precision.
        var latents = trainer.Model.Encode(tensor(data.Pixels, [12, 1, 8, 8])).to_type(ScalarType.Float64);
        double std = Math.Sqrt((latents - latents.mean()).square().mean().item<double>());
        Assert.AreEqual(1 / std, trainer.Model.LatentScale, 1e-5 / std);

        // The codec scales on the way in and unscales on the way out.
        float[] encoded = LatentCodec.EncodeDataset(trainer.Model, data, batchSize: 5);
        var expected = latents.to_type(ScalarType.Float32) * trainer.Model.LatentScale;
        Assert.IsTrue(tensor(encoded, expected.shape).allclose(expected, atol: 1e-5));
        float[] decoded = LatentCodec.DecodeLatents(trainer.Model, encoded, batchSize: 5);
        var reference = trainer.Model.Decode(latents.to_type(ScalarType.Float32));
        Assert.IsTrue(tensor(decoded, reference.shape).allclose(reference, atol: 1e-4));
        var asData = LatentCodec.EncodeToDataset(trainer.Model, data);
        Assert.AreEqual((12, 2, 4, 4), (asData.Count, asData.Channels, asData.Height, asData.Width));
        CollectionAssert.AreEqual(data.Labels, asData.Labels);
    }

    [TestMethod]
    public void EvaluationReportsTheElboAndCodebookStatistics()
    {
        var data = TinyModels.Images(count: 10);
        using var vae = Create("vae");
        var evaluation = AutoencoderEvaluator.Evaluate(vae, data, batchSize: 4);
        Assert.AreEqual(10, evaluation.Count);
        Assert.AreEqual(evaluation.NegativeElbo!.Value / 64, evaluation.NatsPerDim!.Value, 1e-9);
        Assert.AreEqual(evaluation.NatsPerDim!.Value / Math.Log(2), evaluation.BitsPerDim!.Value, 1e-9);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            var x = tensor(data.Pixels, [10, 1, 8, 8]);
            Assert.AreEqual((vae.call(x) - x).square().mean().item<float>(), evaluation.Mse, 1e-5);
        }

        using var vq = Create("vqvae");
        var vqEvaluation = AutoencoderEvaluator.Evaluate(vq, data, batchSize: 3);
        double[] counts;
        using (no_grad()) counts = [.. ((VqVae)vq).CodeCounts(tensor(data.Pixels, [10, 1, 8, 8])).data<float>().ToArray().Select(c => (double)c)];
        Assert.AreEqual(CodebookStatistics.Perplexity(counts), vqEvaluation.Perplexity!.Value, 1e-9);
        Assert.AreEqual(CodebookStatistics.Usage(counts), vqEvaluation.CodebookUsage!.Value, 1e-9);
        Assert.IsNull(vqEvaluation.NegativeElbo);
    }

    [TestMethod]
    public void CorruptCheckpointGivesAClearError()
    {
        var data = TinyModels.Images(count: 8);
        string path = Path.Combine(_dir, "good.ckpt");
        using (var trainer = new AutoencoderTrainer(Create("vae"), data, Options))
            trainer.Train(1, path);
        byte[] bytes = File.ReadAllBytes(path);

        string flipped = Path.Combine(_dir, "flipped.ckpt");
        var damaged = (byte[])bytes.Clone();
        damaged[damaged.Length / 2] ^= 0xFF;
        File.WriteAllBytes(flipped, damaged);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => AutoencoderTrainer.Resume(flipped, data));
        StringAssert.Contains(e.Message, "not a valid Diffusion.ML autoencoder checkpoint");

        string truncated = Path.Combine(_dir, "truncated.ckpt");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 3)]);
        e = Assert.ThrowsExactly<InvalidDataException>(() => AutoencoderCheckpoint.Load(truncated));
        StringAssert.Contains(e.Message, "truncated or damaged");

        Assert.ThrowsExactly<FileNotFoundException>(() => AutoencoderCheckpoint.Load(Path.Combine(_dir, "missing.ckpt")));
        var other = Assert.ThrowsExactly<ArgumentException>(() => AutoencoderTrainer.Resume(path, TinyModels.Images(count: 8, seed: 2)));
        StringAssert.Contains(other.Message, "different data");
    }

    [TestMethod]
    public void BadDataIsRefusedWithTheReason()
    {
        using var vae = Create("vae");
        var nan = TinyModels.Images(count: 4);
        nan.Pixels[70] = float.NaN;
        var e = Assert.ThrowsExactly<ArgumentException>(() => new AutoencoderTrainer(vae, nan, Options));
        StringAssert.Contains(e.Message, "Image 1 has a non-finite value (NaN) at position 6");

        var empty = new ImageDataset(0, 1, 8, 8, []);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new AutoencoderTrainer(vae, empty, Options)).Message, "empty");

        var big = new ImageDataset(2, 1, 16, 16, new float[512]);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new AutoencoderTrainer(vae, big, Options)).Message, "1x16x16");
    }

    private static ImageAutoencoder Create(string kind) => kind switch
    {
        "vae" => TinyAutoencoders.Vae(),
        "vqvae" => TinyAutoencoders.VqVae(kmeans: true),
        _ => TinyAutoencoders.Classic(ClassicAutoencoderKind.Denoising),
    };
}
