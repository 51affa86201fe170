using System.CommandLine;
using Diffusion.ML.Cli.Commands;
using Diffusion.ML.Zoo;
using Spectre.Console;

namespace Diffusion.ML.Cli;

/// <summary>The diffusion-ml command tree and the way its commands report errors.</summary>
internal static class CliApp
{
    /// <summary>Exit code of a command refused because of bad input (the message says what to fix).</summary>
    public const int InputError = 2;

    /// <summary>The time a cancelled command gets before the process is ended (declared before <see cref="Invocation"/>, which reads it).</summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How the process runs a command. On Ctrl+C, SIGINT or SIGTERM the command's cancellation token fires and the command
    /// gets <see cref="ShutdownGrace"/> to finish: a training command completes its step and writes its checkpoint, a
    /// generate job its current files. System.CommandLine's default of 2 seconds ended training runs before the
    /// checkpoint was written (seen with a 1.2-second training step).
    /// </summary>
    public static InvocationConfiguration Invocation { get; } = new() { ProcessTerminationTimeout = ShutdownGrace };

    public static RootCommand CreateRootCommand() => new("diffusion-ml: train, sample and try diffusion models in .NET (Diffusion.ML).")
    {
        TrainCommand.Create(),
        SampleCommand.Create(),
        GenerateCommand.Create(),
        ExportCommand.Create(),
        DemoCommand.Create(),
        BenchCommand.Create(),
        SlimCommand.Create(),
        TrainClassifierCommand.Create(),
        EvalCommand.Create(),
        TrainVaeCommand.Create(),
        TrainVqVaeCommand.Create(),
        TrainAutoencoderCommand.Create(),
        ExportAutoencoderCommand.Create(),
        ZooCommand.Create(),
        LatentDiffusionCommand.Create(),
        EvalPointsCommand.Create(),
        EvalAutoencoderCommand.Create(),
    };

    /// <summary>
    /// Runs a command body on a worker thread; bad input (wrong arguments, missing or corrupt files, zoo failures) becomes one red line
    /// and exit code <see cref="InputError"/> instead of a stack trace.
    /// </summary>
    public static Task<int> Run(Func<int> body, CancellationToken cancellationToken) => Task.Run(() =>
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ZooException)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return InputError;
        }
    }, cancellationToken);
}
