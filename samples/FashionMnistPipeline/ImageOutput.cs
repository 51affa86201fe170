using Diffusion.ML.Data;
using Diffusion.ML.MLNet;
using Microsoft.ML.Data;
using Microsoft.ML;

namespace FashionMnistPipeline;

/// <summary>Runs a generator over seed-derived requests and writes one PNG per sample plus a labelled grid.</summary>
internal static class ImageOutput
{
    /// <summary>Generates <paramref name="count"/> images (classes cycled) with <paramref name="generator"/> and writes them to <paramref name="folder"/>.</summary>
    public static void Write(MLContext ml, ITransformer generator, IDataView requests, string folder)
    {
        var generated = generator.Transform(requests);
        var files = ml.Diffusion().SaveImages(generated, folder, "Image", new ImageSaveOptions { IndexColumnName = "Index" });
        float[] pixels = generated.GetColumn<float[]>("Image").SelectMany(image => image.Select(v => v / 127.5f - 1f)).ToArray();
        long[] labels = generated.GetColumn<long>("Label").ToArray();
        PngWriter.SaveGrid(Path.Combine(folder, "grid.png"), pixels, files.Count, 1, 28, 28, columns: 10, scale: 2);
        Console.WriteLine($"{files.Count} images in {Path.GetFullPath(folder)} (grid.png: {string.Join(", ", labels.Take(10).Select(l => FashionMnist.ClassNames[(int)l]))}, ...)");
    }
}
