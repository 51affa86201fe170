using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>
/// Measures how close every sampler comes to the data distribution when driven by the exact denoiser of Gaussian data
/// N(mu, s^2) (see <see cref="GaussianDataDenoiser"/>), so sampler error is separated from model error.
/// A deterministic sampler is an affine map x_T -> a x_T + b per coordinate, so its output distribution N(b, a^2) is known
/// exactly from two runs with known x_T (each sample's x_T is <see cref="SampleNoise"/>(seed, index)); a stochastic sampler
/// is measured by the mean and standard deviation of many samples, with their standard errors.
/// </summary>
internal static class SamplerAccuracy
{
    /// <summary>One sampler at one step count, for one data coordinate.</summary>
    /// <param name="Sampler">Sampler name.</param>
    /// <param name="Steps">Listed timesteps.</param>
    /// <param name="Evaluations">Model evaluations per sample.</param>
    /// <param name="Deterministic">True when the output was an exact affine map of x_T.</param>
    /// <param name="MeanError">Output mean minus mu.</param>
    /// <param name="StdError">Output std minus s.</param>
    /// <param name="MeanZ">For stochastic samplers, MeanError / its standard error; 0 otherwise.</param>
    /// <param name="StdZ">For stochastic samplers, StdError / its standard error; 0 otherwise.</param>
    public sealed record Row(string Sampler, int Steps, int Evaluations, bool Deterministic, double MeanError, double StdError, double MeanZ, double StdZ);

    /// <summary>Runs every sampler of <paramref name="samplers"/> at every step count, for data N(mu, s^2) per coordinate.</summary>
    public static List<Row>[] Measure(IReadOnlyList<string> samplers, IReadOnlyList<int> stepCounts, double[] mu, double[] s, TimestepSpacing spacing,
        int stochasticSamples, Action<string> log)
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        var denoiser = new GaussianDataDenoiser(schedule, mu, s);
        var pipeline = new DiffusionPipeline(denoiser, schedule);
        int d = mu.Length;
        var rows = Enumerable.Range(0, d).Select(_ => new List<Row>()).ToArray();
        foreach (string name in samplers)
        foreach (int steps in stepCounts)
        {
            log($"{name} {steps} steps");
            ISampler sampler = Samplers.Create(name);
            var options = new GenerationOptions { NumInferenceSteps = steps, TimestepSpacing = spacing, ClipSample = false, Count = 3, BatchSize = 3 };
            float[] three = pipeline.Generate(sampler, options);
            float[] xT = StartingNoise(options.Seed, 3, d);
            var (slope, intercept, affine) = AffineFit(three, xT, d);
            if (!affine) // stochastic: moments of many samples
                (slope, intercept) = Moments(pipeline.Generate(sampler, options with { Count = stochasticSamples, BatchSize = 512 }), d);
            for (int i = 0; i < d; i++)
            {
                double meanError = intercept[i] - mu[i], stdError = Math.Abs(slope[i]) - s[i];
                double meanZ = affine ? 0 : meanError / (s[i] / Math.Sqrt(stochasticSamples));
                double stdZ = affine ? 0 : stdError / (s[i] / Math.Sqrt(2.0 * (stochasticSamples - 1))); // SE of a normal sample std
                rows[i].Add(new Row(name, steps, sampler.ModelEvaluations(steps), affine, meanError, stdError, meanZ, stdZ));
            }
        }
        return rows;
    }

    private static float[] StartingNoise(long seed, int count, int d)
    {
        var x = new float[count * d];
        for (int k = 0; k < count; k++) new SampleNoise(seed, k).FillStandardNormal(x.AsSpan(k * d, d)); // what the pipeline draws as x_T
        return x;
    }

    /// <summary>Fits y = a x + b per coordinate on samples 0 and 1 and checks it on sample 2.</summary>
    private static (double[] Slope, double[] Intercept, bool Affine) AffineFit(float[] y, float[] x, int d)
    {
        var a = new double[d];
        var b = new double[d];
        bool affine = true;
        for (int i = 0; i < d; i++)
        {
            a[i] = (y[d + i] - (double)y[i]) / (x[d + i] - (double)x[i]);
            b[i] = y[i] - a[i] * x[i];
            double predicted = a[i] * x[2 * d + i] + b[i];
            affine &= Math.Abs(predicted - y[2 * d + i]) <= 1e-4 * (1 + Math.Abs(predicted));
        }
        return (a, b, affine);
    }

    private static (double[] Std, double[] Mean) Moments(float[] samples, int d)
    {
        int n = samples.Length / d;
        var mean = new double[d];
        var std = new double[d];
        for (int i = 0; i < d; i++)
        {
            double sum = 0, sumSq = 0;
            for (int k = 0; k < n; k++) sum += samples[k * d + i];
            mean[i] = sum / n;
            for (int k = 0; k < n; k++) sumSq += (samples[k * d + i] - mean[i]) * (samples[k * d + i] - mean[i]);
            std[i] = Math.Sqrt(sumSq / (n - 1));
        }
        return (std, mean);
    }
}
