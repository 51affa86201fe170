using Diffusion.ML.Data;
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

        string moved = Path.Combine(_dir, "moved");
        Directory.CreateDirectory(moved);
        File.Copy(Path.Combine(_dir, "denoiser.ckpt"), Path.Combine(moved, "denoiser.ckpt"));
        Assert.AreEqual(CliApp.InputError, Run("sample", "-c", Path.Combine(moved, "denoiser.ckpt"), "-n", "2", "--steps", "2", "-o", Path.Combine(moved, "out")),
            "without its autoencoder a latent model cannot decode: a clear error");
    }
}
