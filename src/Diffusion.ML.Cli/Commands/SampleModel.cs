using System.CommandLine;
using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// What <c>sample</c> runs on, by <c>--backend</c>: a checkpoint on TorchSharp ("torch"), or a file written by
/// <c>export</c> on ONNX Runtime ("onnx"), whose metadata supplies the schedule, prediction type and classes.
/// </summary>
internal sealed class SampleModel : IDisposable
{
    public const string Torch = "torch";
    public const string Onnx = "onnx";

    private readonly IDisposable _owner;
    private readonly IDisposable? _decoder;
    private readonly Func<float[], float[]>? _decode;

    private SampleModel(IDenoiser denoiser, NoiseSchedule schedule, IReadOnlyList<string>? classNames, IDisposable owner,
        IReadOnlyList<int> imageShape, Func<float[], float[]>? decode = null, IDisposable? decoder = null)
    {
        Denoiser = denoiser;
        Schedule = schedule;
        ClassNames = classNames;
        _owner = owner;
        ImageShape = imageShape;
        _decode = decode;
        _decoder = decoder;
    }

    /// <summary>Whether the samples are latents of an autoencoder (latent diffusion) that <see cref="ToImages"/> decodes.</summary>
    public bool IsLatent => _decode is not null;

    /// <summary>Shape of one output image: the autoencoder's image shape for a latent model, else the denoiser's sample shape.</summary>
    public IReadOnlyList<int> ImageShape { get; }

    /// <summary>
    /// The samples as images: for a latent model decoded by its autoencoder (TorchSharp: the checkpoint's reference; ONNX
    /// Runtime: the decoder export beside the file), scaled latents in; unchanged otherwise.
    /// </summary>
    public float[] ToImages(float[] samples) => _decode is { } decode ? decode(samples) : samples;

    public IDenoiser Denoiser { get; }

    public NoiseSchedule Schedule { get; }

    public IReadOnlyList<string>? ClassNames { get; }

    public static Option<string> BackendOption()
    {
        var option = new Option<string>("--backend")
        {
            Description = "torch: -c is a checkpoint (TorchSharp); onnx: -c is an .onnx file from export (ONNX Runtime, CPU)",
            DefaultValueFactory = _ => Torch,
        };
        option.AcceptOnlyFromAmong(Torch, Onnx);
        return option;
    }

    /// <summary>Opens <paramref name="path"/> with the backend; the caller disposes the result.</summary>
    /// <param name="backend"><see cref="Torch"/> or <see cref="Onnx"/>.</param>
    /// <param name="path">The checkpoint or ONNX file.</param>
    /// <param name="useEma">The EMA weights (a checkpoint's default) or the raw trained ones.</param>
    /// <param name="device"><c>--device</c>.</param>
    /// <param name="threads"><c>--threads</c>.</param>
    /// <param name="evaluationBatch"><c>--evaluation-batch</c>: most rows per network call; null for the backend's default.</param>
    public static SampleModel Open(string backend, string path, bool useEma, string device, int threads, int? evaluationBatch = null)
    {
        if (evaluationBatch is <= 0)
            throw new ArgumentException($"--evaluation-batch must be positive; got {evaluationBatch}.");
        if (backend == Onnx)
        {
            if (!useEma)
                throw new ArgumentException("--raw-weights picks a checkpoint's weights; an ONNX file holds the weights chosen at export (diffusion-ml export --raw-weights).");
            var (provider, deviceId) = OnnxDevice(device);
            var model = OnnxRuntimeDenoiser.Load(path, threads, provider: provider, deviceId: deviceId, maxEvaluationBatch: evaluationBatch);
            try
            {
                var schedule = model.ScheduleOptions is { } options ? new NoiseSchedule(options)
                    : throw new ArgumentException($"'{path}' records no noise schedule in its metadata; export it again with diffusion-ml export.");
                return new SampleModel(model.Denoiser, schedule, model.Metadata.ClassNames, model, model.ImageShape, model.IsLatent ? model.ToImages : null);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        if (Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"'{path}' is an ONNX file; sample it with --backend onnx.");
        var torchDevice = CommonOptions.PrepareTorch(device, threads);
        var ckpt = Checkpoint.Load(path);
        if (!useEma && !ckpt.HasTrainedWeights)
            throw new ArgumentException($"--raw-weights: '{path}' is a sampling-only copy with the EMA weights alone; drop --raw-weights.");
        var network = ckpt.LoadNetwork(useEma, torchDevice);
        var denoiser = new TorchSharpDenoiser(network, ckpt.Manifest.Trainer.PredictionType, torchDevice)
        {
            MaxEvaluationBatch = evaluationBatch ?? TorchSharpDenoiser.DefaultMaxEvaluationBatch(torchDevice),
        };
        if (ckpt.Manifest.Trainer.LatentAutoencoder?.Load(path, torchDevice) is not { } autoencoder)
            return new SampleModel(denoiser, ckpt.CreateSchedule(), ckpt.Manifest.ClassNames, network, denoiser.SampleShape);
        return new SampleModel(denoiser, ckpt.CreateSchedule(), ckpt.Manifest.ClassNames, network, autoencoder.ImageShape.Select(d => (int)d).ToArray(),
            samples => LatentCodec.DecodeLatents(autoencoder, samples, device: torchDevice), autoencoder);
    }

    /// <summary>--device for ONNX Runtime: cpu, or cuda / cuda:N for its CUDA execution provider.</summary>
    private static (OnnxExecutionProvider Provider, int DeviceId) OnnxDevice(string device)
    {
        if (device.Equals("cpu", StringComparison.OrdinalIgnoreCase)) return (OnnxExecutionProvider.Cpu, 0);
        if (device.Equals("cuda", StringComparison.OrdinalIgnoreCase)) return (OnnxExecutionProvider.Cuda, 0);
        if (device.StartsWith("cuda:", StringComparison.OrdinalIgnoreCase) && int.TryParse(device.AsSpan(5), out int id) && id >= 0)
            return (OnnxExecutionProvider.Cuda, id);
        throw new ArgumentException($"--backend onnx runs on cpu, cuda or cuda:N; got --device {device}.");
    }

    public void Dispose()
    {
        _owner.Dispose();
        _decoder?.Dispose();
    }
}
