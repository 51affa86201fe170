using SkiaSharp;

namespace Diffusion.ML.Cli.Tests;

/// <summary><c>diffusion-ml demo</c> offline: the zoo's Fashion-MNIST model on ONNX Runtime and on TorchSharp, one labelled row per class.</summary>
[TestClass]
public sealed class DemoCommandTests
{
    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    [TestMethod]
    public void SamplesOneLabelledRowPerClassOffline()
    {
        string dir = Directory.CreateTempSubdirectory("dml-demo").FullName;
        try
        {
            string cache = Path.Combine(dir, "empty-cache"), output = Path.Combine(dir, "out");
            Assert.AreEqual(0, Run("demo", "--per-class", "2", "--steps", "2", "-o", output, "--offline", "--cache-dir", cache, "--threads", "1"));
            Assert.IsFalse(Directory.Exists(Path.Combine(cache, "models")), "the repository's copy is used in place");
            using var grid = SKBitmap.Decode(Path.Combine(output, "fashion-mnist-grid.png"));
            const int scale = 3;
            Assert.AreEqual((10 * (28 + LabelledGrid.Padding) + LabelledGrid.Padding) * scale, grid.Height, "ten rows of 28x28 images");
            int gridWidth = (2 * (28 + LabelledGrid.Padding) + LabelledGrid.Padding) * scale;
            Assert.IsTrue(grid.Width > gridWidth + 100, $"a label column left of the {gridWidth} px grid: {grid.Width} px in all");

            string torch = Path.Combine(dir, "torch");
            Assert.AreEqual(0, Run("demo", "--backend", "torch", "--per-class", "1", "--steps", "2", "-o", torch, "--offline", "--cache-dir", cache, "--threads", "1"));
            using (var fromTorch = SKBitmap.Decode(Path.Combine(torch, "fashion-mnist-grid.png"))) Assert.AreEqual(grid.Height, fromTorch.Height);

            Assert.AreEqual(CliApp.InputError, Run("demo", "--per-class", "0", "-o", output, "--offline", "--cache-dir", cache));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
