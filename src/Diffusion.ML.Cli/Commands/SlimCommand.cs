using System.CommandLine;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary><c>diffusion-ml slim</c>: writes the sampling-only copy of a checkpoint (manifest and EMA weights).</summary>
internal static class SlimCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "full checkpoint written by train", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "sampling-only checkpoint to write", Required = true };
        var command = new Command("slim", "Write a sampling-only copy of a checkpoint: the EMA weights without the trained weights and optimizer state.")
        {
            checkpoint, output,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string source = parse.GetValue(checkpoint)!, target = parse.GetValue(output)!;
            Checkpoint.Load(source).SaveForInference(target);
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(target)}: {new FileInfo(target).Length / 1e6:0.0} MB (from {new FileInfo(source).Length / 1e6:0.0} MB)");
            return 0;
        }, cancellationToken));
        return command;
    }
}
