using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Tests.Training;
using Diffusion.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Native;

/// <summary>
/// The library's forward passes and training steps under a thread that keeps collecting garbage: before their additions
/// went through <see cref="Layers.Add"/> (and the optimizer through <see cref="ScalarSafe.AdamW"/>), TorchSharp's
/// finalizer-owned scalars failed them with "Expected false to be true ... toFloat" (the DiT's sampling forward after
/// about 1,700 calls, the VAE's training after about 450 steps, TorchSharp's AdamW within a second). The suite runs them
/// briefly; <c>DIFFUSION_ML_STRESS=1</c> runs each for at least a minute, which is what catches a new finalizer-owned
/// scalar in a forward pass:
/// <c>DIFFUSION_ML_STRESS=1 dotnet test tests/Diffusion.ML.TorchSharp.Tests --filter "FullyQualifiedName~ScalarLifetime"</c>.
/// </summary>
[TestClass]
public sealed class ScalarLifetimeTests
{
    [TestInitialize]
    public void LoadTorch()
    {
        TorchSharpRuntime.EnsureLoaded();
        set_num_threads(1);
    }

    /// <summary>Runs <paramref name="body"/> <paramref name="count"/> times, and on for a minute under DIFFUSION_ML_STRESS=1.</summary>
    private static void Repeat(int count, Action<int> body)
    {
        bool stress = Environment.GetEnvironmentVariable("DIFFUSION_ML_STRESS") == "1";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < count || (stress && clock.Elapsed < TimeSpan.FromMinutes(1)); i++) body(i);
    }

    private static DenoiserNetwork Network(string kind)
    {
        if (kind == "unet")
        {
            var unet = TinyModels.RandomUNet(seed: 8);
            unet.eval();
            return unet;
        }
        manual_seed(8);
        var dit = new Dit(new DitOptions { ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 32, Depth = 2, Heads = 2, ClassCount = 3 });
        using (no_grad())
            foreach (var p in dit.parameters()) p.normal_(0, 0.2); // no zero-initialised layer: every path computes
        dit.eval();
        return dit;
    }

    [TestMethod]
    [DataRow("dit", 600)]
    [DataRow("unet", 120)]
    public void SamplingForwardPassesGiveTheSamePredictionsWhileCollecting(string kind, int calls)
    {
        using var network = Network(kind);
        var denoiser = new TorchSharpDenoiser(network, PredictionType.Epsilon);
        var x = Enumerable.Range(0, 4 * 64).Select(i => (float)Math.Sin(i)).ToArray();
        float[] t = [10, 200, 500, 900];
        int[] labels = [0, 1, 2, 3];
        var quiet = new float[x.Length];
        denoiser.Predict(x, t, labels, quiet);
        var output = new float[x.Length];
        using (new CollectingThread())
            Repeat(calls, call =>
            {
                denoiser.Predict(x, t, labels, output);
                CollectionAssert.AreEqual(quiet, output, $"call {call}");
            });
    }

    [TestMethod]
    public void TrainingStepsGiveTheSameWeightsWhileCollecting()
    {
        static DdpmTrainer Trainer()
        {
            var network = Network("dit");
            network.train();
            // Micro-batches and min-SNR weights: the loss's scaling and clamping run too.
            return new DdpmTrainer(network, TinyModels.Images(), new DdpmTrainerOptions { BatchSize = 8, Seed = 2, MicroBatchSize = 4, MinSnrGamma = 5 });
        }
        static float[] Weights(DdpmTrainer trainer) => [.. trainer.Ema.Model.parameters().SelectMany(p => p.data<float>().ToArray())];

        using var collected = Trainer();
        using (new CollectingThread()) Repeat(40, _ => collected.TrainStep());
        using var quiet = Trainer();
        while (quiet.Step < collected.Step) quiet.TrainStep();
        CollectionAssert.AreEqual(Weights(quiet), Weights(collected), $"after {collected.Step} steps");
    }
}
