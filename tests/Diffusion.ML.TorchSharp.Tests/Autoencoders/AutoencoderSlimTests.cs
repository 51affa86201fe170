using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Tests.Training;
using Diffusion.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Autoencoders;

/// <summary>Sampling-only, half-precision copies of autoencoder checkpoints, and latent-diffusion models pointed at them.</summary>
[TestClass]
public sealed class AutoencoderSlimTests
{
    private string _dir = "";

    [TestInitialize]
    public void Setup()
    {
        TorchSharpRuntime.EnsureLoaded();
        _dir = Directory.CreateTempSubdirectory("dml-slim").FullName;
    }

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    [DataRow("vae", WeightPrecision.Float16, ScalarType.Float16)]
    [DataRow("vqvae", WeightPrecision.BFloat16, ScalarType.BFloat16)]
    public void HalfPrecisionCopyHoldsTheRoundedEmaWeightsWithTheirScale(string kind, WeightPrecision precision, ScalarType type)
    {
        string full = Train(kind, Path.Combine(_dir, "run.ckpt"), seed: 1);
        string slim = Path.Combine(_dir, "slim.ckpt");
        var checkpoint = AutoencoderCheckpoint.Load(full);
        checkpoint.SaveForInference(slim, precision, useEma: true);

        var copy = AutoencoderCheckpoint.Load(slim);
        Assert.AreEqual(precision, copy.Manifest.WeightPrecision);
        Assert.AreEqual(2, copy.Manifest.FormatVersion);
        Assert.IsFalse(copy.HasEma);
        Assert.AreEqual(checkpoint.Manifest.EmaLatentScale, copy.Manifest.LatentScale, "the kept (EMA) weights' own scale");
        Assert.IsLessThan(new FileInfo(full).Length / 4, new FileInfo(slim).Length, "one half-precision copy instead of weights, EMA and Adam moments in float32");

        using var ema = checkpoint.LoadModel(useEma: true);
        using var loaded = copy.LoadModel();
        Assert.AreEqual(ema.LatentScale, loaded.LatentScale);
        var expected = ema.state_dict();
        foreach (var (name, value) in loaded.state_dict())
        {
            var reference = expected[name];
            var rounded = reference.is_floating_point() ? reference.to_type(type).to_type(ScalarType.Float32) : reference;
            Assert.AreEqual(ScalarType.Float32, value.is_floating_point() ? value.dtype : ScalarType.Float32, $"{name} loads in float32");
            Assert.IsTrue(rounded.allclose(value, rtol: 0, atol: 0), $"{name} is the EMA value rounded to {precision}");
        }
        var e = Assert.ThrowsExactly<InvalidDataException>(() => AutoencoderTrainer.Resume(slim, TinyModels.Images(count: 12)));
        StringAssert.Contains(e.Message, "sampling-only");

        // By default the trained weights are kept, with their scale.
        string trained = Path.Combine(_dir, "trained.ckpt");
        checkpoint.SaveForInference(trained);
        Assert.AreEqual(checkpoint.Manifest.LatentScale, AutoencoderCheckpoint.Load(trained).Manifest.LatentScale);
        Assert.AreEqual(1, AutoencoderCheckpoint.Load(trained).Manifest.FormatVersion, "float32 copies stay version 1");
    }

    [TestMethod]
    public void ALatentModelCanReferToTheSlimCopyOfItsAutoencoderAndToNoOther()
    {
        string vaePath = Train("vae", Path.Combine(_dir, "vae.ckpt"), seed: 1);
        string denoiserPath = Path.Combine(_dir, "denoiser.ckpt");
        using (var vae = AutoencoderCheckpoint.Load(vaePath).LoadModel(useEma: true))
        {
            var latents = LatentCodec.EncodeToDataset(vae, TinyModels.Images(count: 12));
            var unet = new UNet(new UNetOptions
            {
                ImageChannels = 2, ImageSize = 4, BaseChannels = 8, ChannelMultipliers = [1], ResidualBlocksPerLevel = 1,
                AttentionResolutions = [], GroupNormGroups = 4, ClassCount = 3,
            });
            var options = new DdpmTrainerOptions { BatchSize = 4, Seed = 2, LatentAutoencoder = LatentAutoencoderReference.Create(vaePath, denoiserPath, useEma: true) };
            using var trainer = new DdpmTrainer(unet, latents, options);
            trainer.Train(2, denoiserPath);
        }

        string folder = Directory.CreateDirectory(Path.Combine(_dir, "model")).FullName;
        string slimVae = Path.Combine(folder, "vae.ckpt"), slimDenoiser = Path.Combine(folder, "model.ckpt");
        AutoencoderCheckpoint.Load(vaePath).SaveForInference(slimVae, WeightPrecision.Float16, useEma: true);
        Checkpoint.Load(denoiserPath).SaveForInference(slimDenoiser, WeightPrecision.Float16, latentAutoencoder: slimVae);

        var reference = Checkpoint.Load(slimDenoiser).Manifest.Trainer.LatentAutoencoder!;
        Assert.AreEqual("vae.ckpt", reference.File, "relative to the copy's folder, so the folder moves as one");
        Assert.IsFalse(reference.UseEma, "the slim copy holds the EMA weights as its only weights");
        using (var original = AutoencoderCheckpoint.Load(vaePath).LoadModel(useEma: true))
        using (var decoder = reference.Load(slimDenoiser))
        {
            var z = randn(3, 2, 4, 4);
            using var mode = inference_mode();
            double difference = (original.Decode(z) - decoder.Decode(z)).abs().max().item<float>();
            Assert.IsLessThan(1e-2, difference, "float16 weights decode like the float32 EMA weights");
        }

        string otherVae = Train("vae", Path.Combine(_dir, "other.ckpt"), seed: 5);
        var e = Assert.ThrowsExactly<InvalidDataException>(() =>
            Checkpoint.Load(denoiserPath).SaveForInference(Path.Combine(folder, "wrong.ckpt"), latentAutoencoder: otherVae));
        StringAssert.Contains(e.Message, "is not a copy of the autoencoder");
        Assert.IsFalse(File.Exists(Path.Combine(folder, "wrong.ckpt")));
    }

    private static string Train(string kind, string path, long seed)
    {
        var data = TinyModels.Images(count: 12);
        using var trainer = new AutoencoderTrainer(kind == "vae" ? TinyAutoencoders.Vae(seed) : TinyAutoencoders.VqVae(seed), data, AutoencoderTrainerTests.Options);
        trainer.Train(3, path);
        return path;
    }
}
