using Diffusion.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>Images in and out: ML.NET's LoadImages/ExtractPixels/ConvertToImage around our columns, and SaveImages.</summary>
[TestClass]
public sealed class ImageIoTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-mlnet-images").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private sealed class ImageFile
    {
        public string Path { get; set; } = "";
    }

    [TestMethod]
    public void SavedPngsLoadBackThroughLoadImagesAndExtractPixelsWithTheSamePixels()
    {
        var ml = new MLContext();
        var rows = TestData.Rows(5);
        var files = ml.Diffusion().SaveImages(TestData.Images(ml, 5), _dir, "Pixels");
        CollectionAssert.AreEqual(Enumerable.Range(0, 5).Select(i => Path.Combine(_dir, $"image_{i:D6}.png")).ToArray(), files.ToArray());

        var images = ml.Data.LoadFromEnumerable(files.Select(f => new ImageFile { Path = f }));
        // LoadImages gives images of unknown size; ResizeImages fixes it (a no-op here), as ExtractPixels needs.
        var pixels = ml.Transforms.LoadImages("Image", imageFolder: null, "Path")
            .Append(ml.Transforms.ResizeImages("Image", 8, 8))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", ImagePixelExtractingEstimator.ColorBits.Red))
            .Fit(images).Transform(images);
        var read = TestData.Column(pixels, "Pixels");
        for (int i = 0; i < 5; i++) CollectionAssert.AreEqual(rows[i].Pixels, read[i], $"image {i}: the test rows hold whole bytes, so they survive PNG exactly");

        // An ExtractPixels column goes straight into our components (here the noise scheduler).
        var noisy = ml.Diffusion().AddNoise("Pixels", new NoiseSchedulerOptions { Seed = 3 }).Fit(pixels).Transform(pixels);
        Assert.AreEqual(5, TestData.Column(noisy, "Noisy").Length);
    }

    [TestMethod]
    public void MapsThePixelRangeRoundsAndClamps()
    {
        var ml = new MLContext();
        float[] values = [-1f, -0.5f, 0f, 0.2f, 0.5f, 1f, 1.5f, float.NaN, 0.999f];
        var data = ml.Data.LoadFromEnumerable(new[] { new Row9 { Image = values } });
        string file = ml.Diffusion().SaveImages(data, _dir, "Image", new ImageSaveOptions { PixelRange = PixelRange.Symmetric, FileNamePrefix = "x" }).Single();
        Assert.AreEqual("x000000.png", Path.GetFileName(file));
        float[] decoded = ImageFileDecoder.Decode(file, 1, out int width, out int height);
        Assert.AreEqual((3, 3), (width, height));
        // round((v + 1) * 127.5) clamped to 0..255; NaN is black. Decoded back to [-1, 1] as b / 127.5 - 1.
        byte[] expected = [0, 64, 128, 153, 191, 255, 255, 0, 255];
        for (int k = 0; k < 9; k++) Assert.AreEqual(expected[k] / 127.5f - 1f, decoded[k], 1e-6f, $"value {values[k]}");
    }

    private sealed class Row9
    {
        [VectorType(1, 3, 3)]
        public float[] Image { get; set; } = [];
    }

    [TestMethod]
    public void SavesMLImageColumnsFromConvertToImage()
    {
        var ml = new MLContext();
        var rows = TestData.Rows(3);
        // ConvertToImage reads three planes; give it the same gray plane thrice.
        var gray = ml.Data.LoadFromEnumerable(rows.Select(r => new RgbRow { Pixels = [.. r.Pixels, .. r.Pixels, .. r.Pixels] }));
        var images = ml.Transforms.ConvertToImage(8, 8, "Image", "Pixels").Fit(gray).Transform(gray);
        var files = ml.Diffusion().SaveImages(images, _dir, "Image");
        for (int i = 0; i < 3; i++)
        {
            float[] rgb = ImageFileDecoder.Decode(files[i], 3, out _, out _);
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 64; p++)
                    Assert.AreEqual(rows[i].Pixels[p] / 127.5f - 1f, rgb[c * 64 + p], 1e-6f, $"image {i} channel {c} pixel {p}");
        }
    }

    private sealed class RgbRow
    {
        [VectorType(3, 8, 8)]
        public float[] Pixels { get; set; } = [];
    }

    [TestMethod]
    public void NamesFilesByTheIndexColumn()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(new[] { new IndexedRow { Index = 17, Pixels = new float[64] }, new IndexedRow { Index = 4, Pixels = new float[64] } });
        var files = ml.Diffusion().SaveImages(data, _dir, "Pixels", new ImageSaveOptions { IndexColumnName = "Index" });
        CollectionAssert.AreEqual(new[] { "image_000017.png", "image_000004.png" }, files.Select(Path.GetFileName).ToArray());
        Assert.IsTrue(files.All(File.Exists));
        Assert.IsEmpty(Directory.GetFiles(_dir, "*.tmp*"), "no temporary files are left");
    }

    private sealed class IndexedRow
    {
        public long Index { get; set; }

        [VectorType(64)]
        public float[] Pixels { get; set; } = [];
    }

    [TestMethod]
    public void RefusesWhatIsNotAnImage()
    {
        var ml = new MLContext();
        var data = TestData.Images(ml, 2);
        var missing = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().SaveImages(data, _dir, "Picture"));
        StringAssert.Contains(missing.Message, "'Pixels'");
        var channels = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().SaveImages(data, _dir, "Pixels", new ImageSaveOptions { ImageShape = [4, 4, 4] }));
        StringAssert.Contains(channels.Message, "1 or 3 channels");
        var index = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().SaveImages(data, _dir, "Pixels", new ImageSaveOptions { IndexColumnName = "Label" }));
        StringAssert.Contains(index.Message, "Int64");
        Assert.IsEmpty(Directory.GetFiles(_dir), "nothing is written when the arguments are wrong");
    }

    [TestMethod]
    public void OnnxTransformersRunWhereTheMLContextSays()
    {
        // MLContext.GpuDeviceId reaches the ONNX Runtime sessions of our transformers (they are ML.NET OnnxTransformers):
        // this CPU-only build has no CUDA provider, so asking for GPU 0 fails. With the CUDA build (docs/gpu.md) it runs there.
        var data = TestData.Images(new MLContext(), 2);
        var gpu = new MLContext { GpuDeviceId = 0, FallbackToCpu = false };
        var error = Assert.Throws<Exception>(() => gpu.Diffusion().AddNoise("Pixels").Fit(data));
        StringAssert.Contains(error.ToString(), "CUDA");
        Assert.AreEqual(2, TestData.Column(new MLContext().Diffusion().AddNoise("Pixels").Fit(data).Transform(data), "Noisy").Length);
    }
}
