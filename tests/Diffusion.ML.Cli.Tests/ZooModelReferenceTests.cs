using System.Text.Json;
using Diffusion.ML.Data;
using Diffusion.ML.Zoo;

namespace Diffusion.ML.Cli.Tests;

/// <summary>
/// <c>generate --model</c>, <c>sample -c</c> and <c>eval -c</c> given a zoo id instead of a file: resolved offline from the
/// in-repository zoo (an empty cache), and the same images as the file itself.
/// </summary>
[TestClass]
public sealed class ZooModelReferenceTests
{
    private const string Id = "fashion-mnist-unet32";
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-zoo-ref").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    private static string RepositoryZoo() => ZooRepository.FindFrom(AppContext.BaseDirectory)
        ?? throw new AssertFailedException("zoo/manifest.json not found above " + AppContext.BaseDirectory);

    private string Cache => Path.Combine(_dir, "empty-cache");

    private string[] Offline => ["--offline", "--cache-dir", Cache];

    private Dictionary<string, byte[]> Images(string folder) =>
        Directory.GetFiles(Path.Combine(_dir, folder), "sample_*.png").ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    [TestMethod]
    public void GenerateRecordsTheZooReferenceAndMakesTheImagesOfTheFile()
    {
        string checkpoint = Path.Combine(RepositoryZoo(), Id, "model.ckpt");
        string version = ZooManifest.Load(Path.Combine(RepositoryZoo(), ZooManifest.FileName)).Find(Id).Version;
        string[] job = ["--count", "3", "--batch-size", "3", "--steps", "2", "--classes", "0,7", "--guidance", "2", "--seed", "5", "--threads", "1", "--backend", "torch"];

        Assert.AreEqual(0, Run(["generate", "--model", Id, "-o", Path.Combine(_dir, "by-id"), .. Offline, .. job]));
        Assert.IsFalse(Directory.Exists(Path.Combine(Cache, "models")), "offline, the in-repository copy is used in place");
        string[] lines = File.ReadAllLines(Path.Combine(_dir, "by-id", "manifest-00000-of-00001.jsonl"));
        Assert.HasCount(3, lines);
        string sha256 = FileHash.Sha256Hex(checkpoint);
        foreach (string line in lines)
        {
            var entry = JsonDocument.Parse(line).RootElement;
            Assert.AreEqual($"{Id}@{version}", entry.GetProperty("model").GetString());
            Assert.AreEqual(sha256, entry.GetProperty("model_sha256").GetString());
        }
        Assert.AreEqual("Sneaker", JsonDocument.Parse(lines[1]).RootElement.GetProperty("class_name").GetString());

        Assert.AreEqual(0, Run(["generate", "--model", checkpoint, "-o", Path.Combine(_dir, "by-file"), .. job]));
        var byId = Images("by-id");
        var byFile = Images("by-file");
        Assert.HasCount(3, byId);
        CollectionAssert.AreEquivalent(byId.Keys.ToList(), byFile.Keys.ToList());
        foreach (var (name, bytes) in byId) CollectionAssert.AreEqual(bytes, byFile[name], name);

        Assert.AreEqual(0, Run(["generate", "--model", $"{Id}@{version}", "-o", Path.Combine(_dir, "by-id"), .. Offline, .. job]),
            "id@version names the same job: the restart finds every sample done");
        Assert.AreEqual(CliApp.InputError, Run(["generate", "--model", $"{Id}@0.0.1-not-there", "-o", Path.Combine(_dir, "x"), .. Offline, .. job]), "another version");
        Assert.AreEqual(CliApp.InputError, Run(["generate", "--model", "no-such-model", "-o", Path.Combine(_dir, "x"), .. Offline, .. job]), "unknown id");
        Assert.AreEqual(CliApp.InputError, Run(["generate", "--model", Path.Combine(_dir, "missing.ckpt"), "-o", Path.Combine(_dir, "x"), .. job]), "missing file");
        Assert.IsFalse(Directory.Exists(Path.Combine(_dir, "x")));
    }

    [TestMethod]
    public void OnCpuAZooIdRunsTheExportBesideTheWeights()
    {
        string[] job = ["--count", "4", "--batch-size", "4", "--steps", "3", "--classes", "all", "--guidance", "2", "--seed", "3", "--threads", "1", .. Offline];
        Assert.AreEqual(0, Run(["generate", "--model", Id, "-o", Path.Combine(_dir, "onnx"), .. job]), "no --backend: ONNX Runtime on CPU");
        Assert.AreEqual(0, Run(["generate", "--model", Id, "--backend", "torch", "-o", Path.Combine(_dir, "torch"), .. job]));
        string Sha256Of(string folder) =>
            JsonDocument.Parse(File.ReadLines(Path.Combine(_dir, folder, "manifest-00000-of-00001.jsonl")).First()).RootElement.GetProperty("model_sha256").GetString()!;
        Assert.AreEqual(FileHash.Sha256Hex(Path.Combine(RepositoryZoo(), Id, "model.onnx")), Sha256Of("onnx"));
        Assert.AreEqual(FileHash.Sha256Hex(Path.Combine(RepositoryZoo(), Id, "model.ckpt")), Sha256Of("torch"));
        Assert.AreEqual(CliApp.InputError, Run(["generate", "--model", Id, "--raw-weights", "-o", Path.Combine(_dir, "raw"), .. job]),
            "--raw-weights picks the checkpoint, whose sampling-only copy has no trained weights: a clear error, not a stack trace");

        // The same weights on two runtimes: equal up to float noise, so PNG values differ by at most one level.
        var onnx = Images("onnx");
        Assert.HasCount(4, onnx);
        foreach (var (name, _) in onnx)
        {
            float[] a = ImageFileDecoder.Decode(Path.Combine(_dir, "onnx", name), 1, out _, out _);
            float[] b = ImageFileDecoder.Decode(Path.Combine(_dir, "torch", name), 1, out _, out _);
            float worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
            Assert.IsTrue(worst <= 2f / 255 + 1e-6f, $"{name}: largest difference {worst * 127.5:0.0} levels");
        }
    }

    [TestMethod]
    public void SampleTakesAZooId()
    {
        string output = Path.Combine(_dir, "sampled");
        Assert.AreEqual(0, Run(["sample", "-c", Id, .. Offline, "-n", "2", "--steps", "2", "--classes", "5", "--guidance", "2", "-o", output, "--threads", "1"]));
        Assert.IsTrue(File.Exists(Path.Combine(output, "grid.png")));
        Assert.HasCount(2, Directory.GetFiles(output, "sample_*.png"));
    }

    [TestMethod]
    public void EvalTakesAZooId()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "t10k-images-idx3-ubyte.gz")) &&
            !File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "t10k-images-idx3-ubyte")))
            Assert.Inconclusive($"Fashion-MNIST is not installed in {FashionMnist.DefaultDirectory} (apt install dataset-fashion-mnist).");
        string json = Path.Combine(_dir, "eval.json");
        Assert.AreEqual(0, Run(["eval", "-c", Id, .. Offline, "--no-quality", "--bits-per-dim", "--nll-images", "2", "--nll-timesteps", "1",
            "--nll-pilot", "0", "--reference-count", "2", "--json", json, "--threads", "1"]));
        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        StringAssert.Contains(report.GetProperty("source").GetString(), $"zoo model {Id}@");
        Assert.AreEqual(2, report.GetProperty("likelihood").GetProperty("images").GetInt32());
    }

    [TestMethod]
    public void AnAutoencoderIdIsRefusedAsADenoiserOnEitherBackend()
    {
        foreach (string backend in new[] { "torch", "onnx" })
            Assert.AreEqual(CliApp.InputError, Run(["sample", "-c", "fashion-mnist-vae", "--backend", backend, "--count", "1", "-o", Path.Combine(_dir, backend), .. Offline]),
                $"--backend {backend}");
        Assert.IsFalse(Directory.Exists(Path.Combine(_dir, "onnx")), "nothing is written");
    }

    [TestMethod]
    public void AnAutoencoderIdResolvesToItsCheckpointAndADenoiserIdIsRefusedAsAnAutoencoder()
    {
        ZooClient OfflineZoo() => new(new ZooClientOptions { Offline = true, CacheDirectory = Cache });
        string path = Commands.ModelSource.ResolveAutoencoder("fashion-mnist-vae", OfflineZoo, CancellationToken.None);
        Assert.AreEqual(Path.GetFullPath(Path.Combine(RepositoryZoo(), "fashion-mnist-vae", "model.ckpt")), Path.GetFullPath(path));
        var wrong = Assert.Throws<ArgumentException>(() => Commands.ModelSource.ResolveAutoencoder(Id, OfflineZoo, CancellationToken.None));
        StringAssert.Contains(wrong.Message, "is not an autoencoder");
        // Through the command: a denoiser id given as --autoencoder is an input error before any training.
        string output = Path.Combine(_dir, "latent.ckpt");
        Assert.AreEqual(CliApp.InputError, Run(["train", "--dataset", "moons", "--autoencoder", Id, "--steps", "1", "--output", output, .. Offline]));
        Assert.IsFalse(File.Exists(output));
    }
}
