using Diffusion.ML.Onnx;
using Diffusion.ML.Randomness;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.MLNet;

/// <summary>
/// The graph of <see cref="VaeLatentOutput.Sample"/>: from the encoder's mean and log-variance, the scaled posterior
/// sample s (mu + exp(logvar / 2) eps) with eps drawn per row by the row streams of <see cref="SeededForwardNoising"/>
/// (Threefry-2x32-20 in ONNX integer operators, <see cref="OnnxRowStreams"/>): the row key is an Int64 key input or the
/// content key of the row's pixels as the column holds them, m = H(K_row; key), and eps pair j is H(m; j,
/// <see cref="NoiseStream"/>).
/// </summary>
internal static class VaePosteriorSampling
{
    /// <summary>Inputs: the encoder's mean and log-variance [batch, c, h, w]; the key (Int64 [batch, 1], or the pixels [batch, C H W]).</summary>
    public const string MeanName = "mean", LogVarianceName = "logvar", KeyName = "key";

    /// <summary>Output: the scaled sample [batch, c, h, w].</summary>
    public const string LatentsName = "latents";

    /// <summary>
    /// The second counter word of the posterior noise. <c>AddNoise</c> draws its timestep from word 0 and its noise from
    /// word 1 of the same row streams, so with the same seed and row keys the two draws stay independent.
    /// </summary>
    public const long NoiseStream = 2;

    /// <summary>The sampling graph.</summary>
    /// <param name="latentShape">[c, h, w].</param>
    /// <param name="latentScale">The latent scale factor.</param>
    /// <param name="seed">The sample seed.</param>
    /// <param name="contentSize">Values per image when rows are keyed by their pixels; null for an Int64 key input.</param>
    public static OnnxModel Graph(IReadOnlyList<int> latentShape, double latentScale, long seed, int? contentSize)
    {
        // The row streams of the seed: only their keys are used, the schedule plays no part here.
        var streams = new SeededForwardNoising(new NoiseSchedule(new NoiseScheduleOptions()), unchecked((ulong)seed));
        var b = new OnnxGraphBuilder(OnnxThreefry.MinOpset, "vae_posterior_sample");
        string batch = DiffusionModelMetadata.BatchDimension;
        OnnxDim[] dims = [batch, .. latentShape.Select(d => (OnnxDim)d)];
        int size = latentShape.Aggregate(1, (a, d) => a * d);
        var mean = b.AddInput(MeanName, OnnxElementType.Float, dims);
        var logVariance = b.AddInput(LogVarianceName, OnnxElementType.Float, dims);
        var (low, high) = contentSize is int pixels
            ? OnnxRowStreams.ContentKey(b, b.AddInput(KeyName, OnnxElementType.Float, batch, pixels), streams, pixels)
            : OnnxRowStreams.SplitRowKey(b, b.Reshape(b.AddInput(KeyName, OnnxElementType.Int64, batch, 1), -1));
        var (m0, m1) = OnnxRowStreams.RowStream(b, streams, low, high);
        var eps = b.Reshape(OnnxRowStreams.StandardNormals(b, b.Unsqueeze(m0, 1), b.Unsqueeze(m1, 1), size, NoiseStream), [-1, .. latentShape.Select(d => (long)d)]);
        // z = mu + sigma eps with sigma = exp(logvar / 2) (Kingma and Welling 2014, sec. 2.4), times the latent scale (Rombach et al. 2022).
        var sample = b.Add(mean, b.Mul(b.Node("Exp", [b.Mul(logVariance, b.FloatScalar(0.5f))]), eps));
        b.AddOutput(b.Mul(sample, b.FloatScalar((float)latentScale)), LatentsName, OnnxElementType.Float, dims);
        return b.Build(docString: "Diffusion.ML VAE posterior sample: latents = (mean + exp(logvar / 2) eps) scale, eps per row from Threefry-2x32-20 streams.");
    }
}
