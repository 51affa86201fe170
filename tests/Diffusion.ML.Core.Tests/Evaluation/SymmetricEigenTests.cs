using Diffusion.ML.Evaluation;

namespace Diffusion.ML.Core.Tests.Evaluation;

[TestClass]
public sealed class SymmetricEigenTests
{
    [TestMethod]
    [DataRow(1)]
    [DataRow(6)]
    [DataRow(60)]
    public void ReconstructsARandomSymmetricMatrixWithOrthonormalEigenvectors(int n)
    {
        var random = new Random(n);
        double[,] a = EvaluationTestData.RandomSymmetric(random, n);
        var (values, vectors) = SymmetricEigen.Decompose(a);

        double[,] back = EvaluationTestData.Conjugate(vectors, values);
        for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            Assert.AreEqual(a[i, j], back[i, j], 1e-10, $"A[{i},{j}]");

        for (int p = 0; p < n; p++)
        for (int q = 0; q < n; q++)
        {
            double dot = 0;
            for (int k = 0; k < n; k++)
                dot += vectors[k, p] * vectors[k, q];
            Assert.AreEqual(p == q ? 1.0 : 0.0, dot, 1e-12, $"v{p} . v{q}");
        }
    }

    [TestMethod]
    public void PsdSquareRootSquaresBackAndClampsRoundingNegatives()
    {
        var random = new Random(2);
        double[,] q = EvaluationTestData.RandomOrthogonal(random, 5);
        double[,] a = EvaluationTestData.Conjugate(q, [4, 1, 0.25, 0, 0]); // rank 3: rounding may give tiny negative eigenvalues
        double[,] s = SymmetricEigen.PsdSquareRoot(a);
        for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
        {
            double sum = 0;
            for (int k = 0; k < 5; k++)
                sum += s[i, k] * s[k, j];
            Assert.AreEqual(a[i, j], sum, 1e-10, $"(S S)[{i},{j}]");
            Assert.AreEqual(s[i, j], s[j, i], 0.0, "the square root is exactly symmetric");
        }
    }

    [TestMethod]
    public void DiagonalMatrixWithRepeatedEntriesGivesSortedValues()
    {
        var (values, _) = SymmetricEigen.Decompose(new double[,] { { 3, 0, 0, 0 }, { 0, -1, 0, 0 }, { 0, 0, 3, 0 }, { 0, 0, 0, 0 } });
        CollectionAssert.AreEqual(new[] { -1.0, 0.0, 3.0, 3.0 }, values);
    }

    [TestMethod]
    public void RejectsNonSquareAndNonFiniteInput()
    {
        Assert.ThrowsExactly<ArgumentException>(() => SymmetricEigen.Decompose(new double[2, 3]));
        Assert.ThrowsExactly<ArgumentException>(() => SymmetricEigen.Decompose(new double[,] { { 1, double.NaN }, { double.NaN, 1 } }));
    }
}
