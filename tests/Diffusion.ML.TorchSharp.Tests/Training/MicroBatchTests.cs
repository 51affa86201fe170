using Diffusion.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Training;

[TestClass]
public sealed class MicroBatchTests
{
    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void PassesOfThreeGiveTheGradientAndLossOfTheWholeBatchOfEight(bool learnSigma)
    {
        // The batch's mean loss is linear in the per-image losses, so passes of 3, 3 and 2 weighted 3/8, 3/8 and 2/8 have
        // the whole batch's gradient (no dropout, so no random draw depends on the passes).
        var options = new DdpmTrainerOptions { BatchSize = 8, Seed = 4, ClassDropout = 0.3, MinSnrGamma = 5, GradientClipNorm = 0 };
        var data = TinyModels.Images();
        using var whole = new DdpmTrainer(TinyModels.RandomUNet(learnSigma, seed: 21), data, options);
        using var passes = new DdpmTrainer(TinyModels.RandomUNet(learnSigma, seed: 21), data, options with { MicroBatchSize = 3 });
        double wholeLoss = whole.TrainStep(), passesLoss = passes.TrainStep();
        Assert.AreEqual(wholeLoss, passesLoss, 1e-6 * Math.Abs(wholeLoss));

        var expected = whole.Network.parameters().Select(p => p.grad!.data<float>().ToArray()).ToArray();
        var actual = passes.Network.parameters().Select(p => p.grad!.data<float>().ToArray()).ToArray();
        double largest = expected.SelectMany(g => g).Max(v => Math.Abs(v));
        Assert.IsGreaterThan(1e-3, largest);
        for (int i = 0; i < expected.Length; i++)
            for (int j = 0; j < expected[i].Length; j++)
                Assert.AreEqual(expected[i][j], actual[i][j], 1e-5 * largest, $"parameter {i}, element {j}");
    }

    [TestMethod]
    public void AMicroBatchBelowOneIsRefused()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainerOptions { MicroBatchSize = 0 }.Validate());
        StringAssert.Contains(e.Message, "MicroBatchSize");
    }
}
