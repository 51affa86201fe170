using Diffusion.ML.Randomness;

namespace Diffusion.ML.Core.Tests.Randomness;

[TestClass]
public sealed class Threefry2x32Tests
{
    /// <summary>
    /// Random123's known-answer vectors for threefry2x32 with 20 rounds (examples/kat_vectors, lines
    /// "threefry2x32 20 ctr0 ctr1 key0 key1 out0 out1"); JAX's random_test.py testThreefry2x32 checks the same three,
    /// citing Random123-Boost libs/random/test/test_threefry.cpp. The third is the digits of pi.
    /// </summary>
    [TestMethod]
    [DataRow(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x6b200159u, 0x99ba4efeu)]
    [DataRow(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x1cb996fcu, 0xbb002be7u)]
    [DataRow(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xc4923a9cu, 0x483df7a0u)]
    public void HashMatchesTheRandom123KnownAnswers(uint counter0, uint counter1, uint key0, uint key1, uint expected0, uint expected1)
    {
        var (x0, x1) = Threefry2x32.Hash(key0, key1, counter0, counter1);
        Assert.AreEqual(expected0, x0, $"word 0: {x0:x8}");
        Assert.AreEqual(expected1, x1, $"word 1: {x1:x8}");
    }

    [TestMethod]
    public void BoxMullerMapsWordsToTheClosedForm()
    {
        // Only the top 24 bits count: u1 = (word0 >> 8 + 1) / 2^24, u2 = (word1 >> 8) / 2^24.
        Assert.AreEqual((0.0, 0.0), Threefry2x32.StandardNormals(0xFFFFFF00u | 0x7Fu, 0x12345678u), "u1 = 1 gives radius 0");
        uint half = ((1u << 23) - 1) << 8; // u1 = 1/2
        double r = Math.Sqrt(2 * Math.Log(2));
        var (c, s) = Threefry2x32.StandardNormals(half, 0xFFu);
        Assert.AreEqual(r, c, 1e-15, "u2 = 0: angle 0");
        Assert.AreEqual(0.0, s, 1e-15);
        (c, s) = Threefry2x32.StandardNormals(half, 1u << 30); // u2 = 1/4: angle pi / 2
        Assert.AreEqual(0.0, c, 1e-15);
        Assert.AreEqual(r, s, 1e-15);
        (c, _) = Threefry2x32.StandardNormals(0u, 0u); // smallest u1 = 2^-24: the largest radius
        Assert.AreEqual(Math.Sqrt(48 * Math.Log(2)), c, 1e-12);
    }

    [TestMethod]
    public void NormalsHaveTheMomentsOfAStandardNormal()
    {
        const int pairs = 100_000;
        var z = new double[2 * pairs];
        double cross = 0;
        for (uint i = 0; i < pairs; i++)
        {
            var (a, b) = Threefry2x32.Hash(0xDEADBEEFu, 42u, i, 7u);
            (z[2 * i], z[2 * i + 1]) = Threefry2x32.StandardNormals(a, b);
            cross += z[2 * i] * z[2 * i + 1];
        }
        int n = z.Length;
        double mean = z.Average(), variance = z.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        double fourth = z.Average(v => v * v * v * v), inside = z.Count(v => Math.Abs(v) < 1) / (double)n;
        const double pInside = 0.6826894921370859; // erf(1 / sqrt 2)
        // Standard errors: mean 1/sqrt(n), variance sqrt(2/n), E z^4 sqrt((105 - 9)/n), a proportion sqrt(p(1-p)/n).
        Assert.AreEqual(0, mean, 4 / Math.Sqrt(n), "mean");
        Assert.AreEqual(1, variance, 4 * Math.Sqrt(2.0 / n), "variance");
        Assert.AreEqual(3, fourth, 4 * Math.Sqrt(96.0 / n), "fourth moment");
        Assert.AreEqual(pInside, inside, 4 * Math.Sqrt(pInside * (1 - pInside) / n), "P(|z| < 1)");
        Assert.AreEqual(0, cross / pairs, 4 / Math.Sqrt(pairs), "the two values of a pair are uncorrelated");
    }

    [TestMethod]
    public void UniformBelowIsMultiplyShift()
    {
        Assert.AreEqual(0u, Threefry2x32.UniformBelow(0u, 1000));
        Assert.AreEqual(999u, Threefry2x32.UniformBelow(uint.MaxValue, 1000));
        Assert.AreEqual(5u, Threefry2x32.UniformBelow(1u << 31, 10));
        Assert.AreEqual(Threefry2x32.MaxUniformRange - 1, Threefry2x32.UniformBelow(uint.MaxValue, Threefry2x32.MaxUniformRange));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Threefry2x32.UniformBelow(1u, 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Threefry2x32.UniformBelow(1u, Threefry2x32.MaxUniformRange + 1));
    }

    [TestMethod]
    public void UniformBelowFillsEveryBinEvenly()
    {
        const int bins = 7, draws = 70_000;
        var counts = new int[bins];
        for (uint i = 0; i < draws; i++) counts[Threefry2x32.UniformBelow(Threefry2x32.Hash(3u, 5u, i, 0u).X0, bins)]++;
        double expected = draws / (double)bins, se = Math.Sqrt(draws * (1.0 / bins) * (1 - 1.0 / bins));
        for (int k = 0; k < bins; k++) Assert.AreEqual(expected, counts[k], 4 * se, $"bin {k}");
    }
}
