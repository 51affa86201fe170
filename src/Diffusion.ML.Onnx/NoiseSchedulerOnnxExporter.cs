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

    // The second counter word of the noise in each row's stream: eps pair j comes from H(m; j, 1) (word 0 is the timestep's).
    private const long NoiseStream = 1;

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
            ? OnnxRowStreams.SplitRowKey(b, b.AddInput(RowKeyInputName, OnnxElementType.Int64, batch))
            : OnnxRowStreams.ContentKey(b, x0, noising, d);

        var (m0, m1) = OnnxRowStreams.RowStream(b, noising, low, high);
        var t = Timestep(b, m0, m1, noising);
        var eps = OnnxRowStreams.StandardNormals(b, b.Unsqueeze(m0, 1), b.Unsqueeze(m1, 1), d, NoiseStream);

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

    // t = MinTimestep + floor(a n / 2^32), (a, _) = H(m; 0, 0); a n < 2^32 2^31 fits in int64.
    private static OnnxValue Timestep(OnnxGraphBuilder b, OnnxValue m0, OnnxValue m1, SeededForwardNoising noising)
    {
        using var scope = b.Scope("timestep");
        var zero = b.Int64Scalar(0);
        var (a, _) = OnnxThreefry.Hash(b, m0, m1, zero, zero);
        long range = noising.MaxTimestep - noising.MinTimestep + 1;
        return b.Add(b.Div(b.Mul(a, b.Int64Scalar(range)), b.Int64Scalar(1L << 32)), b.Int64Scalar(noising.MinTimestep));
    }
}
