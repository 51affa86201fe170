using Diffusion.ML.TorchSharp.Training;

namespace Diffusion.ML.Cli.Tests;

/// <summary>End-to-end runs of the diffusion-ml commands on tiny settings.</summary>
[TestClass]
public sealed class CommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-cli").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    [TestMethod]
    public void TrainResumeAndSamplePoints()
    {
        string ckpt = Path.Combine(_dir, "moons.ckpt");
        Assert.AreEqual(0, Run("train", "--dataset", "moons", "--steps", "3", "--batch-size", "16", "--output", ckpt, "--threads", "1"));
        Assert.AreEqual(3L, Checkpoint.Load(ckpt).Manifest.Step);

        byte[] before = File.ReadAllBytes(ckpt);
        Assert.AreEqual(CliApp.InputError, Run("train", "--dataset", "moons", "--steps", "5", "--output", ckpt), "an existing run is not overwritten");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(ckpt));

        Assert.AreEqual(0, Run("train", "--dataset", "moons", "--steps", "5", "--output", ckpt, "--resume", "--threads", "1"));
        Assert.AreEqual(5L, Checkpoint.Load(ckpt).Manifest.Step);

        string slim = Path.Combine(_dir, "moons-slim.ckpt");
        Assert.AreEqual(0, Run("slim", "-c", ckpt, "-o", slim));
        Assert.AreEqual(CliApp.InputError, Run("train", "--dataset", "moons", "--steps", "6", "--output", slim, "--resume"), "a slim copy cannot resume");

        string outDir = Path.Combine(_dir, "points");
        Assert.AreEqual(0, Run("sample", "-c", slim, "--count", "6", "--steps", "4", "--batch-size", "4", "-o", outDir, "--threads", "1"));
        string[] lines = File.ReadAllLines(Path.Combine(outDir, "samples.csv"));
        Assert.AreEqual("x0,x1", lines[0]);
        Assert.AreEqual(7, lines.Length);
    }

    [TestMethod]
    public void SlimWritesHalfPrecisionWeightsThatSample()
    {
        string ckpt = Path.Combine(_dir, "digits.ckpt"), single = Path.Combine(_dir, "single.ckpt");
        Assert.AreEqual(0, Run("train", "--dataset", "digits", "--steps", "1", "--batch-size", "8", "--base-channels", "16", "--output", ckpt, "--threads", "1"));
        Assert.AreEqual(0, Run("slim", "-c", ckpt, "-o", single));
        Assert.AreEqual(WeightPrecision.Float32, Checkpoint.Load(single).Manifest.WeightPrecision);
        foreach (var (name, precision) in new[] { ("float16", WeightPrecision.Float16), ("bfloat16", WeightPrecision.BFloat16) })
        {
            string half = Path.Combine(_dir, $"{name}.ckpt");
            Assert.AreEqual(0, Run("slim", "-c", ckpt, "-o", half, "--dtype", name));
            Assert.AreEqual(precision, Checkpoint.Load(half).Manifest.WeightPrecision);
            Assert.IsTrue(new FileInfo(half).Length < 0.55 * new FileInfo(single).Length, name);
            string outDir = Path.Combine(_dir, name);
            Assert.AreEqual(0, Run("sample", "-c", half, "--classes", "all", "--guidance", "2", "--count", "10", "--steps", "2", "-o", outDir, "--threads", "1"));
            Assert.AreEqual(10, Directory.GetFiles(outDir, "sample_*.png").Length);
        }
        Assert.AreNotEqual(0, Run("slim", "-c", ckpt, "-o", Path.Combine(_dir, "x.ckpt"), "--dtype", "int8"), "an unknown precision is refused");
        Assert.IsFalse(File.Exists(Path.Combine(_dir, "x.ckpt")));
    }

    [TestMethod]
    public void TrainAndSampleDigitsWithGuidance()
    {
        string ckpt = Path.Combine(_dir, "digits.ckpt");
        Assert.AreEqual(0, Run("train", "--dataset", "digits", "--steps", "2", "--batch-size", "8", "--base-channels", "16", "--output", ckpt, "--threads", "1"));
        var manifest = Checkpoint.Load(ckpt).Manifest;
        Assert.AreEqual(10, manifest.ClassNames!.Count);

        string outDir = Path.Combine(_dir, "images");
        Assert.AreEqual(0, Run("sample", "-c", ckpt, "--classes", "all", "--guidance", "2", "--count", "10", "--steps", "3", "--sampler", "ddpm", "-o", outDir, "--threads", "1"));
        Assert.IsTrue(File.Exists(Path.Combine(outDir, "grid.png")));
        Assert.AreEqual(10, Directory.GetFiles(outDir, "sample_*.png").Length);
    }

    [TestMethod]
    public void Img2ImgAndInpaintingFromTheCommandLine()
    {
        string ckpt = Path.Combine(_dir, "digits.ckpt"), known = Path.Combine(_dir, "known"), mask = Path.Combine(_dir, "mask.png");
        Assert.AreEqual(0, Run("train", "--dataset", "digits", "--steps", "2", "--batch-size", "8", "--base-channels", "16", "--output", ckpt, "--threads", "1"));
        Assert.AreEqual(0, Run("sample", "-c", ckpt, "--count", "3", "--steps", "2", "-o", known, "--threads", "1"));
        File.Delete(Path.Combine(known, "grid.png"));
        var maskPixels = Enumerable.Range(0, 64).Select(i => i % 8 < 4 ? 1f : -1f).ToArray(); // left half white = keep
        Data.PngWriter.SaveImage(mask, maskPixels, 1, 8, 8);

        string edited = Path.Combine(_dir, "edited");
        Assert.AreEqual(0, Run("sample", "-c", ckpt, "--init-images", known, "--strength", "0.5", "--count", "3", "--steps", "4", "-o", edited, "--threads", "1"));
        Assert.AreEqual(3, Directory.GetFiles(edited, "sample_*.png").Length);

        string inpainted = Path.Combine(_dir, "inpainted");
        Assert.AreEqual(0, Run("sample", "-c", ckpt, "--init-images", known, "--mask", mask, "--sampler", "ddpm", "--steps", "4", "--jump-length", "2",
            "--resampling", "2", "--count", "3", "-o", inpainted, "--threads", "1"));
        for (int k = 0; k < 3; k++)
        {
            float[] before = Data.ImageFileDecoder.Decode(Path.Combine(known, $"sample_{k:D6}.png"), 1, out _, out _);
            float[] after = Data.ImageFileDecoder.Decode(Path.Combine(inpainted, $"sample_{k:D6}.png"), 1, out _, out _);
            for (int i = 0; i < 64; i++)
                if (maskPixels[i] > 0) Assert.AreEqual(before[i], after[i], 0f, $"image {k}, pixel {i} is known and must come back unchanged");
        }
        Assert.AreEqual(CliApp.InputError, Run("sample", "-c", ckpt, "--init-images", known, "--mask", mask, "--sampler", "dpm-solver++-2m", "-o", inpainted));
        Assert.AreEqual(CliApp.InputError, Run("sample", "-c", ckpt, "--mask", mask, "-o", inpainted));
    }

    [TestMethod]
    public void BenchSamplersTellsDeterministicFromStochasticSamplers()
    {
        string markdown = Path.Combine(_dir, "samplers.md");
        Assert.AreEqual(0, Run("bench", "samplers", "--samplers", "ddim,ddpm", "--steps", "5,50", "--samples", "256", "--markdown", markdown));
        string text = File.ReadAllText(markdown);
        Assert.Contains("| ddim |", text, "DDIM is an exact affine map of x_T");
        Assert.Contains("| ddpm * |", text, "DDPM adds noise, so it is measured on samples");
        Assert.AreEqual(2, text.Split("| ddim |").Length - 1, "one row per data coordinate");
    }

    [TestMethod]
    public void BadInputGivesAnErrorCodeNotACrash()
    {
        Assert.AreEqual(CliApp.InputError, Run("sample", "-c", Path.Combine(_dir, "missing.ckpt")));
        File.WriteAllText(Path.Combine(_dir, "junk.ckpt"), "not a checkpoint");
        Assert.AreEqual(CliApp.InputError, Run("sample", "-c", Path.Combine(_dir, "junk.ckpt")));
        Assert.AreEqual(CliApp.InputError, Run("train", "--dataset", "image-folder", "--output", Path.Combine(_dir, "x.ckpt")));
        Assert.AreNotEqual(0, Run("sample", "-c", "x", "--sampler", "nonsense"), "unknown sampler names are rejected by the parser");
    }
}
