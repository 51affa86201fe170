using Diffusion.ML.Evaluation;

namespace Diffusion.ML.Core.Tests.Evaluation;

/// <summary>erf, erfc and the log normal CDF against reference values (CPython's math.erf / math.erfc, which follow the C library) and tail asymptotics.</summary>
[TestClass]
public sealed class SpecialFunctionsTests
{
    [TestMethod]
    [DataRow(0.0, 0.0, 1.0)]
    [DataRow(1e-8, 1.1283791670955126e-08, 0.9999999887162083)]
    [DataRow(0.1, 0.1124629160182849, 0.8875370839817152)]
    [DataRow(0.5, 0.5204998778130465, 0.4795001221869535)]
    [DataRow(1.0, 0.8427007929497149, 0.15729920705028513)]
    [DataRow(1.5, 0.9661051464753108, 0.033894853524689274)]
    [DataRow(1.9999, 0.9953201979070294, 0.004679802092970608)]
    [DataRow(2.0, 0.9953222650189527, 0.004677734981047265)]
    [DataRow(2.5, 0.999593047982555, 0.0004069520174449589)]
    [DataRow(3.0, 0.9999779095030014, 2.2090496998585438e-05)]
    [DataRow(4.0, 0.9999999845827421, 1.541725790028002e-08)]
    [DataRow(6.0, 1.0, 2.1519736712498916e-17)]
    [DataRow(10.0, 1.0, 2.088487583762545e-45)]
    [DataRow(26.0, 1.0, 5.663192408856143e-296)]
    [DataRow(-0.5, -0.5204998778130465, 1.5204998778130465)]
    [DataRow(-3.0, -0.9999779095030014, 1.9999779095030015)]
    public void ErfAndErfcMatchReferenceValues(double x, double erf, double erfc)
    {
        Assert.AreEqual(erf, SpecialFunctions.Erf(x), 1e-15 + 1e-14 * Math.Abs(erf), "erf");
        Assert.AreEqual(erfc, SpecialFunctions.Erfc(x), 1e-14 * erfc, "erfc (relative)");
        if (erfc > 0) Assert.AreEqual(Math.Log(erfc), SpecialFunctions.LogErfc(x), 1e-13 * Math.Max(1, Math.Abs(Math.Log(erfc))), "log erfc");
    }

    [TestMethod]
    public void LogErfcStaysFiniteFarInTheTail()
    {
        // log erfc(x) = -x^2 - log(x sqrt(pi)) + log(1 - 1/(2x^2) + 3/(4x^4) - ...)   (Abramowitz and Stegun 7.1.23); erfc(100) underflows.
        Assert.AreEqual(0.0, SpecialFunctions.Erfc(100));
        Assert.AreEqual(-10005.177585122665, SpecialFunctions.LogErfc(100), 1e-9);
        Assert.AreEqual(double.NegativeInfinity, SpecialFunctions.LogErfc(double.PositiveInfinity));
        Assert.AreEqual(Math.Log(2), SpecialFunctions.LogErfc(double.NegativeInfinity), 1e-15);
        Assert.AreEqual(1.0, SpecialFunctions.Erf(double.PositiveInfinity));
        Assert.AreEqual(-1.0, SpecialFunctions.Erf(double.NegativeInfinity));
    }

    [TestMethod]
    public void NormalCdfAndItsLogInBothTails()
    {
        Assert.AreEqual(0.9750021048517795, SpecialFunctions.NormalCdf(1.96), 1e-15);
        // log Phi(10) = log(1 - Phi(-10)) = -Phi(-10) to first order; Phi(-10) = 7.619853024160593e-24.
        Assert.AreEqual(-7.619853024160593e-24, SpecialFunctions.LogNormalCdf(10), 1e-36);
        // log Phi(-40) = log(erfc(40 / sqrt 2) / 2), from the same asymptotic series as above.
        double y = 40 / Math.Sqrt(2);
        double expected = -y * y - Math.Log(y * Math.Sqrt(Math.PI)) + Math.Log(1 - 1 / (2 * y * y) + 3 / (4 * Math.Pow(y, 4)) - 15 / (8 * Math.Pow(y, 6))) - Math.Log(2);
        Assert.AreEqual(expected, SpecialFunctions.LogNormalCdf(-40), 1e-9);
    }

    [TestMethod]
    public void LogNormalProbabilityAvoidsCancellation()
    {
        // A narrow interval: Phi(b) - Phi(a) = int phi = phi(m) w (1 + (m^2 - 1) w^2 / 24 + O(w^4)) with midpoint m and width w.
        foreach (double m in new[] { -40.0, -5.0, -0.3, 0.0, 2.0, 7.5, 30.0 })
        {
            double w = 1e-4;
            double expected = -0.5 * m * m - 0.5 * Math.Log(2 * Math.PI) + Math.Log(w) + Math.Log(1 + (m * m - 1) * w * w / 24);
            Assert.AreEqual(expected, SpecialFunctions.LogNormalProbability(m - w / 2, m + w / 2), 1e-9, $"midpoint {m}");
        }
        Assert.AreEqual(0.0, SpecialFunctions.LogNormalProbability(double.NegativeInfinity, double.PositiveInfinity), 1e-15);
        Assert.AreEqual(Math.Log(0.5), SpecialFunctions.LogNormalProbability(0, double.PositiveInfinity), 1e-15);
        Assert.AreEqual(SpecialFunctions.LogNormalCdf(-3), SpecialFunctions.LogNormalProbability(3, double.PositiveInfinity), 1e-14);
        Assert.AreEqual(double.NegativeInfinity, SpecialFunctions.LogNormalProbability(1, 1));
        Assert.ThrowsExactly<ArgumentException>(() => SpecialFunctions.LogNormalProbability(1, 0));
    }

    [TestMethod]
    public void Log1PAndExpM1AreAccurateNearZero()
    {
        Assert.AreEqual(1e-10 - 5e-21, SpecialFunctions.Log1P(1e-10), 1e-26);
        Assert.AreEqual(1e-10 + 5e-21, SpecialFunctions.ExpM1(1e-10), 1e-26);
        Assert.AreEqual(Math.E - 1, SpecialFunctions.ExpM1(1), 1e-15);
        Assert.AreEqual(Math.Log(1 - Math.Exp(-3)), SpecialFunctions.Log1MinusExp(-3), 1e-15);
        Assert.AreEqual(Math.Log(1e-12), SpecialFunctions.Log1MinusExp(-1e-12), 1e-6);
    }
}
