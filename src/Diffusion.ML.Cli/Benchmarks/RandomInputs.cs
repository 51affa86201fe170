using Diffusion.ML.Sampling;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>Random inputs for timing networks (their speed does not depend on the values).</summary>
internal static class RandomInputs
{
    /// <summary><paramref name="count"/> values drawn uniformly from [-1, 1].</summary>
    public static float[] Uniform(Random rng, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>
    /// One <see cref="IDenoiser.Predict"/> call on <paramref name="rows"/> rows of <paramref name="denoiser"/>'s shape: samples
    /// uniform in [-1, 1], timesteps uniform in 0..999, labels cycled over its classes (none if unconditional).
    /// </summary>
    public static PredictCall Predict(IDenoiser denoiser, int rows, Random rng)
    {
        int size = denoiser.SampleShape.Aggregate(1, (a, b) => a * b);
        var x = Uniform(rng, rows * size);
        var t = Enumerable.Range(0, rows).Select(_ => (float)rng.Next(1000)).ToArray();
        int[] labels = denoiser.ClassCount > 0 ? [.. Enumerable.Range(0, rows).Select(i => i % denoiser.ClassCount)] : [];
        return new PredictCall(x, t, labels, new float[rows * (denoiser.LearnsVariance ? 2 * size : size)]);
    }

    /// <summary>The arrays of one <see cref="IDenoiser.Predict"/> call, the output included.</summary>
    public sealed record PredictCall(float[] X, float[] Timesteps, int[] Labels, float[] Output)
    {
        /// <summary>Runs the call on <paramref name="denoiser"/> (any denoiser of the same shape and classes).</summary>
        public void Run(IDenoiser denoiser) => denoiser.Predict(X, Timesteps, Labels, Output);
    }
}
