using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>
/// PLMS and PNDM (Liu et al. 2022) against the exact probability-flow ODE of Gaussian data N(mu, s^2),
/// x_t = alpha_t mu + sqrt(alpha_t^2 s^2 + sigma_t^2) / sqrt(alpha_T^2 s^2 + sigma_T^2) (x_T - alpha_T mu) in VP coordinates
/// (alpha^2 = abar, sigma^2 = 1 - abar), and against a step-by-step re-implementation of diffusers' PNDMScheduler state machine.
/// </summary>
[TestClass]
public sealed class PseudoNumericalSamplerTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());
    private static readonly double[] Mean = [0.3, -0.5];
    private static readonly double[] Std = [0.5, 1.0];

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("plms")]
    [DataRow("pndm")]
    public void ErrorShrinksWithSecondOrderOnUniformSteps(string name)
    {
        // Uniform steps from t = 980 to 20 (h = 40, 20, 10), measured at the last model input (the state at t = 20, before the
        // final jump to abar = 1). The multistep weights act in t while phi integrates in sigma, so the pseudo methods are of
        // second order here (observed ratios 4.2, 4.1, 4.0), but with errors 40 to 90 times below DDIM's first-order ones.
        int[] intervals = [24, 48, 96];
        var errors = new double[intervals.Length];
        var ddimErrors = new double[intervals.Length];
        for (int c = 0; c < intervals.Length; c++)
        {
            int[] ts = Enumerable.Range(0, intervals[c] + 1).Select(j => 980 - j * (960 / intervals[c])).ToArray();
            errors[c] = LastStateError(Samplers.Create(name), ts);
            ddimErrors[c] = LastStateError(new DdimSampler(), ts);
        }
        TestContext.WriteLine($"{name}: errors {string.Join(", ", errors.Select(e => e.ToString("E2")))}; DDIM {string.Join(", ", ddimErrors.Select(e => e.ToString("E2")))}");
        for (int c = 0; c + 1 < intervals.Length; c++)
        {
            double ratio = errors[c] / errors[c + 1];
            Assert.IsTrue(ratio > 3.5 && ratio < 5, $"error({intervals[c]} steps) / error({intervals[c + 1]} steps) = {ratio}");
            Assert.IsGreaterThan(20 * errors[c], ddimErrors[c], "far more accurate than DDIM at the same step count");
        }
    }

    [TestMethod]
    [DataRow("plms")]
    [DataRow("pndm")]
    public void FullRunsWithLeadingSpacingApproachTheExactSample(string name)
    {
        // diffusers' default leading spacing, down to the clean sample. Observed error ratios when the steps double:
        // 10 -> 20: 3.9 (PLMS) / 4.4 (PNDM), 20 -> 40: 3.6 / 3.6 (errors 0.027 / 0.031 at 10 steps); the steps near t = 0, where
        // sigma(t) bends sharply, and the final jump to abar = 1 pull the ratios below 4 (about 2.7 from 80 to 160 steps).
        int[] counts = [10, 20, 40];
        var errors = new double[counts.Length];
        for (int c = 0; c < counts.Length; c++)
        {
            int[] ts = InferenceTimesteps.Create(1000, counts[c], TimestepSpacing.Leading);
            (float[] xT, float[] x) = SamplingTestKit.RunGaussian(Schedule, Mean, Std, Samplers.Create(name), ts);
            double abar = Schedule.AlphaBar[ts[0]];
            for (int k = 0; k < x.Length; k++)
            {
                double mu = Mean[k % 2], s = Std[k % 2];
                double exact = SamplingTestKit.ExactX0(xT[k], abar, mu, s);
                errors[c] = Math.Max(errors[c], Math.Abs(x[k] - exact));
            }
        }
        TestContext.WriteLine($"{name}: errors {string.Join(", ", errors.Select(e => e.ToString("E2")))}");
        for (int c = 0; c + 1 < counts.Length; c++)
            Assert.IsGreaterThan(3.0, errors[c] / errors[c + 1], $"error({counts[c]}) / error({counts[c + 1]})");
        Assert.IsLessThan(0.05, errors[0], "10 steps already land within 0.05 of the exact sample");
    }

    [TestMethod]
    [DataRow(true, 10)]
    [DataRow(true, 50)]
    [DataRow(false, 10)]
    [DataRow(false, 50)]
    public void MatchesDiffusersPndmSchedulerStepByStep(bool skipPrkSteps, int steps)
    {
        int[] ts = InferenceTimesteps.Create(1000, steps, TimestepSpacing.Leading);
        (float[] xT, float[] x) = SamplingTestKit.RunGaussian(Schedule, Mean, Std, skipPrkSteps ? new PlmsSampler() : new PndmSampler(), ts);
        double[] expected = DiffusersPndm(xT, steps, skipPrkSteps, out int evaluations);
        Assert.AreEqual((skipPrkSteps ? new PlmsSampler() : (ISampler)new PndmSampler()).ModelEvaluations(steps), evaluations);
        for (int k = 0; k < x.Length; k++) Assert.AreEqual(expected[k], x[k], 1e-5, $"value {k}");
    }

    [TestMethod]
    public void ModelEvaluationsAreExact()
    {
        foreach (ISampler sampler in new ISampler[] { new PlmsSampler(), new PndmSampler() })
            foreach (int n in new[] { 1, 2, 3, 4, 5, 10 })
                Assert.AreEqual(sampler.ModelEvaluations(n), CountEvaluations(sampler, n), $"{sampler.Name}, {n} timesteps");
        Assert.AreEqual(51, new PlmsSampler().ModelEvaluations(50));
        Assert.AreEqual(59, new PndmSampler().ModelEvaluations(50), "3 Runge-Kutta steps of 4 evaluations, then 47 multistep steps");
        Assert.AreEqual(9, new PndmSampler().ModelEvaluations(3), "short runs: 2 Runge-Kutta steps, then one multistep step");
    }

    [TestMethod]
    public void BatchSizeNeverChangesASampleAndNamesAreRegistered()
    {
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Schedule, Mean, Std), Schedule);
        foreach (string name in new[] { "plms", "pndm" })
        {
            ISampler sampler = Samplers.Create(name.ToUpperInvariant());
            Assert.AreEqual(name, sampler.Name);
            CollectionAssert.Contains(Samplers.Names.ToList(), name);
            var options = new GenerationOptions { Count = 7, NumInferenceSteps = 12, Seed = 5, ClipSample = false };
            CollectionAssert.AreEqual(pipeline.Generate(sampler, options with { BatchSize = 1 }), pipeline.Generate(sampler, options with { BatchSize = 7 }), name);
        }
    }

    // Max |x - exact| at the last model input, against the exact flow from x_T at ts[0] to the timestep of that input.
    private static double LastStateError(ISampler sampler, int[] ts)
    {
        var recorder = new LastInputDenoiser(new GaussianDataDenoiser(Schedule, Mean, Std));
        var recording = new SamplingTestKit.RecordingSampler(sampler);
        new DiffusionPipeline(recorder, Schedule).Generate(recording, new GenerationOptions { Count = 16, BatchSize = 16, Timesteps = ts, ClipSample = false, Seed = 11 });
        Assert.AreEqual(ts[^1], recorder.Timestep, "the last evaluation is at the last listed timestep");
        double abarT = Schedule.AlphaBar[ts[0]], abar = Schedule.AlphaBar[ts[^1]], error = 0;
        for (int k = 0; k < recorder.Input.Length; k++)
        {
            double mu = Mean[k % 2], s2 = Std[k % 2] * Std[k % 2];
            double exact = Math.Sqrt(abar) * mu + Math.Sqrt((abar * s2 + 1 - abar) / (abarT * s2 + 1 - abarT)) * (recording.Start[k] - Math.Sqrt(abarT) * mu);
            error = Math.Max(error, Math.Abs(recorder.Input[k] - exact));
        }
        return error;
    }

    private static int CountEvaluations(ISampler sampler, int steps)
    {
        var recorder = new LastInputDenoiser(new GaussianDataDenoiser(Schedule, Mean, Std));
        new DiffusionPipeline(recorder, Schedule).Generate(sampler, new GenerationOptions { Count = 2, BatchSize = 2, NumInferenceSteps = steps, ClipSample = false });
        return recorder.Calls;
    }

    /// <summary>
    /// diffusers' PNDMScheduler (set_timesteps with leading spacing, then step per listed timestep, counter-driven; with
    /// set_alpha_to_one=True), re-implemented from its description for the exact Gaussian denoiser, with states in double and
    /// float model inputs like the sampler.
    /// </summary>
    private static double[] DiffusersPndm(float[] xT, int steps, bool skipPrkSteps, out int evaluations)
    {
        var model = new GaussianDataDenoiser(Schedule, Mean, Std);
        int ratio = 1000 / steps, half = ratio / 2;
        int[] ascending = Enumerable.Range(0, steps).Select(k => k * ratio).ToArray();
        int[] prk, plms;
        if (skipPrkSteps)
        {
            prk = [];
            plms = [.. ascending[..^1].Concat(ascending[^2..^1]).Concat(ascending[^1..]).Reverse()];
        }
        else
        {
            int[] pairs = [.. ascending[^4..].SelectMany(t => new[] { t, t + half })];
            int[] doubled = [.. pairs[..^1].SelectMany(t => new[] { t, t })];
            prk = [.. doubled[1..^1].Reverse()];
            plms = [.. ascending[..^3].Reverse()];
        }
        int n = xT.Length;
        double[] sample = xT.Select(v => (double)v).ToArray();
        double[] curModelOutput = new double[n];
        double[]? curSample = null;
        var ets = new List<double[]>();
        int counter = 0;
        evaluations = 0;
        foreach (int timestep in prk.Concat(plms))
        {
            var input = sample.Select(v => (float)v).ToArray();
            var output = new float[n];
            model.Predict(input, Enumerable.Repeat((float)timestep, n / Mean.Length).ToArray(), [], output);
            evaluations++;
            double[] eps = output.Select(v => (double)v).ToArray();
            double[] use;
            if (counter < prk.Length)
            {
                int prev = timestep - (counter % 2 == 1 ? 0 : half);
                int start = prk[counter / 4 * 4];
                switch (counter % 4)
                {
                    case 0:
                        for (int i = 0; i < n; i++) curModelOutput[i] += eps[i] / 6;
                        ets.Add(eps);
                        curSample = sample;
                        use = eps;
                        break;
                    case 1:
                    case 2:
                        for (int i = 0; i < n; i++) curModelOutput[i] += eps[i] / 3;
                        use = eps;
                        break;
                    default:
                        use = new double[n];
                        for (int i = 0; i < n; i++) use[i] = curModelOutput[i] + eps[i] / 6;
                        curModelOutput = new double[n];
                        break;
                }
                sample = PrevSample(curSample ?? sample, start, prev, use);
            }
            else
            {
                int t = timestep, prev = timestep - ratio;
                if (counter != 1)
                {
                    if (ets.Count > 3) ets.RemoveAt(0);
                    ets.Add(eps);
                }
                else
                {
                    prev = timestep;
                    t = timestep + ratio;
                }
                double[] from = sample;
                use = new double[n];
                for (int i = 0; i < n; i++)
                {
                    use[i] = (ets.Count, counter) switch
                    {
                        (1, 0) => eps[i],
                        (1, 1) => (eps[i] + ets[^1][i]) / 2,
                        (2, _) => (3 * ets[^1][i] - ets[^2][i]) / 2,
                        (3, _) => (23 * ets[^1][i] - 16 * ets[^2][i] + 5 * ets[^3][i]) / 12,
                        _ => (55 * ets[^1][i] - 59 * ets[^2][i] + 37 * ets[^3][i] - 9 * ets[^4][i]) / 24,
                    };
                }
                if (ets.Count == 1 && counter == 0) curSample = sample;
                else if (ets.Count == 1 && counter == 1)
                {
                    from = curSample!;
                    curSample = null;
                }
                sample = PrevSample(from, t, prev, use);
            }
            counter++;
        }
        return sample;
    }

    // diffusers' _get_prev_sample with set_alpha_to_one=True.
    private static double[] PrevSample(double[] sample, int t, int prev, double[] eps)
    {
        double a = Schedule.AlphaBar[t], aPrev = prev >= 0 ? Schedule.AlphaBar[prev] : 1.0;
        double sampleCoef = Math.Sqrt(aPrev / a);
        double denominator = a * Math.Sqrt(1 - aPrev) + Math.Sqrt(a * (1 - a) * aPrev);
        return [.. sample.Select((v, i) => sampleCoef * v - (aPrev - a) * eps[i] / denominator)];
    }

    private sealed class LastInputDenoiser(IDenoiser inner) : IDenoiser
    {
        public float[] Input { get; private set; } = [];
        public float Timestep { get; private set; }
        public int Calls { get; private set; }
        public IReadOnlyList<int> SampleShape => inner.SampleShape;
        public PredictionType PredictionType => inner.PredictionType;
        public int ClassCount => inner.ClassCount;
        public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
        {
            Input = x.ToArray();
            Timestep = timesteps[0];
            Calls++;
            inner.Predict(x, timesteps, classLabels, output);
        }
    }
}
