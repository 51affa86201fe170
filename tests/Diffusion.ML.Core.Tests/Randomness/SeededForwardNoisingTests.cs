using System.Numerics;
using Diffusion.ML.Randomness;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Randomness;

[TestClass]
public sealed class SeededForwardNoisingTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());

    [TestMethod]
    public void ARowFollowsTheWrittenSpecification()
    {
        // Seed 0x0123456789ABCDEF: K = (0x89ABCDEF, 0x01234567); row key 0xFEDCBA9876543210: counter (0x76543210, 0xFEDCBA98).
        var noising = new SeededForwardNoising(Schedule, 0x0123456789ABCDEFUL, minTimestep: 5, maxTimestep: 15);
        var (r0, r1) = Threefry2x32.Hash(0x89ABCDEFu, 0x01234567u, 0, 0);
        var (m0, m1) = Threefry2x32.Hash(r0, r1, 0x76543210u, 0xFEDCBA98u);
        ulong a = Threefry2x32.Hash(m0, m1, 0, 0).X0;
        int t = 5 + (int)(a * 11 >> 32);
        float[] x0 = [0.5f, -1f, 2f, 0f, 3f];
        var eps = new double[6];
        for (uint j = 0; j < 3; j++)
        {
            var (w0, w1) = Threefry2x32.Hash(m0, m1, j, 1);
            double r = Math.Sqrt(-2 * Math.Log(((w0 >> 8) + 1) / 16777216.0)), angle = 2 * Math.PI * (w1 >> 8) / 16777216.0;
            (eps[2 * j], eps[2 * j + 1]) = (r * Math.Cos(angle), r * Math.Sin(angle));
        }

        float[] noise = new float[5], noisy = new float[5];
        Assert.AreEqual(t, noising.Apply(0xFEDCBA9876543210UL, x0, noise, noisy));
        double alphaBar = Schedule.AlphaBar[t];
        for (int i = 0; i < 5; i++)
        {
            Assert.AreEqual(eps[i], noise[i], 1e-6, $"eps[{i}]");
            Assert.AreEqual(Math.Sqrt(alphaBar) * x0[i] + Math.Sqrt(1 - alphaBar) * eps[i], noisy[i], 1e-6, $"x_t[{i}]"); // Ho et al. 2020, eq. 4
        }
    }

    [TestMethod]
    public void ContentKeyIsTheDocumentedHash()
    {
        const ulong seed = 31;
        // x -> q = round-half-to-even(clamp(x 2^16, -2^62, 2^62)), worked by hand.
        float[] x0 = [1.5f / 65536, 2.5f / 65536, -0.5f / 65536, -1.5f / 65536, 0.25f, -3f, 1e20f, -1e20f, float.NegativeInfinity];
        BigInteger[] q = [2, 2, 0, -2, 16384, -196608, BigInteger.Pow(2, 62), -BigInteger.Pow(2, 62), -BigInteger.Pow(2, 62)];
        BigInteger p = int.MaxValue;
        var (k0, k1) = Threefry2x32.Hash((uint)seed, 0, 1, 0); // K_hash = H(K; 1, 0)
        BigInteger h0 = 0, h1 = 0;
        for (int i = 0; i < x0.Length; i++)
        {
            var (w0, w1) = Threefry2x32.Hash(k0, k1, (uint)i, 0);
            BigInteger residue = (q[i] % p + p) % p;
            h0 += residue * (w0 % p);
            h1 += residue * (w1 % p);
        }
        ulong expected = (ulong)(h0 % p) + ((ulong)(h1 % p) << 32);
        Assert.AreEqual(expected, new SeededForwardNoising(Schedule, seed).ContentKey(x0));
    }

    [TestMethod]
    public void ABatchWithoutKeysUsesContentKeys()
    {
        var noising = new SeededForwardNoising(Schedule, 4);
        float[] x0 = [1f, 2f, 3f, -1f, -2f, -3f];
        float[] noisy = new float[6], noise = new float[6], rowNoise = new float[3], rowNoisy = new float[3];
        long[] timesteps = new long[2];
        noising.ApplyBatch(x0, 3, [], noisy, timesteps, noise);
        for (int row = 0; row < 2; row++)
        {
            var x = x0.AsSpan(3 * row, 3);
            Assert.AreEqual(timesteps[row], noising.Apply(noising.ContentKey(x), x, rowNoise, rowNoisy));
            CollectionAssert.AreEqual(rowNoise, noise[(3 * row)..(3 * row + 3)]);
            CollectionAssert.AreEqual(rowNoisy, noisy[(3 * row)..(3 * row + 3)]);
        }
    }

    [TestMethod]
    public void BadInputIsAClearError()
    {
        var noising = new SeededForwardNoising(Schedule, 1);
        float[] x0 = new float[12];
        x0[2 * 4 + 3] = float.NaN;
        var batch = Assert.ThrowsExactly<ArgumentException>(() => noising.ApplyBatch(x0, 4, [], new float[12], new long[3], new float[12]));
        StringAssert.Contains(batch.Message, "row 2, element 3 is NaN");
        var single = Assert.ThrowsExactly<ArgumentException>(() => noising.ContentKey([0f, float.NaN]));
        StringAssert.Contains(single.Message, "element 1 is NaN");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => noising.ApplyBatch([], 0, [], [], [], [])).Message, "at least 1; got 0");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => noising.Apply(0, [], [], [])).Message, "empty");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => noising.ApplyBatch(new float[6], 3, [1UL], new float[6], new long[2], new float[6])).Message, "2 rows but 1 row keys");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new SeededForwardNoising(Schedule, 1, 0, 1000)).Message, "[0, 999]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new SeededForwardNoising(Schedule, 1, -1)).Message, "[0, 999]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new SeededForwardNoising(Schedule, 1, 10, 9)).Message, "non-empty");
    }
}
