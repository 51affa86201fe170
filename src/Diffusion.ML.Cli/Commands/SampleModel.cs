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

    private SampleModel(IDenoiser denoiser, NoiseSchedule schedule, IReadOnlyList<string>? classNames, IDisposable owner, ImageAutoencoder? autoencoder = null, Device? device = null)
    {
        Denoiser = denoiser;
        Schedule = schedule;
        ClassNames = classNames;
        _owner = owner;
        Autoencoder = autoencoder;
        _device = device;
    }

    /// <summary>For a latent diffusion model: the autoencoder that decodes its samples (from the checkpoint's reference), else null.</summary>
    public ImageAutoencoder? Autoencoder { get; }

    /// <summary>Shape of one output image: the autoencoder's image shape for a latent model, else the denoiser's sample shape.</summary>
    public IReadOnlyList<int> ImageShape => Autoencoder is { } a ? a.ImageShape.Select(d => (int)d).ToArray() : Denoiser.SampleShape;

    /// <summary>The samples as images: decoded by the autoencoder for a latent model (scaled latents in), unchanged otherwise.</summary>
    public float[] ToImages(float[] samples) => Autoencoder is { } a ? LatentCodec.DecodeLatents(a, samples, device: _device) : samples;

    private readonly Device? _device;

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
    public static SampleModel Open(string backend, string path, bool useEma, string device, int threads)
    {
        if (backend == Onnx)
        {
            if (!useEma)
                throw new ArgumentException("--raw-weights picks a checkpoint's weights; an ONNX file holds the weights chosen at export (diffusion-ml export --raw-weights).");
            var (provider, deviceId) = OnnxDevice(device);
            var model = OnnxRuntimeDenoiser.Load(path, threads, provider: provider, deviceId: deviceId);
            try
            {
                var schedule = model.ScheduleOptions is { } options ? new NoiseSchedule(options)
                    : throw new ArgumentException($"'{path}' records no noise schedule in its metadata; export it again with diffusion-ml export.");
                return new SampleModel(model.Denoiser, schedule, model.Metadata.ClassNames, model);
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
        var network = ckpt.LoadNetwork(useEma, torchDevice);
        var autoencoder = ckpt.Manifest.Trainer.LatentAutoencoder?.Load(path, torchDevice);
        return new SampleModel(new TorchSharpDenoiser(network, ckpt.Manifest.Trainer.PredictionType, torchDevice),
            ckpt.CreateSchedule(), ckpt.Manifest.ClassNames, network, autoencoder, torchDevice);
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
        Autoencoder?.Dispose();
    }
}
