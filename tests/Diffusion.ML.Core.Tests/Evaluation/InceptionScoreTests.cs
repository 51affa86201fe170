using Diffusion.ML.Evaluation;

namespace Diffusion.ML.Core.Tests.Evaluation;

[TestClass]
public sealed class InceptionScoreTests
{
    [TestMethod]
    public void ConfidentBalancedPredictionsScoreTheClassCount()
    {
        const int classes = 10, n = 1000;
        var logits = new float[n * classes];
        for (int i = 0; i < n; i++)
            logits[i * classes + i % classes] = 40f; // p(y|x) one-hot to 1e-16, p(y) uniform: KL = log C
        var (mean, std) = InceptionScore.Compute(logits, classes);
        Assert.AreEqual(classes, mean, 1e-9);
        Assert.AreEqual(0, std, 1e-9);
    }

    [TestMethod]
    public void IdenticalPredictionsScoreOne()
    {
        var logits = Enumerable.Range(0, 200 * 3).Select(i => (float)(i % 3)).ToArray();
        Assert.AreEqual(1.0, InceptionScore.Compute(logits, 3, splits: 4).Mean, 1e-12);
    }

    [TestMethod]
    public void TwoImageCaseMatchesAHandComputation()
    {
        // p1 = (0.8, 0.2), p2 = (0.4, 0.6); marginal (0.6, 0.4).
        // KL1 = 0.8 ln(0.8/0.6) + 0.2 ln(0.2/0.4); KL2 = 0.4 ln(0.4/0.6) + 0.6 ln(0.6/0.4); IS = exp((KL1 + KL2) / 2).
        float[] logits = [MathF.Log(0.8f), MathF.Log(0.2f), MathF.Log(0.4f), MathF.Log(0.6f)];
        double kl1 = 0.8 * Math.Log(0.8 / 0.6) + 0.2 * Math.Log(0.2 / 0.4);
        double kl2 = 0.4 * Math.Log(0.4 / 0.6) + 0.6 * Math.Log(0.6 / 0.4);
        Assert.AreEqual(Math.Exp((kl1 + kl2) / 2), InceptionScore.Compute(logits, 2, splits: 1).Mean, 1e-6);
    }

    [TestMethod]
    public void LogitShiftDoesNotChangeTheScore()
    {
        var random = new Random(5);
        var logits = Enumerable.Range(0, 50 * 4).Select(_ => (float)(3 * random.NextDouble())).ToArray();
        var shifted = logits.Select((v, i) => v + 500f * (i / 4 % 3)).ToArray(); // softmax is shift-invariant per row
        Assert.AreEqual(InceptionScore.Compute(logits, 4, 5).Mean, InceptionScore.Compute(shifted, 4, 5).Mean, 1e-4);
    }

    [TestMethod]
    public void BadInputIsRefused()
    {
        Assert.ThrowsExactly<ArgumentException>(() => InceptionScore.Compute(new float[7], 2, 1));
        Assert.ThrowsExactly<ArgumentException>(() => InceptionScore.Compute(new float[8], 2, splits: 5));
        Assert.ThrowsExactly<ArgumentException>(() => InceptionScore.Compute([0f, float.NaN], 2, 1));
    }
}
