using System.CommandLine;
using System.Globalization;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml latent-diffusion</c>: the latent-diffusion chain (Rombach et al. 2022) as one resumable command that runs
/// the stage commands in order, each on its own checkpoint in the output folder: <c>train-vae</c> (vae.ckpt), <c>train
/// --autoencoder</c> with a DiT on the VAE's scaled latents (denoiser.ckpt; the data set is encoded at its start), and
/// <c>sample</c>, which decodes the sampled latents (samples/). A stage whose checkpoint exists resumes it, so running
/// the command again after an interruption continues where it stopped and a finished stage costs nothing but a check.
/// </summary>
internal static class LatentDiffusionCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "image data (fashion-mnist or digits)", DefaultValueFactory = _ => "fashion-mnist" };
        dataset.AcceptOnlyFromAmong(DatasetCatalog.SplitNames);
        var dataPath = new Option<string?>("--data-path") { Description = "file or folder of the data (default: its usual place)" };
        var output = new Option<string>("--out", "-o") { Description = "folder of the stages' checkpoints and samples", Required = true };
        var vaeSteps = new Option<long>("--vae-steps") { Description = "VAE training steps", DefaultValueFactory = _ => 2_000 };
        var levels = new Option<string>("--levels") { Description = "VAE channels per level (2^(levels-1) downsampling)", DefaultValueFactory = _ => "32,64,64" };
        var latentChannels = new Option<int>("--latent-channels") { Description = "VAE latent channels", DefaultValueFactory = _ => 4 };
        var steps = new Option<long>("--steps") { Description = "DiT training steps on the latents", DefaultValueFactory = _ => 5_000 };
        var ditSize = new Option<string>("--dit-size") { Description = "DiT size S, B, L or XL", DefaultValueFactory = _ => "S" };
        var patchSize = new Option<int>("--patch-size") { Description = "DiT patch size on the latent grid", DefaultValueFactory = _ => 1 };
        var hiddenSize = new Option<int?>("--hidden-size") { Description = "DiT width, overriding --dit-size's" };
        var depth = new Option<int?>("--depth") { Description = "DiT blocks, overriding --dit-size's" };
        var heads = new Option<int?>("--heads") { Description = "DiT heads, overriding --dit-size's" };
        var batch = new Option<int>("--batch-size") { Description = "images per training step (both stages)", DefaultValueFactory = _ => 64 };
        var count = new Option<int>("--samples") { Description = "images to sample at the end", DefaultValueFactory = _ => 100 };
        var samplingSteps = new Option<int>("--sampling-steps") { Description = "sampler steps", DefaultValueFactory = _ => 50 };
        var guidance = new Option<double>("--guidance") { Description = "classifier-free guidance scale (class-conditional data)", DefaultValueFactory = _ => 2 };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var command = new Command("latent-diffusion", "Train a VAE, a DiT on its latents, and sample decoded images: the latent-diffusion chain, resumable stage by stage.")
        {
            dataset, dataPath, output, vaeSteps, levels, latentChannels, steps, ditSize, patchSize, hiddenSize, depth, heads, batch, count,
            samplingSteps, guidance, seed, device, threads,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string folder = parse.GetValue(output)!;
            Directory.CreateDirectory(folder);
            string vae = Path.Combine(folder, "vae.ckpt"), denoiser = Path.Combine(folder, "denoiser.ckpt");
            string Invariant(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture)!;
            string[] shared = ["--dataset", parse.GetValue(dataset)!, .. Optional("--data-path", parse.GetValue(dataPath)),
                "--batch-size", Invariant(parse.GetValue(batch)), "--seed", Invariant(parse.GetValue(seed)),
                "--device", parse.GetValue(device)!, "--threads", Invariant(parse.GetValue(threads))];
            long vaeTotal = parse.GetValue(vaeSteps), ditTotal = parse.GetValue(steps);
            // A finished training stage is skipped, not resumed: resuming rewrites its checkpoint, and the denoiser pins
            // the VAE checkpoint's SHA-256.
            bool vaeDone = File.Exists(vae) && AutoencoderCheckpoint.Load(vae).Manifest.Step >= vaeTotal;
            bool ditDone = File.Exists(denoiser) && Checkpoint.Load(denoiser).Manifest.Step >= ditTotal;
            string[][] stages =
            [
                ["train-vae", "--output", vae, "--steps", Invariant(vaeTotal), "--levels", parse.GetValue(levels)!,
                    "--latent-channels", Invariant(parse.GetValue(latentChannels)), .. Resume(vae), .. shared],
                ["train", "--output", denoiser, "--autoencoder", vae, "--model", "dit", "--dit-size", parse.GetValue(ditSize)!,
                    "--patch-size", Invariant(parse.GetValue(patchSize)), .. Optional("--hidden-size", parse.GetValue(hiddenSize)),
                    .. Optional("--depth", parse.GetValue(depth)), .. Optional("--heads", parse.GetValue(heads)),
                    "--steps", Invariant(ditTotal), .. Resume(denoiser), .. shared],
                ["sample", "-c", denoiser, "-n", Invariant(parse.GetValue(count)), "--steps", Invariant(parse.GetValue(samplingSteps)),
                    "--classes", "all", "--guidance", Invariant(parse.GetValue(guidance)), "--seed", Invariant(parse.GetValue(seed)),
                    "--device", parse.GetValue(device)!, "--threads", Invariant(parse.GetValue(threads)), "-o", Path.Combine(folder, "samples")],
            ];
            foreach (string[] stage in stages)
            {
                if ((stage[0] == "train-vae" && vaeDone) || (stage[0] == "train" && ditDone))
                {
                    AnsiConsole.MarkupLine($"[grey]stage {Markup.Escape(stage[0])}: finished earlier, skipped[/]");
                    continue;
                }
                AnsiConsole.MarkupLine($"[bold]stage:[/] diffusion-ml {Markup.Escape(string.Join(' ', stage))}");
                int code = await CliApp.CreateRootCommand().Parse(stage).InvokeAsync(cancellationToken: cancellationToken);
                if (code != 0)
                {
                    AnsiConsole.MarkupLine($"[red]stage {Markup.Escape(stage[0])} failed (exit {code})[/]; fix it and run the same command again to continue.");
                    return code;
                }
            }
            return 0;
        });
        return command;
    }

    private static string[] Resume(string checkpoint) => File.Exists(checkpoint) ? ["--resume"] : [];

    private static string[] Optional(string option, object? value) =>
        value is null ? [] : [option, Convert.ToString(value, CultureInfo.InvariantCulture)!];
}
