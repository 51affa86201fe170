using Diffusion.ML.Sampling;

namespace Diffusion.ML.Core.Tests.Sampling;

[TestClass]
public sealed class InferenceTimestepsTests
{
    // Expected lists are those of diffusers' set_timesteps (Lin et al. 2024, Table 2) for T = 1000.
    [TestMethod]
    public void SpacingsMatchTheReferenceConvention()
    {
        CollectionAssert.AreEqual(new[] { 900, 800, 700, 600, 500, 400, 300, 200, 100, 0 }, InferenceTimesteps.Create(1000, 10, TimestepSpacing.Leading));
        CollectionAssert.AreEqual(new[] { 901, 801, 701, 601, 501, 401, 301, 201, 101, 1 }, InferenceTimesteps.Create(1000, 10, TimestepSpacing.Leading, stepsOffset: 1));
        CollectionAssert.AreEqual(new[] { 999, 899, 799, 699, 599, 499, 399, 299, 199, 99 }, InferenceTimesteps.Create(1000, 10, TimestepSpacing.Trailing));
        CollectionAssert.AreEqual(new[] { 999, 888, 777, 666, 555, 444, 333, 222, 111, 0 }, InferenceTimesteps.Create(1000, 10, TimestepSpacing.Linspace));
        CollectionAssert.AreEqual(new[] { 999, 500, 0 }, InferenceTimesteps.Create(1000, 3, TimestepSpacing.Linspace), "499.5 rounds half to even");
        CollectionAssert.AreEqual(new[] { 999, 666, 332 }, InferenceTimesteps.Create(1000, 3, TimestepSpacing.Trailing));
    }

    [TestMethod]
    public void BadListsAreRejected()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => InferenceTimesteps.Create(1000, 1001, TimestepSpacing.Leading));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => InferenceTimesteps.Create(1000, 0, TimestepSpacing.Leading));
        var ex = Assert.ThrowsExactly<ArgumentException>(() => InferenceTimesteps.Validate([500, 600], 1000));
        StringAssert.Contains(ex.Message, "descending");
        Assert.ThrowsExactly<ArgumentException>(() => InferenceTimesteps.Validate([1000, 5], 1000));
        Assert.ThrowsExactly<ArgumentException>(() => InferenceTimesteps.Validate([], 1000));
    }
}
