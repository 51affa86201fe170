using Diffusion.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace FashionMnistPipeline;

/// <summary>Fashion-MNIST as an ML.NET <see cref="IDataView"/>: 784 pixels in [0, 255] (as ExtractPixels writes) and the category name.</summary>
internal static class FashionMnistData
{
    public sealed class Row
    {
        /// <summary>The 28x28 grayscale image, row-major, values 0..255.</summary>
        [VectorType(1, 28, 28)]
        public float[] Pixels { get; set; } = [];

        /// <summary>The category, e.g. "Sneaker".</summary>
        public string Category { get; set; } = "";
    }

    /// <summary>The first <paramref name="rows"/> training images of the IDX files in <paramref name="directory"/>.</summary>
    public static IDataView Load(MLContext ml, string directory, int rows)
    {
        var data = FashionMnist.Load(directory, train: true);
        int count = Math.Min(rows, data.Count);
        return ml.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new Row
        {
            // The reader scales bytes b to b / 127.5 - 1; this maps them back exactly.
            Pixels = data.GetImage(i).ToArray().Select(v => MathF.Round((v + 1f) * 127.5f)).ToArray(),
            Category = FashionMnist.ClassNames[data.Labels![i]],
        }));
    }

    /// <summary>The category names in class order, as the key values of the label column (key k + 1 = class k).</summary>
    public static IDataView CategoryKeys(MLContext ml) =>
        ml.Data.LoadFromEnumerable(FashionMnist.ClassNames.Select(name => new CategoryName { Category = name }));

    private sealed class CategoryName
    {
        public string Category { get; set; } = "";
    }
}
