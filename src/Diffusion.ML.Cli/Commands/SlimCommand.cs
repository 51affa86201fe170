using System.CommandLine;
using Diffusion.ML.TorchSharp;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary><c>diffusion-ml slim</c>: writes the sampling-only copy of a checkpoint (manifest and EMA weights), optionally in half precision.</summary>
internal static class SlimCommand
{
    private static readonly Dictionary<string, WeightPrecision> Precisions = new()
    {
        ["float32"] = WeightPrecision.Float32, ["float16"] = WeightPrecision.Float16, ["bfloat16"] = WeightPrecision.BFloat16,
    };

    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "checkpoint written by train (or another sampling-only copy)", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "sampling-only checkpoint to write", Required = true };
        var dtype = new Option<string>("--dtype")
        {
            Description = "precision of the stored weights: float16 or bfloat16 halve the file (loading widens them back to float32)",
            DefaultValueFactory = _ => "float32",
        };
        dtype.AcceptOnlyFromAmong([.. Precisions.Keys]);
        var command = new Command("slim", "Write a sampling-only copy of a checkpoint: the EMA weights without the trained weights and optimizer state.")
        {
            checkpoint, output, dtype,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string source = parse.GetValue(checkpoint)!, target = parse.GetValue(output)!;
            TorchSharpRuntime.EnsureLoaded(); // the precision conversion runs in libtorch
            Checkpoint.Load(source).SaveForInference(target, Precisions[parse.GetValue(dtype)!]);
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(target)}: {new FileInfo(target).Length / 1e6:0.0} MB of {parse.GetValue(dtype)} weights " +
                $"(from {new FileInfo(source).Length / 1e6:0.0} MB)");
            return 0;
        }, cancellationToken));
        return command;
    }
}
