using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.MLNet;

/// <summary>Options of the sampler made by <c>mlContext.Diffusion().Sampler(denoiser, options)</c>.</summary>
public sealed class SamplerOptions
{
    /// <summary>The sampler written into the graph. Default DPM-Solver++(2M) (Lu et al. 2022), good at 10-25 steps.</summary>
    public OnnxGeneratorSampler Sampler { get; set; } = OnnxGeneratorSampler.DpmSolverPlusPlus2M;

    /// <summary>Denoising steps (model evaluations, doubled under guidance). Default 20.</summary>
    public int Steps { get; set; } = 20;

    /// <summary>Classifier-free guidance scale w (Ho and Salimans 2022); 1 = the conditional model alone. Default 1.</summary>
    public float GuidanceScale { get; set; } = 1f;

    /// <summary>Column of starting noise x_T the sampler reads (written by <c>SampleRequests</c>). Default "Noise".</summary>
    public string NoiseColumnName { get; set; } = "Noise";

    /// <summary>Column of classes (Int64, 0-based, as <c>SampleRequests</c> writes) for a class-conditional model. Default "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Column the samples are written to. Default "Generated".</summary>
    public string OutputColumnName { get; set; } = "Generated";

    /// <summary>Range of the written values; null takes the denoiser's training range (so pixels come back as they went in, latents unchanged).</summary>
    public PixelRange? OutputRange { get; set; }

    internal void Validate(int trainTimesteps)
    {
        if (!Enum.IsDefined(Sampler)) throw new ArgumentException($"Unknown sampler {Sampler}.", nameof(Sampler));
        if (Steps < 1 || Steps > trainTimesteps) throw new ArgumentException($"Steps must lie in 1..{trainTimesteps} (the training timesteps); got {Steps}.", nameof(Steps));
        if (!float.IsFinite(GuidanceScale) || GuidanceScale < 0) throw new ArgumentException($"GuidanceScale must be finite and >= 0; got {GuidanceScale}.", nameof(GuidanceScale));
        OutputRange?.Validate(nameof(OutputRange));
    }
}
