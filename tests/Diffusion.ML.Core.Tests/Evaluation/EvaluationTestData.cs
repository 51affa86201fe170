namespace Diffusion.ML.Core.Tests.Evaluation;

/// <summary>Seeded random vectors and matrices shared by the evaluation tests.</summary>
internal static class EvaluationTestData
{
    /// <summary>A standard normal draw (Box and Muller 1958).</summary>
    public static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * random.NextDouble());
    }

    public static double[,] RandomSymmetric(Random random, int n)
    {
        var a = new double[n, n];
        for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++)
            a[i, j] = a[j, i] = 2 * random.NextDouble() - 1;
        return a;
    }

    /// <summary>A random SPD matrix B B^T / n + 0.1 I.</summary>
    public static double[,] RandomSpd(Random random, int n)
    {
        var b = new double[n, n];
        for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            b[i, j] = Gaussian(random);
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
        {
            double sum = 0;
            for (int k = 0; k < n; k++)
                sum += b[i, k] * b[j, k];
            c[i, j] = sum / n + (i == j ? 0.1 : 0);
        }
        return c;
    }

    /// <summary>A random orthogonal matrix from Gram-Schmidt on Gaussian columns.</summary>
    public static double[,] RandomOrthogonal(Random random, int n)
    {
        var q = new double[n, n];
        for (int col = 0; col < n; col++)
        {
            var v = new double[n];
            for (int i = 0; i < n; i++)
                v[i] = Gaussian(random);
            for (int prev = 0; prev < col; prev++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++)
                    dot += v[i] * q[i, prev];
                for (int i = 0; i < n; i++)
                    v[i] -= dot * q[i, prev];
            }
            double norm = Math.Sqrt(v.Sum(e => e * e));
            for (int i = 0; i < n; i++)
                q[i, col] = v[i] / norm;
        }
        return q;
    }

    /// <summary>Q diag(values) Q^T.</summary>
    public static double[,] Conjugate(double[,] q, double[] values)
    {
        int n = values.Length;
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
        {
            double sum = 0;
            for (int k = 0; k < n; k++)
                sum += q[i, k] * values[k] * q[j, k];
            c[i, j] = sum;
        }
        return c;
    }

    public static double[] RandomVector(Random random, int n, double scale)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++)
            v[i] = scale * Gaussian(random);
        return v;
    }

    public static double SquaredDistance(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
            sum += (a[i] - b[i]) * (a[i] - b[i]);
        return sum;
    }
}
