using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;

namespace Diffusion.ML.TorchSharp.Tests.Training;

/// <summary>
/// TorchSharp frees native memory only when a tensor is disposed: the count of live tensors (TorchSharp's own statistics of
/// this thread) must not grow with training steps or sampler evaluations.
/// </summary>
[TestClass]
public sealed class TensorLeakTests
{
    private static long LiveTensors() => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    [TestMethod]
    public void TheCounterSeesATensorThatIsNotDisposed()
    {
        TorchSharpRuntime.EnsureLoaded();
        long before = LiveTensors();
        var leaked = torch.zeros(3);
        Assert.AreEqual(before + 1, LiveTensors(), "so the tests below can fail");
        leaked.Dispose();
        Assert.AreEqual(before, LiveTensors());
    }

    [TestMethod]
    public void TrainingStepsLeaveNoTensorsBehind()
    {
        TorchSharpRuntime.EnsureLoaded();
        using var trainer = new DdpmTrainer(TinyModels.UNet(), TinyModels.Images(), new DdpmTrainerOptions { BatchSize = 8, Seed = 3 });
        for (int i = 0; i < 3; i++) trainer.TrainStep(); // optimizer state and EMA copies are created in the first steps
        long before = LiveTensors();
        for (int i = 0; i < 20; i++) trainer.TrainStep();
        Assert.AreEqual(before, LiveTensors(), "live tensors after 20 more training steps");
    }

    [TestMethod]
    public void SamplerEvaluationsLeaveNoTensorsBehind()
    {
        TorchSharpRuntime.EnsureLoaded();
        using var network = TinyModels.UNet();
        network.eval();
        var denoiser = new TorchSharpDenoiser(network, PredictionType.Epsilon);
        var pipeline = new DiffusionPipeline(denoiser, new Schedules.NoiseSchedule(new Schedules.NoiseScheduleOptions()));
        var options = new GenerationOptions { Count = 4, BatchSize = 4, NumInferenceSteps = 3, ClassLabels = [0, 1, 2], GuidanceScale = 2 };
        pipeline.Generate(new DdimSampler(), options);
        long before = LiveTensors();
        pipeline.Generate(new DdimSampler(), options with { NumInferenceSteps = 20 });
        Assert.AreEqual(before, LiveTensors(), "live tensors after 20 more guided evaluations");
    }
}
