namespace Diffusion.ML.Evaluation;

/// <summary>Validation shared by the metrics that take feature sets as arrays of vectors.</summary>
internal static class FeatureSets
{
    /// <summary>Checks that a set holds at least <paramref name="minimumCount"/> finite vectors of one length; returns that length.</summary>
    public static int Validate(float[][] set, string paramName, int minimumCount)
    {
        ArgumentNullException.ThrowIfNull(set, paramName);
        if (set.Length < minimumCount)
            throw new ArgumentException($"The set '{paramName}' holds {set.Length} feature vectors; at least {minimumCount} are needed.", paramName);
        int d = set[0]?.Length ?? 0;
        if (d == 0)
            throw new ArgumentException($"Feature vector 0 of '{paramName}' is null or empty.", paramName);
        for (int k = 0; k < set.Length; k++)
        {
            float[] v = set[k] ?? throw new ArgumentException($"Feature vector {k} of '{paramName}' is null.", paramName);
            if (v.Length != d)
                throw new ArgumentException($"Feature vector {k} of '{paramName}' has length {v.Length}; expected {d}.", paramName);
            for (int i = 0; i < d; i++)
            {
                if (float.IsNaN(v[i]))
                    throw new ArgumentException($"Feature vector {k} of '{paramName}' contains NaN (entry {i}).", paramName);
                if (float.IsInfinity(v[i]))
                    throw new ArgumentException($"Feature vector {k} of '{paramName}' contains infinity (entry {i}).", paramName);
            }
        }
        return d;
    }
}
