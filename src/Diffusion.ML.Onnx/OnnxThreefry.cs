using Diffusion.ML.Randomness;

namespace Diffusion.ML.Onnx;

/// <summary>
/// <see cref="Threefry2x32.Hash"/> written with plain integer ONNX operators, giving the same words. 32-bit words live
/// in int64 tensors with values in [0, 2^32): a + b is <c>BitwiseAnd(Add(a, b), 2^32 - 1)</c>, rotl(x, r) is
/// <c>BitwiseAnd(Mul(x, 2^r), 2^32 - 1) + Div(x, 2^(32 - r))</c> (no overflow: x 2^r &lt; 2^63 for r &lt;= 31), xor is
/// <c>BitwiseXor</c>. BitwiseAnd and BitwiseXor need opset <see cref="MinOpset"/>.
/// </summary>
public static class OnnxThreefry
{
    /// <summary>The first opset with BitwiseAnd and BitwiseXor: 18.</summary>
    public const int MinOpset = 18;

    private const long WordMask = uint.MaxValue;

    /// <summary>
    /// Adds the nodes of Threefry-2x32-20 of the counter (<paramref name="counter0"/>, <paramref name="counter1"/>) under
    /// the key (<paramref name="key0"/>, <paramref name="key1"/>). All four are int64 tensors with values in [0, 2^32)
    /// that broadcast together (e.g. keys [N, 1] and counters [1, P]); the outputs have the broadcast shape.
    /// </summary>
    /// <param name="builder">The graph builder, opset <see cref="MinOpset"/> or newer.</param>
    /// <param name="key0">First key word.</param>
    /// <param name="key1">Second key word.</param>
    /// <param name="counter0">First counter word.</param>
    /// <param name="counter1">Second counter word.</param>
    /// <returns>The two output words, int64 in [0, 2^32).</returns>
    /// <exception cref="ArgumentException">The builder's opset is below <see cref="MinOpset"/>.</exception>
    public static (OnnxValue X0, OnnxValue X1) Hash(OnnxGraphBuilder builder, OnnxValue key0, OnnxValue key1, OnnxValue counter0, OnnxValue counter1)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Opset < MinOpset)
            throw new ArgumentException($"Threefry in ONNX needs BitwiseAnd and BitwiseXor, opset {MinOpset} or newer; the builder has opset {builder.Opset}.", nameof(builder));
        using var _ = builder.Scope("threefry");
        OnnxValue[] keys = [key0, key1, Xor(builder, Xor(builder, key0, key1), builder.Int64Scalar(Threefry2x32.KeyScheduleParity))];
        var x0 = AddWords(builder, counter0, key0);
        var x1 = AddWords(builder, counter1, key1);
        var rotations = Threefry2x32.Rotations;
        for (int round = 0; round < Threefry2x32.Rounds; round++)
        {
            x0 = AddWords(builder, x0, x1);
            x1 = Xor(builder, RotateLeft(builder, x1, rotations[round % 8]), x0);
            if (round % 4 != 3) continue;
            int injection = round / 4 + 1;
            x0 = AddWords(builder, x0, keys[injection % 3]);
            x1 = AddWords(builder, x1, builder.Add(keys[(injection + 1) % 3], builder.Int64Scalar(injection)));
        }
        return (x0, x1);
    }

    // (a + b) mod 2^32 for a, b below 2^33.
    private static OnnxValue AddWords(OnnxGraphBuilder builder, OnnxValue a, OnnxValue b)
        => builder.Node("BitwiseAnd", [builder.Add(a, b), builder.Int64Scalar(WordMask)]);

    private static OnnxValue Xor(OnnxGraphBuilder builder, OnnxValue a, OnnxValue b) => builder.Node("BitwiseXor", [a, b]);

    // rotl(x, r) = (x 2^r mod 2^32) + floor(x / 2^(32 - r)) for x in [0, 2^32), 1 <= r <= 31.
    private static OnnxValue RotateLeft(OnnxGraphBuilder builder, OnnxValue x, int r)
    {
        var high = builder.Node("BitwiseAnd", [builder.Mul(x, builder.Int64Scalar(1L << r)), builder.Int64Scalar(WordMask)]);
        return builder.Add(high, builder.Div(x, builder.Int64Scalar(1L << (32 - r))));
    }
}
