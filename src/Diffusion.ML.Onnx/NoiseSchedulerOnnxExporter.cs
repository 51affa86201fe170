using Diffusion.ML.Randomness;

namespace Diffusion.ML.Onnx;

/// <summary>
/// Writes the forward noising q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) (Ho et al. 2020, eq. 4) of
/// <see cref="SeededForwardNoising"/> as one ONNX graph: each row's timestep and noise depend only on (seed, row key),
/// drawn by Threefry-2x32 written in integer operators (<see cref="OnnxThreefry"/>), so the file is a deterministic,
/// self-contained noise scheduler (e.g. for ML.NET's OnnxTransformer, which keeps the ONNX bytes in its model zip).
/// </summary>
/// <remarks>
/// Inputs: <c>x0</c> float32 [N, D] and, with <see cref="NoiseSchedulerOnnxExportOptions.UseRowKeyInput"/>,
/// <c>row_key</c> int64 [N]; without it the graph computes each row's content key. Outputs: <c>noisy</c> float32 [N, D],
/// <c>timestep</c> int64 [N], <c>noise</c> float32 [N, D]. The seed's subkeys, the content-hash multipliers and the
/// schedule's sqrt(abar_t) and sqrt(1 - abar_t) are initializers; Box-Muller runs in float32, so noise and x_t match the
/// C# reference to float32 rounding, and the timesteps exactly. The graph cannot reject a NaN in x0 (the reference
/// does): its content key is then unspecified.
/// </remarks>
public static class NoiseSchedulerOnnxExporter
{
    /// <summary>Name of the float32 input x_0, [N, D].</summary>
    public const string SampleInputName = "x0";

    /// <summary>Name of the optional int64 input of row keys, [N].</summary>
    public const string RowKeyInputName = "row_key";

    /// <summary>Name of the float32 output x_t, [N, D].</summary>
    public const string NoisyOutputName = "noisy";

    /// <summary>Name of the int64 output t, [N].</summary>
    public const string TimestepOutputName = "timestep";

    /// <summary>Name of the float32 output eps, [N, D].</summary>
    public const string NoiseOutputName = "noise";

    private const long WordMask = uint.MaxValue;

    /// <summary>Builds the graph the options describe.</summary>
    /// <param name="options">Schedule, seed, D, row key source, timestep range and opset.</param>
    /// <returns>The model, with the options in its metadata (<see cref="NoiseSchedulerOnnxExportOptions.FromModel"/>).</returns>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static OnnxModel Export(NoiseSchedulerOnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var noising = options.CreateNoising();
        var b = new OnnxGraphBuilder(options.Opset, "noise_scheduler");
        string batch = DiffusionModelMetadata.BatchDimension;
        int d = options.Dimension;
        var x0 = b.AddInput(SampleInputName, OnnxElementType.Float, batch, d);
        var (low, high) = options.UseRowKeyInput
            ? SplitRowKey(b, b.AddInput(RowKeyInputName, OnnxElementType.Int64, batch))
            : ContentKey(b, x0, noising, d);

        OnnxValue m0, m1;
        using (b.Scope("row_stream"))
            (m0, m1) = OnnxThreefry.Hash(b, b.Int64Scalar(noising.RowMixingKey.Key0), b.Int64Scalar(noising.RowMixingKey.Key1), low, high);
        var t = Timestep(b, m0, m1, noising);
        var eps = Noise(b, b.Unsqueeze(m0, 1), b.Unsqueeze(m1, 1), d);

        OnnxValue noisy;
        using (b.Scope("forward"))
        {
            // x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps   (Ho et al. 2020, eq. 4)
            var schedule = noising.Schedule;
            var signal = b.AddInitializer("sqrt_alpha_bar", schedule.SqrtAlphaBar.Select(v => (float)v).ToArray(), schedule.NumTrainTimesteps);
            var scale = b.AddInitializer("sqrt_one_minus_alpha_bar", schedule.SqrtOneMinusAlphaBar.Select(v => (float)v).ToArray(), schedule.NumTrainTimesteps);
            var tColumn = b.Unsqueeze(t, 1);
            noisy = b.Add(b.Mul(x0, b.Gather(signal, tColumn)), b.Mul(eps, b.Gather(scale, tColumn)));
        }
        b.AddOutput(noisy, NoisyOutputName, OnnxElementType.Float, batch, d);
        b.AddOutput(t, TimestepOutputName, OnnxElementType.Int64, batch);
        b.AddOutput(eps, NoiseOutputName, OnnxElementType.Float, batch, d);
        return b.Build(options.ToMetadata(),
            "Forward noising x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, per-row deterministic; Threefry-2x32-20 streams as " +
            "specified by Diffusion.ML's SeededForwardNoising.");
    }

    // A signed 64-bit key's two's-complement words: low = r & (2^32 - 1), high = ((r - low) / 2^32) & (2^32 - 1)
    // (r - low is a multiple of 2^32 and does not overflow, so the division is exact).
    private static (OnnxValue Low, OnnxValue High) SplitRowKey(OnnxGraphBuilder b, OnnxValue key)
    {
        using var _ = b.Scope("row_key");
        var mask = b.Int64Scalar(WordMask);
        var low = b.Node("BitwiseAnd", [key, mask]);
        var high = b.Node("BitwiseAnd", [b.Div(b.Sub(key, low), b.Int64Scalar(1L << 32)), mask]);
        return (low, high);
    }

    // SeededForwardNoising.ContentKey: q = Round(Clip(x 2^16, -2^62, 2^62)) (Round is half-to-even), a = q mod p (Mod with
    // fmod = 0 takes the divisor's sign), h = (sum_i (a_i c_i mod p)) mod p; the key's words are (h, h').
    private static (OnnxValue Low, OnnxValue High) ContentKey(OnnxGraphBuilder b, OnnxValue x0, SeededForwardNoising noising, int d)
    {
        using var _ = b.Scope("content_key");
        float bound = (float)SeededForwardNoising.ContentClamp;
        var scaled = b.Mul(x0, b.FloatScalar(1 << SeededForwardNoising.ContentScaleBits));
        var quantised = b.Cast(b.Node("Round", [b.Node("Clip", [scaled, b.FloatScalar(-bound), b.FloatScalar(bound)])]), OnnxElementType.Int64);
        var p = b.Int64Scalar(SeededForwardNoising.ContentModulus);
        var residues = b.Node("Mod", [quantised, p]);
        var multipliers = Enumerable.Range(0, d).Select(noising.ContentMultipliers).ToArray();
        OnnxValue Hash(string name, long[] c)
        {
            var terms = b.Node("Mod", [b.Mul(residues, b.AddInitializer(name, c, d)), p]);
            return b.Node("Mod", [b.Node("ReduceSum", [terms, b.Int64s(1)], OnnxAttribute.Int("keepdims", 0)), p]);
        }
        return (Hash("multipliers0", multipliers.Select(m => m.First).ToArray()), Hash("multipliers1", multipliers.Select(m => m.Second).ToArray()));
    }

    // t = MinTimestep + floor(a n / 2^32), (a, _) = H(m; 0, 0); a n < 2^32 2^31 fits in int64.
    private static OnnxValue Timestep(OnnxGraphBuilder b, OnnxValue m0, OnnxValue m1, SeededForwardNoising noising)
    {
        using var scope = b.Scope("timestep");
        var zero = b.Int64Scalar(0);
        var (a, _) = OnnxThreefry.Hash(b, m0, m1, zero, zero);
        long range = noising.MaxTimestep - noising.MinTimestep + 1;
        return b.Add(b.Div(b.Mul(a, b.Int64Scalar(range)), b.Int64Scalar(1L << 32)), b.Int64Scalar(noising.MinTimestep));
    }

    // eps[2j], eps[2j + 1] from (a, b) = H(m; j, 1) by Threefry2x32.StandardNormals, in float32:
    // u1 = (a div 2^8 + 1) 2^-24, u2 = (b div 2^8) 2^-24 (exact), (r cos 2 pi u2, r sin 2 pi u2), r = sqrt(-2 ln u1).
    private static OnnxValue Noise(OnnxGraphBuilder b, OnnxValue m0, OnnxValue m1, int d)
    {
        using var _ = b.Scope("noise");
        int pairs = (d + 1) / 2;
        var pairIndex = b.AddInitializer("pair_index", Enumerable.Range(0, pairs).Select(j => (long)j).ToArray(), 1, pairs);
        var (wordA, wordB) = OnnxThreefry.Hash(b, m0, m1, pairIndex, b.Int64Scalar(1));
        var unit = b.FloatScalar(1f / (1 << 24));
        var shift = b.Int64Scalar(1 << 8);
        var u1 = b.Mul(b.Cast(b.Add(b.Div(wordA, shift), b.Int64Scalar(1)), OnnxElementType.Float), unit);
        var u2 = b.Mul(b.Cast(b.Div(wordB, shift), OnnxElementType.Float), unit);
        var radius = b.Node("Sqrt", [b.Mul(b.Node("Log", [u1]), b.FloatScalar(-2f))]);
        var angle = b.Mul(u2, b.FloatScalar((float)(2 * Math.PI)));
        var cos = b.Unsqueeze(b.Mul(radius, b.Cos(angle)), 2);
        var sin = b.Unsqueeze(b.Mul(radius, b.Sin(angle)), 2);
        var interleaved = b.Reshape(b.Concat(2, cos, sin), -1, 2L * pairs);
        return d % 2 == 0 ? interleaved : b.Slice(interleaved, [0], [d], [1]);
    }
}
