using Diffusion.ML.TorchSharp.Autoencoders;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>The VAE estimator: training inside Fit, ONNX Runtime outputs equal to TorchSharp's, save/load, schema errors, resume.</summary>
[TestClass]
public sealed class VaeEstimatorTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-mlnet-vae").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private VaeEstimator.Options Tiny(long steps = 3) => new()
    {
        Steps = steps, BatchSize = 8, LevelChannels = [8, 8], GroupNormGroups = 4, LatentChannels = 2, WarmupSteps = 1,
        CheckpointFolder = Path.Combine(_dir, "ckpt"), CheckpointEvery = 0,
    };

    [TestMethod]
    public void EncodesAndDecodesAsTheTrainedTorchSharpModel()
    {
        var ml = new MLContext(seed: 1);
        var images = TestData.Images(ml, 24);
        var vae = ml.Diffusion().TrainVae("Latent", "Pixels", Tiny()).Fit(images);
        CollectionAssert.AreEqual(new[] { 1, 8, 8 }, vae.ImageShape.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 4, 4 }, vae.LatentShape.ToArray());

        var encoded = vae.Transform(images);
        float[][] latents = TestData.Column(encoded, "Latent");
        Assert.AreEqual(24, latents.Length);
        Assert.AreEqual(32, latents[0].Length);

        // Independent path: the checkpoint's EMA model on TorchSharp, pixels mapped to [-1, 1] by hand.
        var checkpoint = AutoencoderCheckpoint.Load(Path.Combine(_dir, "ckpt", "vae.ckpt"));
        using var model = checkpoint.LoadModel(useEma: true);
        var rows = TestData.Rows(24);
        var scaled = new Data.ImageDataset(24, 1, 8, 8, rows.SelectMany(r => r.Pixels.Select(p => p / 127.5f - 1f)).ToArray());
        // The exported EMA weights carry their own scale factor: 1 / std of their latents of the training images.
        model.LatentScale = LatentCodec.ComputeLatentScale(model, scaled);
        Assert.AreEqual(model.LatentScale, vae.LatentScale, 1e-6 * vae.LatentScale, $"manifest {checkpoint.Manifest.LatentScale}, recomputed {model.LatentScale}, transformer {vae.LatentScale}");
        float[] expected = LatentCodec.EncodeDataset(model, scaled);
        AssertClose(expected, latents.SelectMany(l => l).ToArray(), 2e-4, "latents");

        var decoded = ml.Diffusion().VaeDecoder(vae, "Decoded", "Latent").Fit(encoded).Transform(encoded);
        float[] pixels = TestData.Column(decoded, "Decoded").SelectMany(p => p).ToArray();
        float[] expectedPixels = LatentCodec.DecodeLatents(model, expected).Select(v => (v + 1f) * 127.5f).ToArray();
        AssertClose(expectedPixels, pixels, 0.05, "decoded pixels in [0, 255]");
    }

    [TestMethod]
    public void APipelineWithTheEncoderAndDecoderSavesAndLoads()
    {
        var ml = new MLContext(seed: 1);
        var images = TestData.Images(ml, 16);
        var vae = ml.Diffusion().TrainVae("Latent", "Pixels", Tiny(2)).Fit(images);
        var pipeline = ml.Transforms.NormalizeMinMax("Scaled", "Pixels") // an ML.NET transform beside ours
            .Append(ml.Diffusion().VaeDecoder(vae, "Decoded", "Latent"));
        var model = new TransformerChain<ITransformer>(vae).Append(pipeline.Fit(vae.Transform(images)));
        var before = model.Transform(images);
        string zip = Path.Combine(_dir, "vae.zip");
        ml.Model.Save(model, images.Schema, zip);

        var loaded = new MLContext().Model.Load(zip, out var inputSchema);
        Assert.AreEqual(64, ((VectorDataViewType)inputSchema["Pixels"].Type).Size);
        var after = loaded.Transform(images);
        foreach (string column in new[] { "Latent", "Decoded", "Scaled" })
            CollectionAssert.AreEqual(TestData.Column(before, column).SelectMany(v => v).ToArray(), TestData.Column(after, column).SelectMany(v => v).ToArray(), column);
    }

    [TestMethod]
    public void ResumesFromTheCheckpointFolderAndLogsToMLContext()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { if (e.Source.StartsWith("Diffusion.ML", StringComparison.Ordinal)) messages.Add(e.Message); };
        var images = TestData.Images(ml, 16);
        var progress = new List<DiffusionTrainingProgress>();
        var options = Tiny(2);
        options.Progress = new Recorder(progress);
        ml.Diffusion().TrainVae("Latent", "Pixels", options).Fit(images);
        CollectionAssert.AreEqual(new long[] { 1, 2 }, progress.Select(p => p.Step).ToArray());

        progress.Clear();
        options.Steps = 4;
        ml.Diffusion().TrainVae("Latent", "Pixels", options).Fit(images);
        CollectionAssert.AreEqual(new long[] { 3, 4 }, progress.Select(p => p.Step).ToArray(), "the second Fit continues at step 3");
        Assert.IsTrue(messages.Any(m => m.Contains("resumed from") && m.Contains("at step 2")), string.Join("\n", messages));
        Assert.IsTrue(messages.Any(m => m.Contains("step 4/4")), string.Join("\n", messages));

        // Different data in the same folder: refused, nothing overwritten.
        var other = TestData.Images(ml, 15);
        var error = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainVae("Latent", "Pixels", options).Fit(other));
        StringAssert.Contains(error.Message, "different data");
    }

    [TestMethod]
    public void SchemaAndDataErrorsAreClear()
    {
        var ml = new MLContext(seed: 1);
        var images = TestData.Images(ml, 8);
        var missing = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainVae("Latent", "Image", Tiny()).Fit(images));
        StringAssert.Contains(missing.Message, "no column 'Image'");

        var wrongType = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainVae("Latent", "Label", Tiny()).Fit(images));
        StringAssert.Contains(wrongType.Message, "must be a known-size vector of Single");

        var odd = ml.Data.LoadFromEnumerable(new[] { new OddRow() });
        var notSquare = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainVae("Latent", "Pixels", Tiny()).Fit(odd));
        StringAssert.Contains(notSquare.Message, "ImageShape");

        var rows = TestData.Rows(8);
        rows[5].Pixels[17] = float.NaN;
        var nan = Assert.ThrowsExactly<InvalidDataException>(() => ml.Diffusion().TrainVae("Latent", "Pixels", Tiny()).Fit(ml.Data.LoadFromEnumerable(rows)));
        StringAssert.Contains(nan.Message, "Row 5");
        StringAssert.Contains(nan.Message, "element 17");

        var empty = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainVae("Latent", "Pixels", Tiny()).Fit(ml.Data.LoadFromEnumerable(new List<TestData.ImageRow>())));
        StringAssert.Contains(empty.Message, "no rows");

        var vae = ml.Diffusion().TrainVae("Latent", "Pixels", Tiny(1)).Fit(images);
        var wrongSize = Assert.ThrowsExactly<ArgumentException>(() => vae.Transform(ml.Data.LoadFromEnumerable(new[] { new OddRow() }).Schema is var _ ? ml.Data.LoadFromEnumerable(new[] { new OddRow() }) : null!));
        StringAssert.Contains(wrongSize.Message, "this VAE encodes 1x8x8 = 64");
    }

    private sealed class OddRow
    {
        [VectorType(10)]
        public float[] Pixels { get; set; } = new float[10];
    }

    private sealed class Recorder(List<DiffusionTrainingProgress> list) : IProgress<DiffusionTrainingProgress>
    {
        public void Report(DiffusionTrainingProgress value) => list.Add(value);
    }

    internal static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what);
        double max = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.IsLessThanOrEqualTo(tolerance, max, $"{what}: max difference {max}");
    }
}
