using Diffusion.ML.Onnx;
using Diffusion.ML.Schedules;
using Microsoft.ML.OnnxRuntime;

namespace Diffusion.ML.OnnxRuntime;

/// <summary>
/// A denoiser exported by Diffusion.ML, opened with <see cref="OnnxRuntimeDenoiser.Load(string, int, GraphOptimizationLevel?, OnnxExecutionProvider, int, int?)"/>
/// (from a file) or its overload for bytes in memory: the ONNX Runtime denoiser and
/// what the file says about it (noise schedule, classes, pixel range), and for a latent diffusion model the decoder that
/// turns its samples into images. Dispose it to release the sessions.
/// </summary>
public sealed class OnnxDiffusionModel : IDisposable
{
    private readonly Lazy<OnnxLatentDecoder?> _decoder;

    internal OnnxDiffusionModel(OnnxRuntimeDenoiser denoiser, DiffusionModelMetadata metadata, Func<OnnxLatentDecoder?> openDecoder)
    {
        Denoiser = denoiser;
        Metadata = metadata;
        _decoder = new Lazy<OnnxLatentDecoder?>(openDecoder);
    }

    /// <summary>
    /// For a latent diffusion model opened from a file: its decoder (<see cref="DiffusionModelMetadata.LatentDecoder"/>,
    /// beside the file), opened and checked on first use. Null for a model of images, and for a latent model opened from
    /// memory (open its decoder with <see cref="OnnxLatentDecoder.Open"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">The decoder is not beside the file.</exception>
    /// <exception cref="InvalidDataException">The decoder does not belong to this model (latent shape or scale differ).</exception>
    public OnnxLatentDecoder? Decoder => _decoder.Value;

    /// <summary>Whether the samples are latents (the file names a <see cref="DiffusionModelMetadata.LatentDecoder"/>).</summary>
    public bool IsLatent => Metadata.LatentDecoder is not null;

    /// <summary>Shape of one output image: the decoder's for a latent model, else the sample shape.</summary>
    /// <exception cref="InvalidOperationException">A latent model opened from memory, without its decoder.</exception>
    public IReadOnlyList<int> ImageShape => IsLatent ? RequireDecoder().ImageShape : Metadata.SampleShape;

    /// <summary>The samples as images: decoded for a latent model, unchanged for a model of images.</summary>
    /// <param name="samples">Whole samples, flattened, as a sampler returns them.</param>
    /// <returns>The images, flattened.</returns>
    /// <exception cref="InvalidOperationException">A latent model opened from memory, without its decoder.</exception>
    public float[] ToImages(float[] samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        return IsLatent ? RequireDecoder().Decode(samples) : samples;
    }

    private OnnxLatentDecoder RequireDecoder() => Decoder ?? throw new InvalidOperationException(
        $"This latent model was opened without its decoder ({Metadata.LatentDecoder}); open the model from its file, or decode with OnnxLatentDecoder.");

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
    public void Dispose()
    {
        Denoiser.Dispose();
        if (_decoder.IsValueCreated) _decoder.Value?.Dispose();
    }
}
