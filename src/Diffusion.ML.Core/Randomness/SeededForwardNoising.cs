using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Randomness;

/// <summary>
/// The forward (noising) process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) (Ho et al. 2020, eq. 4) applied to
/// rows, each row's timestep and noise a pure function of (seed, row key): the C# reference of the ONNX graph that
/// <c>Diffusion.ML.Onnx.NoiseSchedulerOnnxExporter</c> writes. Every random word comes from
/// <see cref="Threefry2x32.Hash"/> (written H(key; counter) below, keys and counters as pairs of 32-bit words), so any
/// language reproduces it from this specification:
/// <list type="number">
/// <item>Seed key K = (seed mod 2^32, seed div 2^32). Two subkeys: <see cref="RowMixingKey"/> K_row = H(K; 0, 0) and
/// <see cref="ContentHashKey"/> K_hash = H(K; 1, 0).</item>
/// <item>A row key r (64 bits) selects the row's stream key m = H(K_row; r mod 2^32, r div 2^32)
/// (<see cref="RowStream"/>). A signed 64-bit key is read as its two's-complement bits.</item>
/// <item>Timestep: t = MinTimestep + floor(a n / 2^32), n = MaxTimestep - MinTimestep + 1, with (a, _) = H(m; 0, 0)
/// (<see cref="Threefry2x32.UniformBelow"/>).</item>
/// <item>Noise: for j = 0 .. ceil(D / 2) - 1, (a, b) = H(m; j, 1) gives eps[2j] (cosine) and eps[2j + 1] (sine)
/// by <see cref="Threefry2x32.StandardNormals"/>; the last sine is dropped when D is odd.</item>
/// <item>x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, in double precision, then rounded to float32.</item>
/// </list>
/// Rows without a key use their <see cref="ContentKey"/>, an integer hash of x_0 that the graph computes exactly.
/// </summary>
public sealed class SeededForwardNoising
{
    /// <summary>Content hashing quantises x_i to round-half-to-even(x_i * 2^ContentScaleBits), i.e. steps of 2^-16.</summary>
    public const int ContentScaleBits = 16;

    /// <summary>Quantised values are first clamped to +-2^62 (so values of one sign with |x| &gt;= 2^46 hash alike), which keeps them in int64.</summary>
    public const double ContentClamp = 4611686018427387904.0;

    /// <summary>The prime modulus p = 2^31 - 1 of the content hash.</summary>
    public const long ContentModulus = int.MaxValue;

    /// <summary>Largest D the content hash accepts: 2^24, so that its sum of D terms below 2^31 fits in int64 exactly.</summary>
    public const int MaxContentDimension = 1 << 24;

    /// <summary>Creates the noising of <paramref name="schedule"/> under <paramref name="seed"/>.</summary>
    /// <param name="schedule">The noise schedule.</param>
    /// <param name="seed">The 64-bit seed.</param>
    /// <param name="minTimestep">Smallest timestep drawn. Default 0.</param>
    /// <param name="maxTimestep">Largest timestep drawn (inclusive); null for T - 1.</param>
    /// <exception cref="ArgumentException">The timestep range is empty or leaves [0, T).</exception>
    public SeededForwardNoising(NoiseSchedule schedule, ulong seed, int minTimestep = 0, int? maxTimestep = null)
    {
        Schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        int last = schedule.NumTrainTimesteps - 1, max = maxTimestep ?? last;
        if (minTimestep < 0 || max > last || minTimestep > max)
            throw new ArgumentException(
                $"The timestep range [{minTimestep}, {max}] must be non-empty and lie in [0, {last}] (the schedule has T = {last + 1}).",
                nameof(minTimestep));
        Seed = seed;
        MinTimestep = minTimestep;
        MaxTimestep = max;
        RowMixingKey = Threefry2x32.Hash((uint)seed, (uint)(seed >> 32), 0, 0);
        ContentHashKey = Threefry2x32.Hash((uint)seed, (uint)(seed >> 32), 1, 0);
    }

    /// <summary>The noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>The seed.</summary>
    public ulong Seed { get; }

    /// <summary>Smallest timestep drawn.</summary>
    public int MinTimestep { get; }

    /// <summary>Largest timestep drawn (inclusive).</summary>
    public int MaxTimestep { get; }

    /// <summary>K_row = H(K; 0, 0), the key under which row keys become stream keys.</summary>
    public (uint Key0, uint Key1) RowMixingKey { get; }

    /// <summary>K_hash = H(K; 1, 0), the key of the content hash's multipliers.</summary>
    public (uint Key0, uint Key1) ContentHashKey { get; }

    /// <summary>The stream key m = H(K_row; r mod 2^32, r div 2^32) of row key <paramref name="rowKey"/>.</summary>
    /// <param name="rowKey">The row key.</param>
    public (uint Key0, uint Key1) RowStream(ulong rowKey)
        => Threefry2x32.Hash(RowMixingKey.Key0, RowMixingKey.Key1, (uint)rowKey, (uint)(rowKey >> 32));

    /// <summary>The timestep of row key <paramref name="rowKey"/>: MinTimestep + floor(a n / 2^32) with (a, _) = H(m; 0, 0).</summary>
    /// <param name="rowKey">The row key.</param>
    public int Timestep(ulong rowKey)
    {
        var (m0, m1) = RowStream(rowKey);
        uint a = Threefry2x32.Hash(m0, m1, 0, 0).X0;
        return MinTimestep + (int)Threefry2x32.UniformBelow(a, (uint)(MaxTimestep - MinTimestep + 1));
    }

    /// <summary>Fills <paramref name="noise"/> (D values) with the N(0, 1) noise of row key <paramref name="rowKey"/>.</summary>
    /// <param name="rowKey">The row key.</param>
    /// <param name="noise">Receives eps; pair j comes from H(m; j, 1).</param>
    public void Noise(ulong rowKey, Span<float> noise)
    {
        var (m0, m1) = RowStream(rowKey);
        for (int j = 0; 2 * j < noise.Length; j++)
        {
            var (a, b) = Threefry2x32.Hash(m0, m1, (uint)j, 1);
            var (cos, sin) = Threefry2x32.StandardNormals(a, b);
            noise[2 * j] = (float)cos;
            if (2 * j + 1 < noise.Length) noise[2 * j + 1] = (float)sin;
        }
    }

    /// <summary>Noises one row: eps and t from <paramref name="rowKey"/>, then x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.</summary>
    /// <param name="rowKey">The row key.</param>
    /// <param name="x0">The clean row, D &gt;= 1 values, no NaN.</param>
    /// <param name="noise">Receives eps (D values).</param>
    /// <param name="noisy">Receives x_t (D values).</param>
    /// <returns>The timestep t.</returns>
    /// <exception cref="ArgumentException">The lengths differ, D = 0 or x_0 holds a NaN.</exception>
    public int Apply(ulong rowKey, ReadOnlySpan<float> x0, Span<float> noise, Span<float> noisy)
    {
        Validate(x0, row: null);
        if (noise.Length != x0.Length || noisy.Length != x0.Length)
            throw new ArgumentException($"x0 has {x0.Length} values but noise has {noise.Length} and noisy {noisy.Length}; all need D.", nameof(noise));
        int t = Timestep(rowKey);
        Noise(rowKey, noise);
        ForwardProcess.Noise(x0, Schedule.AlphaBar[t], noise, noisy);
        return t;
    }

    /// <summary>
    /// Noises N rows of D values, as the ONNX graph does: row i uses <paramref name="rowKeys"/>[i], or its
    /// <see cref="ContentKey"/> when <paramref name="rowKeys"/> is empty.
    /// </summary>
    /// <param name="x0">N x D clean values, row-major, no NaN.</param>
    /// <param name="dimension">D, at least 1.</param>
    /// <param name="rowKeys">N row keys, or empty for content keys.</param>
    /// <param name="noisy">Receives x_t (N x D).</param>
    /// <param name="timesteps">Receives t (N).</param>
    /// <param name="noise">Receives eps (N x D).</param>
    /// <exception cref="ArgumentException">A size does not match, D = 0 or a row holds a NaN (the message names it).</exception>
    public void ApplyBatch(ReadOnlySpan<float> x0, int dimension, ReadOnlySpan<ulong> rowKeys, Span<float> noisy, Span<long> timesteps, Span<float> noise)
    {
        if (dimension < 1) throw new ArgumentException($"The row length D must be at least 1; got {dimension}.", nameof(dimension));
        if (x0.Length % dimension != 0)
            throw new ArgumentException($"x0 has {x0.Length} values, not a multiple of D = {dimension}.", nameof(x0));
        int rows = x0.Length / dimension;
        if (!rowKeys.IsEmpty && rowKeys.Length != rows)
            throw new ArgumentException($"There are {rows} rows but {rowKeys.Length} row keys; give one per row, or none for content keys.", nameof(rowKeys));
        if (noisy.Length != x0.Length || noise.Length != x0.Length || timesteps.Length != rows)
            throw new ArgumentException(
                $"For {rows} rows of D = {dimension}: noisy and noise need {x0.Length} values and timesteps {rows}; got {noisy.Length}, {noise.Length} and {timesteps.Length}.",
                nameof(noisy));
        for (int i = 0; i < rows; i++) Validate(x0.Slice(i * dimension, dimension), i);
        for (int i = 0; i < rows; i++)
        {
            var row = x0.Slice(i * dimension, dimension);
            ulong key = rowKeys.IsEmpty ? ContentKey(row) : rowKeys[i];
            timesteps[i] = Apply(key, row, noise.Slice(i * dimension, dimension), noisy.Slice(i * dimension, dimension));
        }
    }

    /// <summary>
    /// The key of a row from its content, for data without a key column. With q_i = round-half-to-even(clamp(x_i 2^16,
    /// -2^62, 2^62)), a_i = q_i mod p in [0, p), p = 2^31 - 1, and the multipliers (c_i, c'_i) of
    /// <see cref="ContentMultipliers"/>: h = (sum_i (a_i c_i mod p)) mod p, h' likewise with c'; the key is h + 2^32 h'.
    /// Two rows whose quantised values differ (mod p) get the same key with probability about 2^-62 over the seed: two
    /// independent linear hashes over the field Z_p (Carter and Wegman 1979). The key then goes through
    /// <see cref="RowStream"/> like any other.
    /// </summary>
    /// <param name="x0">The row, 1 to <see cref="MaxContentDimension"/> values, no NaN.</param>
    /// <returns>The row key.</returns>
    /// <exception cref="ArgumentException">D is 0 or above <see cref="MaxContentDimension"/>, or a value is NaN.</exception>
    public ulong ContentKey(ReadOnlySpan<float> x0)
    {
        Validate(x0, row: null);
        if (x0.Length > MaxContentDimension)
            throw new ArgumentException($"Content keys take rows of at most {MaxContentDimension} values; this one has {x0.Length}. Give a row key instead.", nameof(x0));
        long h0 = 0, h1 = 0;
        for (int i = 0; i < x0.Length; i++)
        {
            long a = Quantise(x0[i]) % ContentModulus;
            if (a < 0) a += ContentModulus;
            var (c0, c1) = ContentMultipliers(i);
            h0 += a * c0 % ContentModulus;
            h1 += a * c1 % ContentModulus;
        }
        return (ulong)(h0 % ContentModulus) | (ulong)(h1 % ContentModulus) << 32;
    }

    /// <summary>The multipliers of position <paramref name="index"/>: (w0 mod p, w1 mod p) with (w0, w1) = H(K_hash; index, 0).</summary>
    /// <param name="index">The position in the row, from 0.</param>
    public (long First, long Second) ContentMultipliers(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var (w0, w1) = Threefry2x32.Hash(ContentHashKey.Key0, ContentHashKey.Key1, (uint)index, 0);
        return (w0 % ContentModulus, w1 % ContentModulus);
    }

    // q = round-half-to-even(clamp(x 2^16, -2^62, 2^62)); x 2^16 is exact in double (and in float32 unless it overflows to
    // infinity, which the clamp maps to the same bound).
    private static long Quantise(float x)
        => (long)Math.Round(Math.Clamp(x * (double)(1 << ContentScaleBits), -ContentClamp, ContentClamp), MidpointRounding.ToEven);

    private static void Validate(ReadOnlySpan<float> x0, int? row)
    {
        if (x0.IsEmpty) throw new ArgumentException("x0 is empty; rows need D >= 1 values.", nameof(x0));
        for (int i = 0; i < x0.Length; i++)
        {
            if (float.IsNaN(x0[i]))
                throw new ArgumentException(row is { } r ? $"x0 row {r}, element {i} is NaN." : $"x0 element {i} is NaN.", nameof(x0));
        }
    }
}
