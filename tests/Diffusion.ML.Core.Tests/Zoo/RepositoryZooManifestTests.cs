using System.Text.Json;
using Diffusion.ML.Zoo;

namespace Diffusion.ML.Core.Tests.Zoo;

/// <summary>The committed zoo/manifest.json describes the committed model files exactly, so it cannot go stale silently.</summary>
[TestClass]
public sealed class RepositoryZooManifestTests
{
    /// <summary>The format of an autoencoder checkpoint (train-vae, train-vqvae; the file's own kind), read by <c>AutoencoderCheckpoint.Load</c>.</summary>
    private const string AutoencoderCheckpointFormat = ZooFileFormats.Autoencoder;

    private static string RepositoryZoo() => ZooRepository.FindFrom(AppContext.BaseDirectory)
        ?? throw new AssertFailedException("zoo/manifest.json not found above " + AppContext.BaseDirectory);

    [TestMethod]
    public void SizesAndHashesMatchTheFilesInTheRepository()
    {
        string zoo = RepositoryZoo();
        var manifest = ZooManifest.Load(Path.Combine(zoo, ZooManifest.FileName));
        Assert.AreEqual(ZooClientOptions.DefaultBaseUrl, manifest.BaseUrl, "the client's default download location is where the manifest says the zoo is published");
        CollectionAssert.AreEquivalent(
            Directory.GetDirectories(zoo).Select(Path.GetFileName).ToArray(), manifest.Models.Select(m => m.Id).ToArray(),
            "every model folder is in the manifest and every manifest entry has a folder");
        foreach (var model in manifest.Models)
        {
            foreach (var file in model.Files)
            {
                string path = ZooCacheLayout.FilePath(Path.Combine(zoo, model.Id), file.Path);
                Assert.IsTrue(File.Exists(path), $"{model.Id}: {file.Path} is missing");
                Assert.IsNull(ZooFileCheck.Mismatch(path, file),
                    $"{model.Id}/{file.Path} changed: update zoo/manifest.json (size {new FileInfo(path).Length}, sha256 {Diffusion.ML.Data.FileHash.Sha256Hex(path)})");
            }
            Assert.IsTrue(File.Exists(Path.Combine(zoo, model.Id, model.Card!)), $"{model.Id}: its card is missing");
            Assert.IsNotEmpty(model.Metrics, $"{model.Id}: no metrics");
        }
    }

    [TestMethod]
    public void EveryFolderFollowsTheHubLayout()
    {
        string zoo = RepositoryZoo();
        using var raw = JsonDocument.Parse(File.ReadAllText(Path.Combine(zoo, ZooManifest.FileName)));
        var manifest = ZooManifest.Load(Path.Combine(zoo, ZooManifest.FileName));
        foreach (var model in manifest.Models)
        {
            // config.json is the manifest's architecture block, as its own file (read here without the library's parser).
            var config = model.FindFile(ZooFileFormats.Config);
            Assert.IsNotNull(config, $"{model.Id}: no file of format '{ZooFileFormats.Config}'");
            Assert.AreEqual("config.json", config.Path);
            var architecture = raw.RootElement.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("id").GetString() == model.Id).GetProperty("architecture");
            using var file = JsonDocument.Parse(File.ReadAllText(Path.Combine(zoo, model.Id, config.Path)));
            Assert.IsTrue(JsonElement.DeepEquals(architecture, file.RootElement),
                $"{model.Id}/config.json differs from the manifest's architecture; write it again with: " +
                $"jq '.models[] | select(.id==\"{model.Id}\") | .architecture' zoo/manifest.json > zoo/{model.Id}/config.json");

            // A denoiser ships its ONNX export beside the weights; a latent denoiser also its autoencoder (vae.ckpt, the
            // checkpoint's reference) and the decoder its export names; an autoencoder its parts as export-autoencoder names them.
            var autoencoder = model.FindFile(AutoencoderCheckpointFormat);
            if (model.FindFile(ZooFileFormats.Checkpoint) is { } checkpoint)
            {
                Assert.AreEqual("model.ckpt", checkpoint.Path);
                Assert.AreEqual("model.onnx", model.FindFile(ZooFileFormats.Onnx)?.Path, $"{model.Id}: the checkpoint has no ONNX export beside it");
                Assert.AreEqual(autoencoder is null ? null : "model-decoder.onnx", model.FindFile(ZooFileFormats.LatentDecoderOnnx)?.Path,
                    $"{model.Id}: a latent model's export (diffusion-ml export -c zoo/{model.Id}/model.ckpt -o zoo/{model.Id}/model.onnx) writes its decoder beside it");
                if (autoencoder is not null)
                {
                    Assert.AreEqual("vae.ckpt", autoencoder.Path, $"{model.Id}: the autoencoder copy 'slim --autoencoder' pins");
                    Assert.IsNotNull(model.Architecture.LatentScale, $"{model.Id}: a latent model records the latent scale of its autoencoder");
                }
            }
            else if (autoencoder is not null)
            {
                Assert.AreEqual("model.ckpt", autoencoder.Path);
                string[] parts = model.Architecture.Kind == "vqvae" ? ["model-encoder.onnx", "model-quantizer.onnx", "model-decoder.onnx"] : ["model-encoder.onnx", "model-decoder.onnx"];
                CollectionAssert.AreEquivalent(parts, model.Files.Where(f => f.Format == ZooFileFormats.Onnx).Select(f => f.Path).ToArray(),
                    $"{model.Id}: the ONNX parts written by diffusion-ml export-autoencoder -c zoo/{model.Id}/model.ckpt -o zoo/{model.Id}/model");
            }

            foreach (var entry in model.Files)
                Assert.IsTrue(entry.Size < 16_000_000, $"{model.Id}/{entry.Path} has {entry.Size:N0} bytes; committed files stay under 16 MB");
        }
    }

    [TestMethod]
    public async Task OfflinePullOfTheRepositoryModelsVerifiesThemInPlace()
    {
        string zoo = RepositoryZoo();
        string cache = Directory.CreateTempSubdirectory("dml-zoo-cache").FullName;
        try
        {
            using var client = new ZooClient(new ZooClientOptions { CacheDirectory = cache, LocalZooDirectory = zoo, Offline = true });
            var result = await client.PullAsync("fashion-mnist-features");
            Assert.AreEqual(Path.Combine(zoo, "fashion-mnist-features", "model.zip"), result.PathOf("model.zip"));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }
}
