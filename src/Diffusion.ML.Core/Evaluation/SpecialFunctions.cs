namespace Diffusion.ML.Evaluation;

/// <summary>
/// The error function and the standard normal distribution in double precision, with logarithms that stay finite far into
/// the tails (System.Math has no erf). erf uses the everywhere-convergent series of Abramowitz and Stegun 7.1.6 for
/// |x| &lt; 2 and erfc the continued fraction of Abramowitz and Stegun 7.1.14 (evaluated by the modified Lentz method) for
/// x &gt;= 1; both have relative errors of order 1e-15 (tested against reference values).
/// </summary>
public static class SpecialFunctions
{
    private const double SqrtPi = 1.7724538509055160273;
    private const double Sqrt2 = 1.4142135623730950488;
    private const double Ln2 = 0.69314718055994530942;
    private const double SeriesLimit = 2.0;        // erf: series below, 1 - erfc above
    private const double ContinuedFractionLimit = 1.0; // erfc: 1 - series below (erfc > 0.157 there), continued fraction above

    /// <summary>erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt.</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 0) return -Erf(-x);
        return x < SeriesLimit ? ErfSeries(x) : 1 - Erfc(x);
    }

    /// <summary>erfc(x) = 1 - erf(x), with full relative accuracy for large x (it underflows to 0 beyond x of about 26.5).</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 0) return 1 + Erf(-x);
        if (x < ContinuedFractionLimit) return 1 - ErfSeries(x);
        if (double.IsPositiveInfinity(x)) return 0;
        return Math.Exp(-x * x) * ScaledErfcContinuedFraction(x);
    }

    /// <summary>log erfc(x), finite for every finite x (no underflow: log erfc(x) = -x^2 + log erfcx(x) for large x).</summary>
    public static double LogErfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 0) return Ln2 + Log1P(-0.5 * Erfc(-x)); // erfc(x) = 2 - erfc(-x)
        if (x < ContinuedFractionLimit) return Math.Log(1 - ErfSeries(x));
        if (double.IsPositiveInfinity(x)) return double.NegativeInfinity;
        return -x * x + Math.Log(ScaledErfcContinuedFraction(x));
    }

    /// <summary>The standard normal CDF Phi(z) = erfc(-z / sqrt 2) / 2.</summary>
    public static double NormalCdf(double z) => 0.5 * Erfc(-z / Sqrt2);

    /// <summary>log Phi(z), accurate in both tails (about -z^2/2 for z -> -inf, about -Phi(-z) for z -> +inf).</summary>
    public static double LogNormalCdf(double z) => z > 0 ? Log1P(-0.5 * Erfc(z / Sqrt2)) : LogErfc(-z / Sqrt2) - Ln2;

    /// <summary>
    /// log(Phi(b) - Phi(a)) for a &lt;= b, the log-probability that a standard normal lies in [a, b]; a may be -inf and b +inf.
    /// Computed without cancellation: intervals on one side of 0 use log Phi and log(1 - exp(.)) (Maechler 2012), intervals
    /// that contain 0 add the two half-masses.
    /// </summary>
    /// <exception cref="ArgumentException">a &gt; b or an argument is NaN.</exception>
    public static double LogNormalProbability(double a, double b)
    {
        if (!(a <= b)) throw new ArgumentException($"Need a <= b, got a={a}, b={b}.", nameof(a));
        if (a == b) return double.NegativeInfinity;
        if (a >= 0) return LogNormalProbability(-b, -a); // symmetry of the normal
        if (b <= 0)
        {
            double logB = LogNormalCdf(b), logA = LogNormalCdf(a);
            return logB + Log1MinusExp(logA - logB);
        }
        return Math.Log(0.5 * (Erf(b / Sqrt2) - Erf(a / Sqrt2))); // erf(b) >= 0 >= erf(a): a sum, no cancellation
    }

    /// <summary>log(1 + x), accurate for small |x| (Goldberg 1991, "What every computer scientist should know about floating-point arithmetic", thm. 4).</summary>
    public static double Log1P(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>exp(x) - 1, accurate for small |x| (Kahan's trick, Higham 2002, "Accuracy and Stability of Numerical Algorithms", sec. 1.14.1).</summary>
    public static double ExpM1(double x)
    {
        if (Math.Abs(x) < 1e-5) return x + x * x / 2 + x * x * x / 6;
        double u = Math.Exp(x);
        if (u == 1) return x;
        double um1 = u - 1;
        if (um1 == -1 || double.IsPositiveInfinity(u)) return um1;
        return um1 * x / Math.Log(u);
    }

    /// <summary>log(1 - exp(x)) for x &lt;= 0 (Maechler 2012, "Accurately computing log(1 - exp(-|a|))", eq. 7).</summary>
    public static double Log1MinusExp(double x) => x > -Ln2 ? Math.Log(-ExpM1(x)) : Log1P(-Math.Exp(x));

    // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1))   (Abramowitz and Stegun 7.1.6): positive terms only.
    private static double ErfSeries(double x)
    {
        double x2 = 2 * x * x, term = x, sum = x;
        for (int n = 0; n < 200 && term > 1e-17 * sum; n++)
        {
            term *= x2 / (2 * n + 3);
            sum += term;
        }
        return 2 / SqrtPi * Math.Exp(-x * x) * sum;
    }

    // erfcx(x) = exp(x^2) erfc(x) = 1 / (sqrt(pi) (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))))   (Abramowitz and Stegun 7.1.14),
    // by the modified Lentz method (Press et al. 2007, "Numerical Recipes", 3rd ed., sec. 5.2). Used for x >= 1 only (about 100 terms at x = 1).
    private static double ScaledErfcContinuedFraction(double x)
    {
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 5000; n++)
        {
            double a = 0.5 * n;
            d = x + a * d;
            if (d == 0) d = tiny;
            d = 1 / d;
            c = x + a / c;
            if (c == 0) c = tiny;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return 1 / (SqrtPi * f);
    }
}
