using System.CommandLine;
using System.Text.Json;
using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Autoencoders;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml eval-autoencoder</c>: measures an autoencoder checkpoint (a training checkpoint, its sampling-only or
/// half-precision copy from <c>slim</c>, or a zoo id) on a data set's test split, as the training commands do at their end:
/// reconstruction MSE, -ELBO for a VAE, codebook usage and perplexity for a VQ-VAE.
/// </summary>
internal static class EvalAutoencoderCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint", "-c")
        {
            Description = "autoencoder checkpoint (train-vae, train-vqvae, train-autoencoder, or its slim copy) or zoo id (e.g. fashion-mnist-vae)", Required = true,
        };
        var dataset = new Option<string>("--dataset") { Description = "data set whose test split is measured", DefaultValueFactory = _ => "fashion-mnist" };
        dataset.AcceptOnlyFromAmong([.. DatasetCatalog.SplitNames]);
        var dataPath = new Option<string?>("--data-path") { Description = "folder (fashion-mnist) or CSV file (digits) of the data (default: the usual place)" };
        var testLimit = new Option<int?>("--test-limit") { Description = "measure on the first N test images only" };
        var ema = new Option<bool>("--autoencoder-ema") { Description = "measure the EMA weights (the checkpoint must have them)" };
        var json = new Option<string?>("--json") { Description = "JSON report to write" };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var zoo = new ZooOptions();
        var command = new Command("eval-autoencoder", "Measure an autoencoder checkpoint on a test split: reconstruction MSE, -ELBO (VAE), codebook usage and perplexity (VQ-VAE).")
        {
            checkpoint, dataset, dataPath, testLimit, ema, json, seed, device, threads,
        };
        foreach (var option in zoo.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            var torchDevice = CommonOptions.PrepareTorch(parse.GetValue(device)!, parse.GetValue(threads));
            string path = ModelSource.ResolveAutoencoder(parse.GetValue(checkpoint)!, () => zoo.CreateClient(parse), cancellationToken);
            var file = AutoencoderCheckpoint.Load(path);
            var test = DatasetCatalog.LoadSplit(parse.GetValue(dataset)!, parse.GetValue(dataPath), test: true);
            if (parse.GetValue(testLimit) is int n && n < test.Count) test = test.Subset(Enumerable.Range(0, Math.Max(n, 1)).ToArray());
            using var model = file.LoadModel(parse.GetValue(ema), torchDevice);
            var e = AutoencoderEvaluator.Evaluate(model, test, seed: parse.GetValue(seed), device: torchDevice);
            AnsiConsole.MarkupLine(Markup.Escape($"{path} ({model.Kind}, {file.Manifest.WeightPrecision} weights{(parse.GetValue(ema) ? ", EMA" : "")}), {e.Count} test images: ") +
                $"MSE [bold]{e.Mse:0.00000}[/]" +
                (e.NegativeElbo is { } elbo ? $", -ELBO {elbo:0.000} nats/image = {e.BitsPerDim:0.0000} bits/dim" : "") +
                (e.Perplexity is { } perplexity ? $", codebook usage {e.CodebookUsage:P1}, perplexity {perplexity:0.00}" : "") +
                $"; latent scale {model.LatentScale:0.0000}");
            if (parse.GetValue(json) is { } report)
            {
                var record = new
                {
                    command = "diffusion-ml " + string.Join(' ', parse.Tokens.Select(t => t.Value)),
                    checkpoint = path,
                    kind = model.Kind,
                    weightPrecision = file.Manifest.WeightPrecision.ToString(),
                    latentScale = model.LatentScale,
                    test = e,
                };
                AtomicFile.WriteAllBytes(report, JsonSerializer.SerializeToUtf8Bytes(record, new JsonSerializerOptions { WriteIndented = true }));
            }
            return 0;
        }, cancellationToken));
        return command;
    }
}
