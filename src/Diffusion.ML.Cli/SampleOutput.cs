using System.Globalization;
using Diffusion.ML.Data;

namespace Diffusion.ML.Cli;

/// <summary>Writes generated samples: a PNG grid plus one PNG per image, or a CSV for points.</summary>
internal static class SampleOutput
{
    /// <summary>Grids narrower than this are magnified (nearest neighbour) so that 8x8 or 28x28 samples stay visible.</summary>
    private const int MinimumGridWidth = 300;

    /// <summary>Writes <paramref name="samples"/> (values in [-1, 1]) of the given shape; returns the main file written.</summary>
    public static string Write(string directory, float[] samples, IReadOnlyList<int> shape, long firstIndex, int? columns, bool singles)
    {
        Directory.CreateDirectory(directory);
        int length = shape.Aggregate(1, (a, b) => a * b), count = samples.Length / length;
        if (shape.Count != 3 || shape[1] == 1 && shape[2] == 1)
        {
            string csv = Path.Combine(directory, "samples.csv");
            AtomicFile.Write(csv, stream =>
            {
                using var writer = new StreamWriter(stream, leaveOpen: true);
                writer.WriteLine(string.Join(",", Enumerable.Range(0, length).Select(i => $"x{i}")));
                for (int k = 0; k < count; k++)
                    writer.WriteLine(string.Join(",", samples.AsSpan(k * length, length).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            });
            return csv;
        }
        int c = shape[0], h = shape[1], w = shape[2];
        string grid = Path.Combine(directory, "grid.png");
        int gridColumns = columns ?? (int)Math.Ceiling(Math.Sqrt(count));
        int gridWidth = Math.Min(gridColumns, count) * (w + 2) + 2;
        PngWriter.SaveGrid(grid, samples, count, c, h, w, gridColumns, scale: Math.Max(1, MinimumGridWidth / gridWidth));
        if (singles)
            for (int k = 0; k < count; k++)
                PngWriter.SaveImage(Path.Combine(directory, $"sample_{firstIndex + k:D6}.png"), samples.AsSpan(k * length, length), c, h, w);
        return grid;
    }
}
