using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>Pieces the sampler tests share: the closed-form Gaussian flow, a recording sampler, a synchronous progress.</summary>
internal static class SamplingTestKit
{
    /// <summary>
    /// x_0 = mu + s (x_t - sqrt(abar) mu) / sqrt(abar s^2 + 1 - abar): the probability-flow ODE map of data N(mu, s^2) from
    /// x_t at alpha-bar <paramref name="abar"/> to the clean sample (Song et al. 2021, eq. 13, solved for Gaussian data).
    /// </summary>
    public static double ExactX0(double xT, double abar, double mu, double s) =>
        mu + s * (xT - Math.Sqrt(abar) * mu) / Math.Sqrt(abar * s * s + 1 - abar);

    /// <summary>16 samples (seed 11, no clipping) of the exact denoiser of N(mean, std^2) on the given timesteps, with their x_T.</summary>
    public static (float[] XT, float[] X) RunGaussian(NoiseSchedule schedule, double[] mean, double[] std, ISampler sampler, int[] timesteps)
    {
        var recording = new RecordingSampler(sampler);
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(schedule, mean, std), schedule);
        float[] x = pipeline.Generate(recording, new GenerationOptions { Count = 16, BatchSize = 16, Timesteps = timesteps, ClipSample = false, Seed = 11 });
        return (recording.Start, x);
    }

    /// <summary>Passes the run to <paramref name="inner"/>, keeping a copy of x_T.</summary>
    public sealed class RecordingSampler(ISampler inner) : ISampler
    {
        public float[] Start { get; private set; } = [];
        public string Name => inner.Name;
        public int ModelEvaluations(int timestepCount) => inner.ModelEvaluations(timestepCount);
        public void Sample(SamplingContext context, Span<float> x)
        {
            Start = x.ToArray();
            inner.Sample(context, x);
        }
    }

    /// <summary>Reports on the caller's thread (unlike <see cref="Progress{T}"/>, which posts to the thread pool).</summary>
    public sealed class SynchronousProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
