namespace Diffusion.ML.Data;

/// <summary>Standard normal draws from a <see cref="Random"/> (Box-Muller).</summary>
internal static class NormalRandom
{
    /// <summary>Returns one draw from N(0, 1).</summary>
    public static double Next(Random random)
    {
        double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble()));
        return radius * Math.Cos(2.0 * Math.PI * random.NextDouble());
    }
}
