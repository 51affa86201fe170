using Diffusion.ML.Evaluation;

namespace Diffusion.ML.Core.Tests.Evaluation;

[TestClass]
public sealed class PrecisionRecallTests
{
    [TestMethod]
    public void SmallCaseMatchesABruteForceComputation()
    {
        var random = new Random(11);
        float[][] real = Points(random, 60, 5, 0), generated = Points(random, 45, 5, 0.7);
        var (precision, recall) = PrecisionRecall.Compute(real, generated, k: 3);
        Assert.AreEqual(BruteForceFraction(generated, real, 3), precision, 1e-12);
        Assert.AreEqual(BruteForceFraction(real, generated, 3), recall, 1e-12);
        Assert.IsTrue(precision is > 0 and < 1 && recall is > 0 and < 1, $"a partial overlap: precision {precision}, recall {recall}");
    }

    [TestMethod]
    public void OneDimensionalCaseMatchesAHandComputation()
    {
        // Real 0, 1, 2, 3 with k = 1: radii 1, 1, 1, 1. Generated 0.5, 10, 11: radii 9.5 (0.5 -> 10), 1, 1.
        // Precision: 0.5 is inside, 10 and 11 are not -> 1/3. Recall: every real point is within 9.5 of 0.5 -> 1.
        float[][] real = [[0f], [1f], [2f], [3f]];
        float[][] generated = [[0.5f], [10f], [11f]];
        var (precision, recall) = PrecisionRecall.Compute(real, generated, k: 1);
        Assert.AreEqual(1.0 / 3, precision, 1e-12);
        Assert.AreEqual(1.0, recall, 1e-12);
    }

    [TestMethod]
    public void ModeDroppingLowersRecallButNotPrecision()
    {
        var random = new Random(12);
        float[][] real = [.. Points(random, 200, 4, 0), .. Points(random, 200, 4, 20)]; // two well separated modes
        float[][] generated = Points(random, 400, 4, 0); // only the first
        var (precision, recall) = PrecisionRecall.Compute(real, generated);
        Assert.IsGreaterThan(0.9, precision);
        Assert.IsLessThan(0.55, recall);
        Assert.IsGreaterThan(0.4, recall);
    }

    [TestMethod]
    public void BadInputIsRefused()
    {
        float[][] four = [[0f], [1f], [2f], [3f]];
        Assert.ThrowsExactly<ArgumentException>(() => PrecisionRecall.Compute(four, [[0f], [1f], [2f]], k: 3));
        Assert.ThrowsExactly<ArgumentException>(() => PrecisionRecall.Compute(four, [[0f, 1f], [1f, 1f], [2f, 1f], [3f, 1f]], k: 1));
        Assert.ThrowsExactly<ArgumentException>(() => PrecisionRecall.Compute(four, [[0f], [float.NaN], [2f], [3f]], k: 1));
    }

    private static float[][] Points(Random random, int n, int d, double offset) =>
        Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, d).Select(_ => (float)(offset + EvaluationTestData.Gaussian(random))).ToArray()).ToArray();

    /// <summary>Kynkaanniemi et al. 2019, eq. 1-2, by sorting all distances (independent of the implementation's k-best scan).</summary>
    private static double BruteForceFraction(float[][] queries, float[][] manifold, int k)
    {
        double[] radii = manifold.Select(m => manifold.Select(o => Distance(m, o)).Order().ElementAt(k)).ToArray(); // index 0 is itself
        return queries.Count(q => manifold.Select((m, j) => Distance(q, m) <= radii[j]).Any(inside => inside)) / (double)queries.Length;
    }

    private static double Distance(float[] a, float[] b) => Math.Sqrt(a.Zip(b, (x, y) => (double)(x - y) * (x - y)).Sum());
}
