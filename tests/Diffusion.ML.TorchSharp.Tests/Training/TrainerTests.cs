using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Training;

[TestClass]
public sealed class TrainerTests
{
    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    public void MinSnrWeightsMatchHangEtAl()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        long[] ts = [0, 100, 500, 999];
        foreach (var type in new[] { PredictionType.Epsilon, PredictionType.VPrediction, PredictionType.Sample })
        {
            using var loss = new DiffusionLoss(schedule, type, minSnrGamma: 5, CPU);
            using var w = loss.Weights(tensor(ts))!;
            for (int i = 0; i < ts.Length; i++)
            {
                double snr = schedule.AlphaBar[(int)ts[i]] / (1 - schedule.AlphaBar[(int)ts[i]]);
                double expected = type switch
                {
                    PredictionType.Epsilon => Math.Min(snr, 5) / snr,
                    PredictionType.VPrediction => Math.Min(snr, 5) / (snr + 1),
                    _ => Math.Min(snr, 5),
                };
                Assert.AreEqual(expected, w[i].item<float>(), 1e-5 * Math.Max(1, expected), $"{type} t={ts[i]}");
            }
        }
    }

    [TestMethod]
    public void VTargetAndNoisedSampleFollowTheirDefinitions()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { BetaSchedule = BetaSchedule.Cosine });
        using var loss = new DiffusionLoss(schedule, PredictionType.VPrediction, null, CPU);
        using var x0 = tensor(new[] { 0.5f, -0.25f }, [2, 1]);
        using var eps = tensor(new[] { -1.0f, 2.0f }, [2, 1]);
        using var t = tensor(new long[] { 10, 700 });
        using var xt = loss.AddNoise(x0, t, eps);
        using var v = loss.Target(x0, t, eps);
        double[] x0v = [0.5, -0.25], epsv = [-1, 2];
        int[] tv = [10, 700];
        for (int i = 0; i < 2; i++)
        {
            double a = Math.Sqrt(schedule.AlphaBar[tv[i]]), s = Math.Sqrt(1 - schedule.AlphaBar[tv[i]]);
            Assert.AreEqual(a * x0v[i] + s * epsv[i], xt[i, 0].item<float>(), 1e-6);
            Assert.AreEqual(a * epsv[i] - s * x0v[i], v[i, 0].item<float>(), 1e-6);
        }
    }

    [TestMethod]
    public void EmaDecayWarmsUpThenCaps()
    {
        using var model = TinyModels.Mlp();
        using var ema = new ExponentialMovingAverage(model, 0.999, CPU);
        Assert.AreEqual(0.1, ema.DecayAt(0), 1e-12);
        Assert.AreEqual(11.0 / 20, ema.DecayAt(10), 1e-12);
        Assert.AreEqual(0.999, ema.DecayAt(1_000_000), 1e-12);

        // One update: ema = d ema + (1 - d) theta, checked on the first parameter.
        var p = model.parameters().First();
        var before = ema.Model.parameters().First().clone();
        using (no_grad()) p.add_(1.0);
        ema.Update(10);
        var expected = before * (11.0 / 20) + p * (9.0 / 20);
        Assert.IsTrue(ema.Model.parameters().First().allclose(expected, rtol: 1e-6, atol: 1e-6));
    }

    [TestMethod]
    public void DataOrderIsAPermutationPerEpochAndIndependentOfHistory()
    {
        var order = new DataOrder(10, 4, seed: 3);
        var seen = new List<int>();
        var batch = new int[4];
        for (long step = 0; step < 5; step++) { order.BatchIndices(step, batch); seen.AddRange(batch); }
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).ToArray(), seen.Take(10).ToArray(), "epoch 0 visits every example once");
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).ToArray(), seen.Skip(10).Take(10).ToArray(), "epoch 1 too");
        var fresh = new DataOrder(10, 4, seed: 3);
        fresh.BatchIndices(3, batch);
        CollectionAssert.AreEqual(seen.Skip(12).Take(4).ToArray(), batch, "step 3 does not depend on earlier calls");
    }

    [TestMethod]
    public void MlpLearnsAGaussianAndTheSamplerReturnsIt()
    {
        // 2-D N((1, -1), 0.1^2 I): after a short run the DDIM samples' mean must be near (1, -1), far from the prior's 0.
        var options = new DdpmTrainerOptions { BatchSize = 128, LearningRate = 3e-3, WarmupSteps = 20, EmaDecay = 0.99, ClassDropout = 0, Seed = 1 };
        torch.manual_seed(0);
        using var trainer = new DdpmTrainer(TinyModels.Mlp(), TinyModels.Points(2048), options);
        double first = trainer.TrainStep();
        trainer.Train(400);
        double last = Enumerable.Range(0, 10).Select(_ => trainer.TrainStep()).Average();
        Assert.IsTrue(last < 0.5 * first, $"loss fell from {first} to {last}");

        var denoiser = new TorchSharpDenoiser(trainer.Ema.Model, options.PredictionType);
        float[] x = new DiffusionPipeline(denoiser, trainer.Schedule).Generate(new DdimSampler(),
            new GenerationOptions { Count = 256, BatchSize = 256, NumInferenceSteps = 50, ClipSample = false });
        double mx = Enumerable.Range(0, 256).Average(i => x[2 * i]), my = Enumerable.Range(0, 256).Average(i => x[2 * i + 1]);
        Assert.AreEqual(1.0, mx, 0.15);
        Assert.AreEqual(-1.0, my, 0.15);
    }

    [TestMethod]
    public void UNetSamplesDoNotDependOnTheBatchSize()
    {
        torch.manual_seed(3);
        using var trainer = new DdpmTrainer(TinyModels.UNet(), TinyModels.Images(), new DdpmTrainerOptions { BatchSize = 8, LearningRate = 1e-3, Seed = 2 });
        trainer.Train(2); // moves the zero-initialised output layer off zero
        var pipeline = new DiffusionPipeline(new TorchSharpDenoiser(trainer.Ema.Model, PredictionType.Epsilon), trainer.Schedule);
        var options = new GenerationOptions { Count = 5, NumInferenceSteps = 4, ClassLabels = [0, 2], GuidanceScale = 2, Seed = 9 };
        float[] a = pipeline.Generate(new DdimSampler(1.0), options with { BatchSize = 5 });
        float[] b = pipeline.Generate(new DdimSampler(1.0), options with { BatchSize = 2 });
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(a[i], b[i], 1e-5, $"value {i}");
    }

    [TestMethod]
    public void MismatchedDataIsRefusedBeforeTraining()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainer(TinyModels.UNet(), TinyModels.Points(), new DdpmTrainerOptions()));
        StringAssert.Contains(ex.Message, "network expects");
        var unlabeled = new ImageDataset(4, 1, 8, 8, new float[256]);
        ex = Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainer(TinyModels.UNet(), unlabeled, new DdpmTrainerOptions()));
        StringAssert.Contains(ex.Message, "no labels");
        Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainerOptions { LearningRate = -1 }.Validate());
    }
}
