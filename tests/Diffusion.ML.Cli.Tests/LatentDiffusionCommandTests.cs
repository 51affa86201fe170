using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Onnx;
using Diffusion.ML.TorchSharp.Training;

namespace Diffusion.ML.Cli.Tests;

/// <summary>The latent-diffusion chain end to end on 8x8 digits: VAE, DiT on its latents, decoded samples; resumable.</summary>
[TestClass]
public sealed class LatentDiffusionCommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-latent").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    [TestMethod]
    public void TheChainTrainsSamplesDecodesAndResumes()
    {
        string[] chain = ["latent-diffusion", "--dataset", "digits", "--out", _dir, "--vae-steps", "3", "--levels", "8,8", "--latent-channels", "2",
            "--steps", "3", "--hidden-size", "16", "--depth", "1", "--heads", "2", "--batch-size", "8", "--samples", "4",
            "--sampling-steps", "3", "--threads", "1"];
        Assert.AreEqual(0, Run(chain));

        var manifest = Checkpoint.Load(Path.Combine(_dir, "denoiser.ckpt")).Manifest;
        Assert.AreEqual("dit", manifest.ModelKind);
        Assert.AreEqual("vae.ckpt", manifest.Trainer.LatentAutoencoder!.File, "stored relative to the denoiser checkpoint");
        Assert.AreEqual(FileHash.Sha256Hex(Path.Combine(_dir, "vae.ckpt")), manifest.Trainer.LatentAutoencoder.Sha256);
        string sample = Path.Combine(_dir, "samples", "sample_000000.png");
        ImageFileDecoder.Decode(sample, 1, out int width, out int height);
        Assert.AreEqual((8, 8), (width, height), "latents (2x4x4) are decoded to 8x8 images");

        byte[] vae = File.ReadAllBytes(Path.Combine(_dir, "vae.ckpt"));
        Assert.AreEqual(0, Run(chain), "a finished chain runs again: trained stages are skipped");
        CollectionAssert.AreEqual(vae, File.ReadAllBytes(Path.Combine(_dir, "vae.ckpt")), "the pinned VAE is not rewritten");

        // ONNX: export writes the denoiser and the VAE decoder it names; generate on ONNX Runtime decodes with it and
        // gives the images TorchSharp gives (two independent runtimes; one 8-bit level of rounding apart at most).
        string onnx = Path.Combine(_dir, "onnx", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(onnx)!);
        Assert.AreEqual(0, Run("export", "-c", Path.Combine(_dir, "denoiser.ckpt"), "-o", onnx));
        Assert.IsTrue(File.Exists(Path.Combine(_dir, "onnx", "model-decoder.onnx")));
        string[] job = ["--count", "3", "--steps", "3", "--sampler", "ddim", "--classes", "all", "--seed", "5", "--threads", "1"];
        Assert.AreEqual(0, Run(["generate", "-m", Path.Combine(_dir, "denoiser.ckpt"), "-o", Path.Combine(_dir, "gen-torch"), .. job]));
        Assert.AreEqual(0, Run(["generate", "-m", onnx, "-o", Path.Combine(_dir, "gen-onnx"), .. job]));
        for (int i = 0; i < 3; i++)
        {
            string name = $"sample_{i:D6}.png";
            float[] torchPixels = ImageFileDecoder.Decode(Path.Combine(_dir, "gen-torch", name), 1, out int w, out int h);
            float[] onnxPixels = ImageFileDecoder.Decode(Path.Combine(_dir, "gen-onnx", name), 1, out int wo, out int ho);
            Assert.AreEqual((8, 8), (w, h));
            Assert.AreEqual((8, 8), (wo, ho), "ONNX Runtime decodes the latents too");
            double max = torchPixels.Zip(onnxPixels, (a, b) => Math.Abs(a - b)).Max();
            Assert.IsLessThanOrEqualTo(2.5 / 255, max, $"{name}: the backends differ by {max * 255 / 2:0.0} levels");
        }
        var e = Assert.ThrowsExactly<ArgumentException>(() => DenoiserOnnxExporter.Export(Checkpoint.Load(Path.Combine(_dir, "denoiser.ckpt"))));
        StringAssert.Contains(e.Message, "ExportLatent", "the library's one-file export refuses a latent model too");
        File.Delete(Path.Combine(_dir, "onnx", "model-decoder.onnx"));
        Assert.AreEqual(CliApp.InputError, Run(["generate", "-m", onnx, "-o", Path.Combine(_dir, "gen-onnx2"), .. job]),
            "a latent export without its decoder is refused, not sampled into latent PNGs");
        Assert.AreEqual(CliApp.InputError, Run("export", "-c", Path.Combine(_dir, "denoiser.ckpt"), "-o", onnx, "--sampler", "ddim"),
            "a one-file generator would output latents");

        // Fine-tuning a latent model keeps its autoencoder, pinned again relative to the new checkpoint, and samples decode.
        string tuned = Path.Combine(_dir, "tuned", "tuned.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(tuned)!);
        Assert.AreEqual(0, Run("train", "--dataset", "digits", "--init-from", Path.Combine(_dir, "denoiser.ckpt"), "--steps", "2", "--batch-size", "8",
            "--output", tuned, "--threads", "1"));
        var tunedReference = Checkpoint.Load(tuned).Manifest.Trainer.LatentAutoencoder!;
        Assert.AreEqual(Path.Combine("..", "vae.ckpt"), tunedReference.File);
        Assert.AreEqual(manifest.Trainer.LatentAutoencoder.Sha256, tunedReference.Sha256);
        Assert.AreEqual(0, Run(["generate", "-m", tuned, "-o", Path.Combine(_dir, "gen-tuned"), .. job]));
        ImageFileDecoder.Decode(Path.Combine(_dir, "gen-tuned", "sample_000000.png"), 1, out int tunedWidth, out int tunedHeight);
        Assert.AreEqual((8, 8), (tunedWidth, tunedHeight), "decoded by the pretrained model's autoencoder");

        string moved = Path.Combine(_dir, "moved");
        Directory.CreateDirectory(moved);
        File.Copy(Path.Combine(_dir, "denoiser.ckpt"), Path.Combine(moved, "denoiser.ckpt"));
        Assert.AreEqual(CliApp.InputError, Run("sample", "-c", Path.Combine(moved, "denoiser.ckpt"), "-n", "2", "--steps", "2", "-o", Path.Combine(moved, "out")),
            "without its autoencoder a latent model cannot decode: a clear error");
    }
}
