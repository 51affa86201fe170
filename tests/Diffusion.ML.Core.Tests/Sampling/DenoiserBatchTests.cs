using Diffusion.ML.Sampling;

namespace Diffusion.ML.Core.Tests.Sampling;

[TestClass]
public sealed class DenoiserBatchTests
{
    private static DelegateDenoiser Denoiser(bool learnsVariance) =>
        new([2, 3], PredictionType.Epsilon, (x, t, labels, output) => { }, classCount: 4, learnsVariance: learnsVariance);

    [TestMethod]
    public void SlicesCoverTheBatchInOrderWithoutOverlap()
    {
        var batch = new DenoiserBatch(Denoiser(false), 7 * 6, 7, 7, 7 * 6);
        CollectionAssert.AreEqual(new[] { (0, 3), (3, 3), (6, 1) }, batch.Slices(3).ToArray());
        CollectionAssert.AreEqual(new[] { (0, 7) }, batch.Slices(int.MaxValue).ToArray());
        Assert.AreEqual(6, batch.SampleLength);
        Assert.AreEqual(12, new DenoiserBatch(Denoiser(true), 7 * 6, 7, 0, 7 * 12).OutputLength, "prediction and variance values");
        Assert.IsEmpty(new DenoiserBatch(Denoiser(false), 0, 0, 0, 0).Slices(3).ToArray());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => batch.Slices(0).ToArray());
    }

    [TestMethod]
    [DataRow(41, 7, 7, 42, "x", "need 42")]
    [DataRow(42, 7, 7, 41, "output", "need 42")]
    [DataRow(42, 7, 3, 42, "classLabels", "one per row")]
    public void LengthsThatDoNotFitAreRefused(int x, int count, int labels, int output, string parameter, string says)
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new DenoiserBatch(Denoiser(false), x, count, labels, output));
        Assert.AreEqual(parameter, e.ParamName);
        StringAssert.Contains(e.Message, says);
    }
}
