using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Reports a training Fit: every step to <see cref="DiffusionTrainingOptions.Progress"/>, and about twenty lines per
/// run to <c>MLContext.Log</c> (source "Diffusion.ML.{component}"), like ML.NET's own trainers.
/// </summary>
internal sealed class TrainingReporter : IDisposable
{
    private readonly IChannel _channel;
    private readonly string _component;
    private readonly IProgress<DiffusionTrainingProgress>? _progress;
    private readonly long _every;

    public TrainingReporter(MLContext mlContext, string component, DiffusionTrainingOptions options)
    {
        _channel = ((IHostEnvironment)mlContext).Register("Diffusion.ML." + component).Start("Fit");
        _component = component;
        _progress = options.Progress;
        _every = Math.Max(1, options.Steps / 20);
    }

    public void Info(string message) => _channel.Info(MessageSensitivity.None, message);

    public void Report(long step, long totalSteps, double loss, TimeSpan remaining)
    {
        _progress?.Report(new DiffusionTrainingProgress(_component, step, totalSteps, loss, remaining));
        if (step % _every == 0 || step == totalSteps)
            _channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture, $"step {step}/{totalSteps}, loss {loss:G4}, {remaining:hh\\:mm\\:ss} left"));
    }

    public void Dispose() => _channel.Dispose();
}
