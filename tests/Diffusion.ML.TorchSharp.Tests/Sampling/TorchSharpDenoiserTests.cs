using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Tests.Training;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Sampling;

[TestClass]
public sealed class TorchSharpDenoiserTests
{
    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    private static UNet RandomUNet(bool learnSigma)
    {
        var net = TinyModels.RandomUNet(learnSigma);
        net.eval();
        return net;
    }

    [TestMethod]
    [DataRow(false, true)]
    [DataRow(true, true)]
    [DataRow(false, false)]
    public void SlicedEvaluationGivesEachRowItsOwnPrediction(bool learnSigma, bool labelled)
    {
        // Each row's prediction from a call of one row is what a batch of 7 evaluated in slices of 3 gives for that row.
        using var net = RandomUNet(learnSigma);
        const int batch = 7, d = 64;
        int outputLength = learnSigma ? 2 * d : d;
        var random = new Random(5);
        var x = Enumerable.Range(0, batch * d).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var t = Enumerable.Range(0, batch).Select(i => 100f * i + 7).ToArray();
        int[] labels = labelled ? [0, 1, 2, 3, 0, 1, 2] : []; // 3 = the null class
        var sliced = new float[batch * outputLength];
        new TorchSharpDenoiser(net, PredictionType.Epsilon) { MaxEvaluationBatch = 3 }.Predict(x, t, labels, sliced);

        var single = new TorchSharpDenoiser(net, PredictionType.Epsilon);
        var row = new float[outputLength];
        for (int i = 0; i < batch; i++)
        {
            single.Predict(x.AsSpan(i * d, d), t.AsSpan(i, 1), labelled ? labels.AsSpan(i, 1) : [], row);
            for (int j = 0; j < outputLength; j++)
                Assert.AreEqual(row[j], sliced[i * outputLength + j], 1e-5, $"row {i}, value {j}");
        }
        Assert.IsGreaterThan(0.01, sliced.Select(Math.Abs).Average(), "the network predicts something");
    }

    [TestMethod]
    public void CpuEvaluatesInSlicesOf64AndTheSliceMustBePositive()
    {
        using var net = RandomUNet(false);
        Assert.AreEqual(TorchSharpRuntime.CpuBatchSize, new TorchSharpDenoiser(net, PredictionType.Epsilon).MaxEvaluationBatch);
        Assert.AreEqual(64, TorchSharpRuntime.CpuBatchSize);
        Assert.AreEqual(TorchSharpRuntime.CpuBatchSize, TorchSharpDenoiser.DefaultMaxEvaluationBatch(CPU));
        Assert.AreEqual(int.MaxValue, TorchSharpDenoiser.DefaultMaxEvaluationBatch(new Device(global::TorchSharp.DeviceType.CUDA, 0)), "a GPU evaluates a batch in one call");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TorchSharpDenoiser(net, PredictionType.Epsilon) { MaxEvaluationBatch = 0 });
    }

    [TestMethod]
    public void WrongLengthsAreRefusedWithTheExpectedCount()
    {
        using var net = RandomUNet(false);
        var denoiser = new TorchSharpDenoiser(net, PredictionType.Epsilon);
        var e = Assert.ThrowsExactly<ArgumentException>(() => denoiser.Predict(new float[127], new float[2], [], new float[128]));
        StringAssert.Contains(e.Message, "need 128");
        e = Assert.ThrowsExactly<ArgumentException>(() => denoiser.Predict(new float[128], new float[2], [], new float[64]));
        StringAssert.Contains(e.Message, "need 128");
        e = Assert.ThrowsExactly<ArgumentException>(() => denoiser.Predict(new float[128], new float[2], [1], new float[128]));
        StringAssert.Contains(e.Message, "one per row");
    }
}
