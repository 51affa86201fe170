using System.CommandLine;
using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Onnx;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml export-autoencoder</c>: writes the parts of an autoencoder checkpoint as ONNX files
/// (<c>&lt;prefix&gt;-encoder.onnx</c>, <c>-decoder.onnx</c> and for a VQ-VAE <c>-quantizer.onnx</c>; docs/autoencoders.md).
/// </summary>
internal static class ExportAutoencoderCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "checkpoint written by train-vae, train-vqvae or train-autoencoder", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "file prefix (default: the checkpoint's path without extension)" };
        var opset = new Option<int>("--opset")
        {
            Description = $"ONNX opset, {OnnxGraphBuilder.MinOpset}-{OnnxGraphBuilder.MaxOpset}",
            DefaultValueFactory = _ => OnnxGraphBuilder.DefaultOpset,
        };
        var ema = new Option<bool>("--ema") { Description = "export the EMA weights (the run must have kept an EMA)" };
        var command = new Command("export-autoencoder", "Export an autoencoder's encoder, decoder (and a VQ-VAE's quantizer) to ONNX, with the latent scale as metadata.")
        {
            checkpoint, output, opset, ema,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string source = parse.GetValue(checkpoint)!;
            string prefix = parse.GetValue(output) ?? Path.ChangeExtension(source, null);
            var file = AutoencoderCheckpoint.Load(source);
            if (parse.GetValue(ema) && !file.HasEma) throw new ArgumentException($"'{source}' holds no EMA weights; leave out --ema.");
            using var model = file.LoadModel(useEma: parse.GetValue(ema));
            foreach (var (part, onnx) in AutoencoderOnnxExporter.ExportAll(model, parse.GetValue(opset)))
            {
                string target = $"{prefix}-{part}.onnx";
                onnx.Save(target);
                AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(target)} ({new FileInfo(target).Length / 1024.0:0} KiB, opset {onnx.Opset}, {onnx.NodeCount} nodes): "
                    + $"{Markup.Escape(string.Join(", ", onnx.InputNames))} -> {Markup.Escape(string.Join(", ", onnx.OutputNames))}");
            }
            AnsiConsole.MarkupLine($"latent scale {model.LatentScale:0.######} (metadata {AutoencoderOnnxExporter.LatentScaleKey})");
            return 0;
        }, cancellationToken));
        return command;
    }
}
