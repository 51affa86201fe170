using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Evaluation;

namespace Diffusion.ML.TorchSharp.Tests.Evaluation;

/// <summary>Tiny feature classifiers and a trivially separable 8x8 image task, fast on 2 CPU cores.</summary>
internal static class TinyClassifiers
{
    public static FeatureClassifierOptions Options { get; } = new()
    {
        ImageSize = 8, StageChannels = [4, 8], FeatureDimension = 16, ClassCount = 3, ConvDropout = 0.1, FeatureDropout = 0.2,
    };

    public static FeatureClassifier Create(int seed = 3)
    {
        TorchSharpRuntime.EnsureLoaded();
        global::TorchSharp.torch.random.manual_seed(seed);
        return new FeatureClassifier(Options);
    }

    /// <summary>
    /// Three classes of noisy 8x8 images that survive flips and shifts: 0 = flat grey, 1 = horizontal stripes,
    /// 2 = vertical stripes (each pixel plus uniform noise of amplitude 0.3).
    /// </summary>
    public static ImageDataset Stripes(int count, int seed)
    {
        var rng = new Random(seed);
        var pixels = new float[count * 64];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int label = labels[i] = i % 3;
            for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
            {
                float clean = label switch { 0 => 0f, 1 => y % 2 == 0 ? 0.8f : -0.8f, _ => x % 2 == 0 ? 0.8f : -0.8f };
                pixels[i * 64 + y * 8 + x] = Math.Clamp(clean + (float)(rng.NextDouble() - 0.5) * 0.6f, -1f, 1f);
            }
        }
        return new ImageDataset(count, 1, 8, 8, pixels, labels, 3, ["flat", "rows", "columns"]);
    }
}
