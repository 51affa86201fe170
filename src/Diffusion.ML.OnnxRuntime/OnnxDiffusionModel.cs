using Diffusion.ML.Onnx;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.OnnxRuntime;

/// <summary>
/// A denoiser exported by Diffusion.ML, opened with <see cref="OnnxRuntimeDenoiser.Load"/>: the ONNX Runtime denoiser and
/// what the file says about it (noise schedule, classes, pixel range). Dispose it to release the session.
/// </summary>
public sealed class OnnxDiffusionModel : IDisposable
{
    internal OnnxDiffusionModel(OnnxRuntimeDenoiser denoiser, DiffusionModelMetadata metadata)
    {
        Denoiser = denoiser;
        Metadata = metadata;
    }

    /// <summary>The denoiser; every sampler of the core runs on it.</summary>
    public OnnxRuntimeDenoiser Denoiser { get; }

    /// <summary>The file's Diffusion.ML metadata.</summary>
    public DiffusionModelMetadata Metadata { get; }

    /// <summary>The options of the noise schedule the network was trained with, or null if the file does not record it.</summary>
    public NoiseScheduleOptions? ScheduleOptions => Metadata.NoiseSchedule;

    /// <summary>The noise schedule recorded in the file.</summary>
    /// <returns>A new schedule.</returns>
    /// <exception cref="InvalidOperationException">The file records no schedule; build a <see cref="NoiseSchedule"/> yourself.</exception>
    public NoiseSchedule CreateSchedule() => new(ScheduleOptions
        ?? throw new InvalidOperationException("The ONNX file records no noise schedule; create a NoiseSchedule with the options it was trained with."));

    /// <inheritdoc />
    public void Dispose() => Denoiser.Dispose();
}
