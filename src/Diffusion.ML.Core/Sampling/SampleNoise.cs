namespace Diffusion.ML.Sampling;

/// <summary>
/// A stream of standard normal numbers owned by one sample, seeded from (seed, sample index) alone. Each sample draws its
/// initial noise and every step's noise from its own stream, so a sample never depends on the batch it was computed in.
/// Generator: xoshiro256** (Blackman and Vigna 2018) seeded through SplitMix64; normals by the Box-Muller transform.
/// </summary>
public sealed class SampleNoise
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spare;
    private bool _hasSpare;

    /// <summary>Creates the stream of sample <paramref name="sampleIndex"/> under <paramref name="seed"/>.</summary>
    public SampleNoise(long seed, long sampleIndex)
    {
        ulong state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)sampleIndex * 0xD1B54A32D192ED03UL ^ 0x5851F42D4C957F2DUL);
        _s0 = SplitMix64(ref state);
        _s1 = SplitMix64(ref state);
        _s2 = SplitMix64(ref state);
        _s3 = SplitMix64(ref state);
    }

    /// <summary>Fills <paramref name="destination"/> with independent N(0, 1) draws.</summary>
    public void FillStandardNormal(Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = (float)NextStandardNormal();
    }

    /// <summary>The next N(0, 1) draw.</summary>
    public double NextStandardNormal()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }
        double u1 = 1.0 - NextUniform(); // in (0, 1], so the log is finite
        double u2 = NextUniform();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spare = r * Math.Sin(2 * Math.PI * u2);
        _hasSpare = true;
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>The next uniform draw in [0, 1) with 53 random bits.</summary>
    public double NextUniform() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
