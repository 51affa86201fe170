using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>Small synthetic image rows (8x8 grayscale in [0, 255], three classes of smooth patterns) for fast pipeline tests.</summary>
[TestClass]
public static class TestData
{
    /// <summary>One TorchSharp thread: the test machines are small and ONNX Runtime runs beside it.</summary>
    [AssemblyInitialize]
    public static void UseOneTorchThread(TestContext _)
    {
        Diffusion.ML.TorchSharp.TorchSharpRuntime.EnsureLoaded();
        torch.set_num_threads(1);
    }

    public sealed class ImageRow
    {
        [VectorType(64)]
        public float[] Pixels { get; set; } = [];

        public uint Label { get; set; }
    }

    /// <summary>Row i: class i mod 3; a horizontal, vertical or diagonal wave with a row-dependent phase.</summary>
    public static List<ImageRow> Rows(int count) => Enumerable.Range(0, count).Select(i =>
    {
        int cls = i % 3;
        var pixels = new float[64];
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
            {
                double u = cls switch { 0 => x, 1 => y, _ => x + y };
                pixels[y * 8 + x] = (float)Math.Round(127.5 + 127.5 * Math.Sin(0.8 * u + 0.37 * i));
            }
        return new ImageRow { Pixels = pixels, Label = (uint)cls };
    }).ToList();

    public static IDataView Images(MLContext ml, int count) => ml.Data.LoadFromEnumerable(Rows(count));

    public static float[][] Column(IDataView data, string name) => data.GetColumn<float[]>(name).ToArray();
}
