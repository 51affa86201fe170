using Diffusion.ML.Onnx;
using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Microsoft.ML;

namespace Diffusion.ML.MLNet;

public sealed partial class DiffusionCatalog
{
    /// <summary>
    /// <see cref="GenerationViewOptions.Count"/> samples of a denoiser trained with <see cref="TrainDenoiser"/>, as a lazy
    /// <see cref="IDataView"/>: columns (default names) "Index", "Seed", "Label" (class-conditional models) and "Generated" (the samples,
    /// in the training range unless <see cref="GenerationViewOptions.OutputRange"/> says otherwise). Batches are computed
    /// on ONNX Runtime as a cursor reads them, with any sampler of <see cref="Samplers.Names"/>; sample i depends only on
    /// (seed, i). Unlike <see cref="Sampler"/> (one graph, batch 1, saved with the model) the view is not a transformer
    /// and is not saved; it is the fast way to make many samples inside a process.
    /// </summary>
    /// <param name="denoiser">The transformer <see cref="TrainDenoiser"/> returned.</param>
    /// <param name="options">Count, seed, sampler, steps, guidance, classes, batch size, columns and device.</param>
    /// <returns>The view; nothing is computed until a cursor reads "Generated".</returns>
    /// <exception cref="ArgumentException">An option is out of range (its name and the allowed values are in the message).</exception>
    /// <example>
    /// <code>
    /// var denoiser = ml.Diffusion().TrainDenoiser("Pixels", "Label", new DenoiserTrainerEstimator.Options { PixelRange = PixelRange.Bytes }).Fit(images);
    /// IDataView samples = ml.Diffusion().Generate(denoiser, new GenerationViewOptions { Count = 10_000, Seed = 42, Sampler = "euler-ancestral", Steps = 30 });
    /// </code>
    /// </example>
    public IDataView Generate(DenoiserTransformer denoiser, GenerationViewOptions options)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        ArgumentNullException.ThrowIfNull(options);
        var (provider, deviceId) = ExecutionProvider(options);
        options.Validate(denoiser.ClassCount, denoiser.Schedule.NumTrainTimesteps, onnxRuntime: true);
        var network = denoiser.Network;
        int? rows = options.MaxEvaluationBatch;
        return new GeneratedSampleDataView(() => OpenOnnx(network, provider, deviceId, rows), ownsDenoiser: true, denoiser.SampleShape, denoiser.ClassCount,
            new NoiseSchedule(denoiser.Schedule), options, options.OutputRange ?? denoiser.PixelRange, options.ClipSample ?? denoiser.PixelRange is not null);
    }

    /// <summary>
    /// Samples of a denoiser exported by Diffusion.ML to ONNX (<c>diffusion-ml export</c>, <c>DenoiserOnnxExporter</c>),
    /// as a lazy <see cref="IDataView"/> run on ONNX Runtime: the sample shape, classes, prediction type and noise
    /// schedule come from the file's metadata. Each cursor that reads samples opens its own session and closes it when
    /// disposed. See <see cref="Generate(DenoiserTransformer, GenerationViewOptions)"/> for the columns.
    /// </summary>
    /// <param name="onnxModelPath">The .onnx file.</param>
    /// <param name="options">Count, seed, sampler, steps, guidance, classes, batch size, columns and device.</param>
    /// <returns>The view; the samples are the model's values (in [-1, 1] for images) unless <see cref="GenerationViewOptions.OutputRange"/> is set.
    /// A latent model's samples are its scaled latents: decode them with <see cref="OnnxLatentDecoder"/> on the decoder its metadata names.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a Diffusion.ML denoiser.</exception>
    /// <exception cref="ArgumentException">The file records no noise schedule, an option is out of range, or the CUDA provider is not available.</exception>
    public IDataView Generate(string onnxModelPath, GenerationViewOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(onnxModelPath);
        ArgumentNullException.ThrowIfNull(options);
        string path = Path.GetFullPath(onnxModelPath);
        var (provider, deviceId) = ExecutionProvider(options);
        // Opened once here for the metadata (and so a missing file, a foreign model or an unavailable GPU fail now, not in a cursor).
        using var model = OnnxRuntimeDenoiser.Load(path, provider: provider, deviceId: deviceId);
        var schedule = model.ScheduleOptions
            ?? throw new ArgumentException($"'{path}' records no noise schedule. Open it with OnnxRuntimeDenoiser.Load and call " +
                "Generate(IDenoiser, NoiseSchedule, options) with the schedule it was trained with.", nameof(onnxModelPath));
        options.Validate(model.Denoiser.ClassCount, schedule.NumTrainTimesteps, onnxRuntime: true);
        int? rows = options.MaxEvaluationBatch;
        return new GeneratedSampleDataView(() => OnnxRuntimeDenoiser.Load(path, provider: provider, deviceId: deviceId, maxEvaluationBatch: rows).Denoiser, ownsDenoiser: true,
            model.Denoiser.SampleShape, model.Denoiser.ClassCount, new NoiseSchedule(schedule), options, options.OutputRange, options.ClipSample ?? !model.IsLatent);
    }

    /// <summary>
    /// Samples of any <see cref="IDenoiser"/> (e.g. a <c>TorchSharpDenoiser</c> over a checkpoint's network, on the CPU or
    /// a GPU) as a lazy <see cref="IDataView"/>. The view uses the denoiser as it is and never disposes it: keep it alive
    /// while cursors read samples. See <see cref="Generate(DenoiserTransformer, GenerationViewOptions)"/> for the columns.
    /// </summary>
    /// <param name="denoiser">The trained network.</param>
    /// <param name="schedule">The noise schedule it was trained with.</param>
    /// <param name="options">Count, seed, sampler, steps, guidance, classes, batch size and columns.</param>
    /// <returns>The view; the samples are the model's values unless <see cref="GenerationViewOptions.OutputRange"/> is set.</returns>
    /// <exception cref="ArgumentException">An option is out of range (its name and the allowed values are in the message).</exception>
    /// <example>
    /// <code>
    /// var checkpoint = Checkpoint.Load("ckpt/denoiser.ckpt");
    /// using var network = checkpoint.LoadNetwork(useEma: true, torch.CUDA);
    /// var samples = ml.Diffusion().Generate(new TorchSharpDenoiser(network, PredictionType.Epsilon, torch.CUDA), checkpoint.CreateSchedule(),
    ///     new GenerationViewOptions { Count = 50_000, BatchSize = 256, Sampler = "ddim", Steps = 50 });
    /// </code>
    /// </example>
    public IDataView Generate(IDenoiser denoiser, NoiseSchedule schedule, GenerationViewOptions options)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(denoiser.ClassCount, schedule.NumTrainTimesteps, onnxRuntime: false);
        return new GeneratedSampleDataView(() => denoiser, ownsDenoiser: false, denoiser.SampleShape, denoiser.ClassCount, schedule, options, options.OutputRange,
            options.ClipSample ?? true);
    }

    private static (OnnxExecutionProvider Provider, int DeviceId) ExecutionProvider(GenerationViewOptions options) => options.GpuDeviceId switch
    {
        null => (OnnxExecutionProvider.Cpu, 0),
        >= 0 and var gpu => (OnnxExecutionProvider.Cuda, gpu),
        var gpu => throw new ArgumentException($"GpuDeviceId must be a CUDA device number >= 0, or null for the CPU; got {gpu}.", nameof(options)),
    };

    /// <summary>An ONNX Runtime denoiser over an in-memory export (the caller disposes it).</summary>
    private static OnnxRuntimeDenoiser OpenOnnx(OnnxModel network, OnnxExecutionProvider provider, int deviceId, int? maxEvaluationBatch) =>
        OnnxRuntimeDenoiser.Load(network.ToByteArray(), "the trained denoiser", provider: provider, deviceId: deviceId, maxEvaluationBatch: maxEvaluationBatch).Denoiser;
}
