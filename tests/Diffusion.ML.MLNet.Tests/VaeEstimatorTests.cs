using Diffusion.ML.Randomness;
using Diffusion.ML.Schedules;
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
        // The exported EMA weights carry their own scale factor (stored in the checkpoint): 1 / std of their latents of the training images.
        double recomputed = LatentCodec.ComputeLatentScale(model, scaled);
        Assert.AreEqual(recomputed, model.LatentScale, 1e-6 * recomputed, "the checkpoint's EMA scale");
        Assert.AreEqual(recomputed, vae.LatentScale, 1e-6 * recomputed, "the transformer's scale");
        float[] expected = LatentCodec.EncodeDataset(model, scaled);
        AssertClose(expected, latents.SelectMany(l => l).ToArray(), 2e-4, "latents");

        var decoded = ml.Diffusion().VaeDecoder(vae, "Decoded", "Latent").Fit(encoded).Transform(encoded);
        float[] pixels = TestData.Column(decoded, "Decoded").SelectMany(p => p).ToArray();
        float[] expectedPixels = LatentCodec.DecodeLatents(model, expected).Select(v => (v + 1f) * 127.5f).ToArray();
        AssertClose(expectedPixels, pixels, 0.05, "decoded pixels in [0, 255]");
    }

    [TestMethod]
    public void PosteriorSamplesAreTheReparameterisedDrawOfEachRowsPixels()
    {
        var ml = new MLContext(seed: 1);
        var images = TestData.Images(ml, 24);
        var options = Tiny();
        options.LatentOutput = VaeLatentOutput.Sample;
        options.SampleSeed = 5;
        var vae = ml.Diffusion().TrainVae("Latent", "Pixels", options).Fit(images);
        float[] samples = TestData.Column(vae.Transform(images), "Latent").SelectMany(l => l).ToArray();

        // Independent path: mean and log-variance of the checkpoint's EMA model on TorchSharp, eps of each row's content
        // key from the C# Threefry streams (stream word 2), z = (mu + exp(logvar / 2) eps) scale.
        using var model = (VariationalAutoencoder)AutoencoderCheckpoint.Load(Path.Combine(_dir, "ckpt", "vae.ckpt")).LoadModel(useEma: true);
        var rows = TestData.Rows(24);
        var streams = new SeededForwardNoising(new NoiseSchedule(new NoiseScheduleOptions()), 5);
        float[] expected = ExpectedSamples(model, rows.Select(r => r.Pixels).ToArray(), rows.Select(r => streams.ContentKey(r.Pixels)).ToArray(), streams);
        AssertClose(expected, samples, 1e-4, "posterior samples");

        // Another seed: other draws from the same weights (the second Fit resumes at the last step and trains no more).
        options.SampleSeed = 6;
        float[] reseeded = TestData.Column(ml.Diffusion().TrainVae("Latent", "Pixels", options).Fit(images).Transform(images), "Latent").SelectMany(l => l).ToArray();
        var other = new SeededForwardNoising(new NoiseSchedule(new NoiseScheduleOptions()), 6);
        AssertClose(ExpectedSamples(model, rows.Select(r => r.Pixels).ToArray(), rows.Select(r => other.ContentKey(r.Pixels)).ToArray(), other), reseeded, 1e-4, "seed 6");
        Assert.IsTrue(samples.Zip(reseeded).All(p => p.First != p.Second), "every value differs across seeds");
    }

    [TestMethod]
    public void KeyedPosteriorSamplesAverageToTheMeanAndSurviveSaveAndLoad()
    {
        const int images = 24, draws = 40;
        var ml = new MLContext(seed: 1);
        var pixels = TestData.Rows(images).Select(r => r.Pixels).ToArray();
        var keyed = ml.Data.LoadFromEnumerable(Enumerable.Range(0, images * draws).Select(i => new KeyedRow { Pixels = pixels[i % images], Key = 1000L * i - 7 }).ToList());
        var options = Tiny();
        options.LatentOutput = VaeLatentOutput.Sample;
        options.SampleSeed = -3;
        options.RowKeyColumnName = "Key";
        var vae = ml.Diffusion().TrainVae("Latent", "Pixels", options).Fit(TestData.Images(ml, images)); // the key column is needed only when transforming
        var output = vae.Transform(keyed);
        float[][] samples = TestData.Column(output, "Latent");

        using var model = (VariationalAutoencoder)AutoencoderCheckpoint.Load(Path.Combine(_dir, "ckpt", "vae.ckpt")).LoadModel(useEma: true);
        var streams = new SeededForwardNoising(new NoiseSchedule(new NoiseScheduleOptions()), unchecked((ulong)-3L));
        float[] expected = ExpectedSamples(model, Enumerable.Range(0, images * draws).Select(i => pixels[i % images]).ToArray(),
            Enumerable.Range(0, images * draws).Select(i => unchecked((ulong)(1000L * i - 7))).ToArray(), streams);
        AssertClose(expected, samples.SelectMany(s => s).ToArray(), 1e-4, "keyed posterior samples");

        // Over the draws of each image, the average is mu scale and the spread sigma scale: the standardised errors of the
        // averages, (mean of draws - mu s) / (sigma s / sqrt(draws)), have mean about 0 and variance about 1.
        var (mu, sigma) = Posterior(model, pixels);
        double s = model.LatentScale;
        int d = samples[0].Length;
        var z = new List<double>();
        for (int n = 0; n < images; n++)
            for (int k = 0; k < d; k++)
            {
                double average = Enumerable.Range(0, draws).Average(j => samples[j * images + n][k]);
                z.Add((average - mu[n * d + k] * s) / (sigma[n * d + k] * s / Math.Sqrt(draws)));
            }
        double zMean = z.Average(), zVariance = z.Average(v => (v - zMean) * (v - zMean));
        Assert.IsLessThan(0.15, Math.Abs(zMean), $"mean of the standardised errors {zMean} over {z.Count}");
        Assert.IsTrue(zVariance is > 0.8 and < 1.2, $"variance of the standardised errors {zVariance}");
        Assert.IsLessThan(5.0, z.Max(Math.Abs), "every average lies within 5 standard errors of the mean");

        // Deterministic: a second Transform, and the saved model in another context, give the same draws.
        CollectionAssert.AreEqual(samples.SelectMany(v => v).ToArray(), TestData.Column(vae.Transform(keyed), "Latent").SelectMany(v => v).ToArray(), "second Transform");
        string zip = Path.Combine(_dir, "sampler.zip");
        ml.Model.Save(vae, keyed.Schema, zip);
        var loaded = new MLContext().Model.Load(zip, out _);
        CollectionAssert.AreEqual(samples.SelectMany(v => v).ToArray(), TestData.Column(loaded.Transform(keyed), "Latent").SelectMany(v => v).ToArray(), "after Save/Load");

        // The key column must be there and be Int64; a row key without sampling is refused.
        var missing = Assert.ThrowsExactly<ArgumentException>(() => vae.Transform(TestData.Images(ml, 2)));
        StringAssert.Contains(missing.Message, "no row key column 'Key'");
        var int32Keys = ml.Transforms.Conversion.ConvertType("Key", "Key", DataKind.Int32).Fit(keyed).Transform(keyed);
        var wrongType = Assert.ThrowsExactly<ArgumentException>(() => vae.Transform(int32Keys));
        StringAssert.Contains(wrongType.Message, "must be Int64");
        options.LatentOutput = VaeLatentOutput.Mean;
        var meanWithKey = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainVae("Latent", "Pixels", options).Fit(keyed));
        StringAssert.Contains(meanWithKey.Message, "set LatentOutput = Sample");
    }

    /// <summary>(mu + exp(logvar / 2) eps) scale per row (Kingma and Welling 2014, sec. 2.4), mu and logvar from TorchSharp, eps pair j from H(RowStream(key); j, 2).</summary>
    private static float[] ExpectedSamples(VariationalAutoencoder model, float[][] pixels, ulong[] keys, SeededForwardNoising streams)
    {
        var (mu, sigma) = Posterior(model, pixels);
        int d = mu.Length / pixels.Length;
        var expected = new float[mu.Length];
        for (int n = 0; n < pixels.Length; n++)
        {
            var (m0, m1) = streams.RowStream(keys[n]);
            for (int k = 0; k < d; k++)
            {
                var (a, b) = Threefry2x32.Hash(m0, m1, (uint)(k / 2), 2);
                var (cos, sin) = Threefry2x32.StandardNormals(a, b);
                double eps = (float)(k % 2 == 0 ? cos : sin);
                expected[n * d + k] = (float)((mu[n * d + k] + sigma[n * d + k] * eps) * model.LatentScale);
            }
        }
        return expected;
    }

    /// <summary>The posterior mean and standard deviation exp(logvar / 2) of each image, from TorchSharp, pixels in [0, 255] mapped to [-1, 1] by hand.</summary>
    private static (float[] Mu, float[] Sigma) Posterior(VariationalAutoencoder model, float[][] pixels)
    {
        using var x = global::TorchSharp.torch.tensor(pixels.SelectMany(p => p.Select(v => v / 127.5f - 1f)).ToArray(), [pixels.Length, 1, 8, 8]);
        var (mean, logVariance) = model.EncodeDistribution(x);
        using (mean)
        using (logVariance)
        using (var sigma = (logVariance * 0.5).exp())
            return (mean.data<float>().ToArray(), sigma.data<float>().ToArray());
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

    private sealed class KeyedRow
    {
        [VectorType(64)]
        public float[] Pixels { get; set; } = [];

        public long Key { get; set; }
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
