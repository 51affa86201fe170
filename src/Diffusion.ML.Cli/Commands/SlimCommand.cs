using System.CommandLine;
using Diffusion.ML.TorchSharp;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml slim</c>: writes the sampling-only copy of a denoiser or autoencoder checkpoint (manifest and EMA weights),
/// optionally in half precision; a latent-diffusion model can be pointed at such a copy of its autoencoder.
/// </summary>
internal static class SlimCommand
{
    private static readonly Dictionary<string, WeightPrecision> Precisions = new()
    {
        ["float32"] = WeightPrecision.Float32, ["float16"] = WeightPrecision.Float16, ["bfloat16"] = WeightPrecision.BFloat16,
    };

    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint", "-c")
        {
            Description = "checkpoint written by train, train-vae, train-vqvae or train-autoencoder (or another sampling-only copy)", Required = true,
        };
        var autoencoder = new Option<string?>("--autoencoder")
        {
            Description = "latent-diffusion denoisers: refer to this copy of the autoencoder (e.g. its slim copy beside the output) instead of the trained one",
        };
        var autoencoderEma = new Option<bool>("--autoencoder-ema") { Description = "autoencoder checkpoints: keep the EMA weights instead of the trained ones" };
        var output = new Option<string>("--output", "-o") { Description = "sampling-only checkpoint to write", Required = true };
        var dtype = new Option<string>("--dtype")
        {
            Description = "precision of the stored weights: float16 or bfloat16 halve the file (loading widens them back to float32)",
            DefaultValueFactory = _ => "float32",
        };
        dtype.AcceptOnlyFromAmong([.. Precisions.Keys]);
        var command = new Command("slim", "Write a sampling-only copy of a checkpoint: the EMA weights without the trained weights and optimizer state.")
        {
            checkpoint, output, dtype, autoencoder, autoencoderEma,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string source = parse.GetValue(checkpoint)!, target = parse.GetValue(output)!;
            TorchSharpRuntime.EnsureLoaded(); // the precision conversion runs in libtorch
            var precision = Precisions[parse.GetValue(dtype)!];
            if (AutoencoderCheckpoint.IsAutoencoderFile(source))
            {
                if (parse.GetValue(autoencoder) is not null) throw new ArgumentException("--autoencoder applies to latent-diffusion denoisers; the checkpoint is an autoencoder.");
                AutoencoderCheckpoint.Load(source).SaveForInference(target, precision, parse.GetValue(autoencoderEma));
            }
            else if (parse.GetValue(autoencoderEma)) throw new ArgumentException("--autoencoder-ema applies to autoencoder checkpoints; a denoiser's copy always keeps its EMA weights.");
            else Checkpoint.Load(source).SaveForInference(target, precision, parse.GetValue(autoencoder));
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(target)}: {new FileInfo(target).Length / 1e6:0.0} MB of {parse.GetValue(dtype)} weights " +
                $"(from {new FileInfo(source).Length / 1e6:0.0} MB)");
            return 0;
        }, cancellationToken));
        return command;
    }
}
