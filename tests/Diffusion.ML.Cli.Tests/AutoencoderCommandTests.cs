using System.Text.Json;
using Diffusion.ML.TorchSharp.Autoencoders;

namespace Diffusion.ML.Cli.Tests;

/// <summary><c>diffusion-ml train-vae</c>, <c>train-vqvae</c> and <c>train-autoencoder</c> end to end on the embedded 8x8 digits.</summary>
[TestClass]
public sealed class AutoencoderCommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-cli-autoencoder").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    private static readonly string[] Tiny = ["--dataset", "digits", "--batch-size", "16", "--threads", "1", "--test-limit", "40", "--limit", "200"];

    [TestMethod]
    public void TrainVaeResumesAndWritesItsMetrics()
    {
        string ckpt = Path.Combine(_dir, "vae.ckpt");
        Assert.AreEqual(0, Run(["train-vae", "--levels", "8,8", "--groups", "4", "--latent-channels", "2", "--steps", "3", "-o", ckpt, .. Tiny]));
        var manifest = AutoencoderCheckpoint.Load(ckpt).Manifest;
        Assert.AreEqual((VariationalAutoencoder.KindName, 3L), (manifest.ModelKind, manifest.Step));
        Assert.IsGreaterThan(0.0, manifest.LatentScale);

        byte[] before = File.ReadAllBytes(ckpt);
        Assert.AreEqual(CliApp.InputError, Run(["train-vae", "--steps", "5", "-o", ckpt, .. Tiny]), "an existing run is not overwritten");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(ckpt));
        Assert.AreEqual(0, Run(["train-vae", "--steps", "5", "-o", ckpt, "--resume", .. Tiny]));
        Assert.AreEqual(5L, AutoencoderCheckpoint.Load(ckpt).Manifest.Step);

        Assert.IsTrue(File.Exists(ckpt + ".reconstructions.png"));
        using var metrics = JsonDocument.Parse(File.ReadAllText(ckpt + ".metrics.json"));
        var test = metrics.RootElement.GetProperty("test");
        Assert.AreEqual(40, test.GetProperty("Count").GetInt32());
        Assert.AreEqual(test.GetProperty("NatsPerDim").GetDouble() / Math.Log(2), test.GetProperty("BitsPerDim").GetDouble(), 1e-9);

        // eval-autoencoder measures the same weights on the same test images as the training command did: the same numbers.
        string report = Path.Combine(_dir, "eval.json");
        Assert.AreEqual(0, Run("eval-autoencoder", "-c", ckpt, "--dataset", "digits", "--test-limit", "40", "--threads", "1", "--json", report));
        using (var evaluation = JsonDocument.Parse(File.ReadAllText(report)))
        {
            var measured = evaluation.RootElement.GetProperty("test");
            Assert.AreEqual(test.GetProperty("Mse").GetDouble(), measured.GetProperty("Mse").GetDouble(), 1e-6);
            Assert.AreEqual(test.GetProperty("NegativeElbo").GetDouble(), measured.GetProperty("NegativeElbo").GetDouble(), 1e-3);
        }
        // ... and its float16 copy, within the rounding of the weights.
        string slim = Path.Combine(_dir, "vae16.ckpt");
        Assert.AreEqual(0, Run("slim", "-c", ckpt, "-o", slim, "--dtype", "float16"));
        Assert.AreEqual(0, Run("eval-autoencoder", "-c", slim, "--dataset", "digits", "--test-limit", "40", "--threads", "1", "--json", report));
        using (var evaluation = JsonDocument.Parse(File.ReadAllText(report)))
        {
            Assert.AreEqual("Float16", evaluation.RootElement.GetProperty("weightPrecision").GetString());
            Assert.AreEqual(test.GetProperty("Mse").GetDouble(), evaluation.RootElement.GetProperty("test").GetProperty("Mse").GetDouble(), 1e-2 * test.GetProperty("Mse").GetDouble());
        }
        Assert.AreEqual(CliApp.InputError, Run("eval-autoencoder", "-c", Path.Combine(_dir, "missing.ckpt"), "--dataset", "digits"));
    }

    [TestMethod]
    public void TrainVqVaeAndTheClassicKinds()
    {
        string vq = Path.Combine(_dir, "vq.ckpt");
        Assert.AreEqual(0, Run(["train-vqvae", "--levels", "8,8", "--groups", "4", "--codes", "8", "--code-dim", "3", "--kmeans-init", "--steps", "2", "-o", vq, .. Tiny]));
        using (var metrics = JsonDocument.Parse(File.ReadAllText(vq + ".metrics.json")))
        {
            double perplexity = metrics.RootElement.GetProperty("test").GetProperty("Perplexity").GetDouble();
            Assert.IsTrue(perplexity is >= 1 and <= 8, $"perplexity {perplexity} lies in [1, K]");
        }
        Assert.AreEqual(0, Run("export-autoencoder", "-c", vq, "-o", Path.Combine(_dir, "vq")));
        foreach (string part in new[] { "encoder", "quantizer", "decoder" })
        {
            var onnx = Onnx.OnnxModel.Load(Path.Combine(_dir, $"vq-{part}.onnx"));
            Assert.AreEqual($"vqvae-{part}", onnx.Metadata[Onnx.DiffusionModelMetadata.ModelKindKey]);
        }

        // slim: the sampling-only float16 copy exports like the full checkpoint; --autoencoder-ema needs EMA weights.
        string slim = Path.Combine(_dir, "vq-slim.ckpt");
        Assert.AreEqual(0, Run("slim", "-c", vq, "-o", slim, "--dtype", "float16"));
        Assert.IsLessThan(new FileInfo(vq).Length, new FileInfo(slim).Length);
        Assert.AreEqual(0, Run("export-autoencoder", "-c", slim, "-o", Path.Combine(_dir, "vq-slim")));
        Assert.IsTrue(File.Exists(Path.Combine(_dir, "vq-slim-decoder.onnx")));
        Assert.AreEqual(CliApp.InputError, Run("slim", "-c", vq, "-o", Path.Combine(_dir, "z.ckpt"), "--autoencoder", slim), "--autoencoder is for latent denoisers");

        foreach (string kind in new[] { "plain", "denoising", "sparse", "k-sparse", "contractive" })
        {
            string path = Path.Combine(_dir, $"{kind}.ckpt");
            Assert.AreEqual(0, Run(["train-autoencoder", "--kind", kind, "--hidden", "16", "--k", "4", "--steps", "2", "-o", path, .. Tiny]), kind);
            var options = ClassicAutoencoderOptions.FromJson(AutoencoderCheckpoint.Load(path).Manifest.ModelConfig);
            Assert.AreEqual(kind.Replace("-", ""), options.Kind.ToString().ToLowerInvariant());
        }
        Assert.AreEqual(0, Run("export-autoencoder", "-c", Path.Combine(_dir, "k-sparse.ckpt")));
        Assert.AreEqual("classic-encoder", Onnx.OnnxModel.Load(Path.Combine(_dir, "k-sparse-encoder.onnx")).Metadata[Onnx.DiffusionModelMetadata.ModelKindKey]);
        Assert.AreEqual(CliApp.InputError, Run("export-autoencoder", "-c", Path.Combine(_dir, "missing.ckpt")));
        Assert.AreNotEqual(0, Run(["train-autoencoder", "--kind", "variational", "-o", Path.Combine(_dir, "x.ckpt"), .. Tiny]), "unknown kinds are refused");
        Assert.AreEqual(CliApp.InputError, Run(["train-vae", "--levels", "8,8,8,8,8", "--groups", "4", "--steps", "1", "-o", Path.Combine(_dir, "y.ckpt"), .. Tiny]),
            "8x8 images cannot be downsampled four times");
    }
}
