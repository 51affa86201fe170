using System.CommandLine;
using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;

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

    private SampleModel(IDenoiser denoiser, NoiseSchedule schedule, IReadOnlyList<string>? classNames, IDisposable owner)
    {
        Denoiser = denoiser;
        Schedule = schedule;
        ClassNames = classNames;
        _owner = owner;
    }

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
            if (!device.Equals("cpu", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--backend onnx runs on the CPU (ONNX Runtime); --device {device} applies to --backend torch.");
            var model = OnnxRuntimeDenoiser.Load(path, threads);
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
        return new SampleModel(new TorchSharpDenoiser(network, ckpt.Manifest.Trainer.PredictionType, torchDevice),
            ckpt.CreateSchedule(), ckpt.Manifest.ClassNames, network);
    }

    public void Dispose() => _owner.Dispose();
}
