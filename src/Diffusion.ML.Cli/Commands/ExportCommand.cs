using System.CommandLine;
using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp;
using Diffusion.ML.TorchSharp.Onnx;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary><c>diffusion-ml export</c>: writes a checkpoint's network as a self-describing ONNX file (docs/onnx.md).</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "checkpoint written by train", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "ONNX file to write (default: the checkpoint's name with .onnx)" };
        var opset = new Option<int>("--opset")
        {
            Description = $"ONNX opset, {OnnxGraphBuilder.MinOpset}-{OnnxGraphBuilder.MaxOpset}: 17 decomposes GroupNorm (ONNX Runtime 1.14+), 21 uses GroupNormalization",
            DefaultValueFactory = _ => OnnxGraphBuilder.DefaultOpset,
        };
        var raw = new Option<bool>("--raw-weights") { Description = "export the trained weights instead of their EMA" };
        var sampler = new Option<string?>("--sampler") { Description = "ddim or dpm-solver++-2m: export the whole sampler with classifier-free guidance (an ONNX Loop) as a one-file generator: noise, steps, class_labels, guidance_scale -> images" };
        sampler.AcceptOnlyFromAmong([.. Enum.GetValues<OnnxGeneratorSampler>().Select(GeneratorOnnxExporter.NameOf)]);

        var command = new Command("export", "Export a checkpoint's denoiser to ONNX, with its schedule, classes and sample shape as metadata (a latent model: and its autoencoder's decoder, as NAME-decoder.onnx).")
        {
            checkpoint, output, opset, raw, sampler,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string source = parse.GetValue(checkpoint)!;
            string target = parse.GetValue(output) ?? Path.ChangeExtension(source, ".onnx");
            TorchSharpRuntime.EnsureLoaded();
            var ckpt = Checkpoint.Load(source);
            OnnxModel model;
            try
            {
                bool latent = ckpt.Manifest.Trainer.LatentAutoencoder is not null;
                if (parse.GetValue(sampler) is not null && latent)
                    throw new ArgumentException($"'{source}' generates latents; a one-file generator would output latents, not images. Export without --sampler: the denoiser and its decoder.");
                if (latent)
                {
                    // Latent diffusion: the decoder goes beside the denoiser, which names it in its metadata.
                    string decoderPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(target))!, Path.GetFileNameWithoutExtension(target) + "-decoder.onnx");
                    var (denoiser, decoder) = DenoiserOnnxExporter.ExportLatent(ckpt, source, Path.GetFileName(decoderPath), parse.GetValue(opset), useEma: !parse.GetValue(raw));
                    decoder.Save(decoderPath);
                    AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(decoderPath)} ({new FileInfo(decoderPath).Length / 1024.0 / 1024.0:0.00} MiB): the autoencoder's decoder, latents -> images");
                    model = denoiser;
                }
                else
                    model = parse.GetValue(sampler) is null
                        ? DenoiserOnnxExporter.Export(ckpt, parse.GetValue(opset), useEma: !parse.GetValue(raw))
                        : GeneratorOnnxExporter.Export(ckpt, Enum.GetValues<OnnxGeneratorSampler>().Single(s => GeneratorOnnxExporter.NameOf(s) == parse.GetValue(sampler)),
                            parse.GetValue(opset), useEma: !parse.GetValue(raw));
            }
            catch (NotSupportedException e)
            {
                throw new ArgumentException($"'{source}' cannot be exported: {e.Message}", e);
            }
            model.Save(target);
            var metadata = DiffusionModelMetadata.FromProperties(model.Metadata, target);
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(target)} ({new FileInfo(target).Length / 1024.0 / 1024.0:0.00} MiB, opset {model.Opset}, "
                + $"{model.NodeCount} nodes): {Markup.Escape(metadata.ModelKind)} [[{string.Join(", ", metadata.SampleShape)}]], "
                + $"{metadata.PredictionType}, {(metadata.ClassCount > 0 ? $"{metadata.ClassCount} classes" : "unconditional")}, "
                + $"inputs {Markup.Escape(string.Join(", ", model.InputNames))} -> {Markup.Escape(string.Join(", ", model.OutputNames))}");
            return 0;
        }, cancellationToken));
        return command;
    }
}
