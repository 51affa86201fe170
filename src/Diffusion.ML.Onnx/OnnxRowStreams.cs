using Diffusion.ML.Randomness;

namespace Diffusion.ML.Onnx;

/// <summary>
/// The per-row random streams of <see cref="SeededForwardNoising"/> written in ONNX integer operators (Threefry-2x32-20
/// through <see cref="OnnxThreefry"/>): a row key from an int64 key input or from the row's content, the row's stream key
/// m = H(K_row; key), and standard normals from counter words (j, stream) of that stream. The noise scheduler
/// (<see cref="NoiseSchedulerOnnxExporter"/>) draws its noise from stream word 1; other graphs that need seeded per-row
/// noise take another word, so their draws are independent of it for the same seed and keys.
/// </summary>
public static class OnnxRowStreams
{
    private const long WordMask = uint.MaxValue;

    /// <summary>
    /// A signed 64-bit row key's two's-complement words: low = r &amp; (2^32 - 1), high = ((r - low) / 2^32) &amp; (2^32 - 1)
    /// (r - low is a multiple of 2^32 and does not overflow, so the division is exact).
    /// </summary>
    /// <param name="builder">The graph.</param>
    /// <param name="key">int64 row keys [N].</param>
    /// <returns>The words, int64 [N] in [0, 2^32).</returns>
    public static (OnnxValue Low, OnnxValue High) SplitRowKey(OnnxGraphBuilder builder, OnnxValue key)
    {
        ArgumentNullException.ThrowIfNull(builder);
        using var _ = builder.Scope("row_key");
        var mask = builder.Int64Scalar(WordMask);
        var low = builder.Node("BitwiseAnd", [key, mask]);
        var high = builder.Node("BitwiseAnd", [builder.Div(builder.Sub(key, low), builder.Int64Scalar(1L << 32)), mask]);
        return (low, high);
    }

    /// <summary>
    /// <see cref="SeededForwardNoising.ContentKey"/> of each row: q = Round(Clip(x 2^16, -2^62, 2^62)) (Round is
    /// half-to-even), a = q mod p (Mod with fmod = 0 takes the divisor's sign), h = (sum_i (a_i c_i mod p)) mod p; the
    /// key's words are (h, h').
    /// </summary>
    /// <param name="builder">The graph.</param>
    /// <param name="rows">float32 rows [N, D].</param>
    /// <param name="noising">The seed's streams (its content multipliers).</param>
    /// <param name="dimension">D, at most <see cref="SeededForwardNoising.MaxContentDimension"/>.</param>
    /// <returns>The key words, int64 [N] in [0, 2^31 - 1).</returns>
    public static (OnnxValue Low, OnnxValue High) ContentKey(OnnxGraphBuilder builder, OnnxValue rows, SeededForwardNoising noising, int dimension)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(noising);
        if (dimension is < 1 or > SeededForwardNoising.MaxContentDimension)
            throw new ArgumentException($"Content keys take rows of 1 to {SeededForwardNoising.MaxContentDimension} values; got {dimension}. Use a row key input instead.", nameof(dimension));
        var b = builder;
        using var _ = b.Scope("content_key");
        float bound = (float)SeededForwardNoising.ContentClamp;
        var scaled = b.Mul(rows, b.FloatScalar(1 << SeededForwardNoising.ContentScaleBits));
        var quantised = b.Cast(b.Node("Round", [b.Node("Clip", [scaled, b.FloatScalar(-bound), b.FloatScalar(bound)])]), OnnxElementType.Int64);
        var p = b.Int64Scalar(SeededForwardNoising.ContentModulus);
        var residues = b.Node("Mod", [quantised, p]);
        var multipliers = Enumerable.Range(0, dimension).Select(noising.ContentMultipliers).ToArray();
        OnnxValue Hash(string name, long[] c)
        {
            var terms = b.Node("Mod", [b.Mul(residues, b.AddInitializer(name, c, dimension)), p]);
            return b.Node("Mod", [b.Node("ReduceSum", [terms, b.Int64s(1)], OnnxAttribute.Int("keepdims", 0)), p]);
        }
        return (Hash("multipliers0", multipliers.Select(m => m.First).ToArray()), Hash("multipliers1", multipliers.Select(m => m.Second).ToArray()));
    }

    /// <summary>The stream key m = H(K_row; low, high) of each row (<see cref="SeededForwardNoising.RowStream"/>).</summary>
    /// <param name="builder">The graph.</param>
    /// <param name="noising">The seed's streams (its row mixing key).</param>
    /// <param name="low">Low key words [N].</param>
    /// <param name="high">High key words [N].</param>
    /// <returns>The stream key words, int64 [N] in [0, 2^32).</returns>
    public static (OnnxValue M0, OnnxValue M1) RowStream(OnnxGraphBuilder builder, SeededForwardNoising noising, OnnxValue low, OnnxValue high)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(noising);
        using var _ = builder.Scope("row_stream");
        return OnnxThreefry.Hash(builder, builder.Int64Scalar(noising.RowMixingKey.Key0), builder.Int64Scalar(noising.RowMixingKey.Key1), low, high);
    }

    /// <summary>
    /// D standard normals per row from stream word <paramref name="stream"/>: eps[2j], eps[2j + 1] from (a, b) = H(m; j, stream)
    /// by <see cref="Threefry2x32.StandardNormals"/>, in float32: u1 = (a div 2^8 + 1) 2^-24, u2 = (b div 2^8) 2^-24 (exact),
    /// (r cos 2 pi u2, r sin 2 pi u2), r = sqrt(-2 ln u1); the last sine is dropped when D is odd.
    /// </summary>
    /// <param name="builder">The graph.</param>
    /// <param name="m0">First stream key word, [N, 1].</param>
    /// <param name="m1">Second stream key word, [N, 1].</param>
    /// <param name="dimension">D.</param>
    /// <param name="stream">The second counter word (1: the noise scheduler's noise).</param>
    /// <returns>float32 [N, D].</returns>
    public static OnnxValue StandardNormals(OnnxGraphBuilder builder, OnnxValue m0, OnnxValue m1, int dimension, long stream)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (stream is < 0 or > uint.MaxValue) throw new ArgumentOutOfRangeException(nameof(stream), $"A counter word lies in [0, 2^32); got {stream}.");
        var b = builder;
        using var _ = b.Scope("noise");
        int pairs = (dimension + 1) / 2;
        var pairIndex = b.AddInitializer("pair_index", Enumerable.Range(0, pairs).Select(j => (long)j).ToArray(), 1, pairs);
        var (wordA, wordB) = OnnxThreefry.Hash(b, m0, m1, pairIndex, b.Int64Scalar(stream));
        var unit = b.FloatScalar(1f / (1 << 24));
        var shift = b.Int64Scalar(1 << 8);
        var u1 = b.Mul(b.Cast(b.Add(b.Div(wordA, shift), b.Int64Scalar(1)), OnnxElementType.Float), unit);
        var u2 = b.Mul(b.Cast(b.Div(wordB, shift), OnnxElementType.Float), unit);
        var radius = b.Node("Sqrt", [b.Mul(b.Node("Log", [u1]), b.FloatScalar(-2f))]);
        var angle = b.Mul(u2, b.FloatScalar((float)(2 * Math.PI)));
        var cos = b.Unsqueeze(b.Mul(radius, b.Cos(angle)), 2);
        var sin = b.Unsqueeze(b.Mul(radius, b.Sin(angle)), 2);
        var interleaved = b.Reshape(b.Concat(2, cos, sin), -1, 2L * pairs);
        return dimension % 2 == 0 ? interleaved : b.Slice(interleaved, [0], [dimension], [1]);
    }
}
