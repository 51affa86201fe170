using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>
/// Every deterministic sampler, given an explicit list of all 1000 training timesteps, against the closed-form solution of
/// the probability-flow ODE for Gaussian data (computed here, independently of the sampler code): from x_T at t = 999 the
/// exact map is x_0 = mu + s (x_T - sqrt(abar) mu) / sqrt(abar s^2 + 1 - abar) (Song et al. 2021, eq. 13, for N(mu, s^2)).
/// </summary>
[TestClass]
public sealed class ExplicitTimestepsTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());
    private static readonly double[] Mu = [0.3, -0.2];
    private static readonly double[] S = [0.5, 0.1];

    [TestMethod]
    public void EveryDeterministicSamplerFollowsTheExactOdeOnAnExplicitFineGrid()
    {
        int[] all = Enumerable.Range(0, 1000).Reverse().ToArray();
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Schedule, Mu, S), Schedule);
        var samplers = new (string Name, ISampler Sampler)[]
        {
            ("ddim", new DdimSampler()), ("dpm-solver++-2m", new DpmSolverPlusPlusSampler(2)), ("dpm-solver++-3m", new DpmSolverPlusPlusSampler(3)),
            ("unipc", new UniPcSampler()), ("plms", new PlmsSampler()), ("pndm", new PndmSampler()),
            ("euler on the listed sigmas", new EulerSampler(useKarrasSigmas: false)), ("heun on the listed sigmas", new HeunSampler(useKarrasSigmas: false)),
        };
        double abar = Schedule.AlphaBar[999];
        foreach (var (name, sampler) in samplers)
        {
            var options = new GenerationOptions { Count = 2, BatchSize = 2, Timesteps = all, ClipSample = false, Seed = 7 };
            float[] y = pipeline.Generate(sampler, options);
            for (int k = 0; k < 2; k++)
            {
                var xT = new float[2];
                new SampleNoise(options.Seed, k).FillStandardNormal(xT); // the pipeline's x_T of sample k
                for (int i = 0; i < 2; i++)
                {
                    double exact = SamplingTestKit.ExactX0(xT[i], abar, Mu[i], S[i]);
                    Assert.AreEqual(exact, y[k * 2 + i], 4e-3 * (1 + Math.Abs(xT[i])), $"{name}, sample {k}, coordinate {i}");
                }
            }
        }
    }
}
