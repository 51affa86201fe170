using Diffusion.ML.TorchSharp.Evaluation;

namespace Diffusion.ML.Cli.Tests;

/// <summary><c>diffusion-ml train-classifier</c> end to end on the embedded 8x8 digits with a tiny network.</summary>
[TestClass]
public sealed class TrainClassifierCommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-cli-classifier").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    [TestMethod]
    public void TrainsOnDigitsAndWritesAFeatureNetworkWithItsAccuracy()
    {
        string path = Path.Combine(_dir, "digits-features.zip");
        Assert.AreEqual(0, Run("train-classifier", "--dataset", "digits", "--epochs", "2", "--channels", "4,8", "--features", "16",
            "--batch-size", "64", "--warmup", "5", "--threads", "1", "-o", path));
        var manifest = FeatureNetworkFile.Load(path).Manifest;
        Assert.AreEqual("digits-features", manifest.Id);
        CollectionAssert.AreEqual(new[] { 1, 8, 8 }, manifest.InputShape);
        Assert.AreEqual(16, manifest.FeatureDimension);
        Assert.AreEqual(359, manifest.TestCount, "every fifth of the 1797 digits is held out");
        Assert.IsTrue(manifest.TestAccuracy is > 0.2 and <= 1, $"accuracy {manifest.TestAccuracy} is measured");
        StringAssert.Contains(manifest.TrainingCommand, "train-classifier --dataset digits");

        byte[] before = File.ReadAllBytes(path);
        Assert.AreEqual(CliApp.InputError, Run("train-classifier", "--dataset", "digits", "-o", path), "an existing file is not overwritten");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
        Assert.AreNotEqual(0, Run("train-classifier", "--dataset", "moons", "-o", Path.Combine(_dir, "x.zip")), "only data sets with a test split");
        Assert.AreEqual(CliApp.InputError, Run("train-classifier", "--dataset", "digits", "--channels", "4,x", "-o", Path.Combine(_dir, "y.zip")));
    }
}
