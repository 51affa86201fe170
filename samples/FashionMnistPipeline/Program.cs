// Fashion-MNIST end to end with ML.NET: train a VAE and a class-conditional latent denoiser inside one pipeline's Fit,
// build a generator (sample requests -> DPM-Solver++ sampler -> VAE decoder), save it as an ML.NET model zip and write
// PNGs. `generate` loads that zip in a fresh process and writes the same PNGs, byte for byte, for the same seed.
//
//   dotnet run --project samples/FashionMnistPipeline -c Release -- train --out fmnist-run
//   dotnet run --project samples/FashionMnistPipeline -c Release -- generate --model fmnist-run/generator.zip --out again
using System.CommandLine;
using Diffusion.ML.Data;
using Diffusion.ML.MLNet;
using FashionMnistPipeline;
using Microsoft.ML;

var root = new RootCommand("Fashion-MNIST through ML.NET: VAE -> latent denoiser -> sampler -> decoder -> PNGs.");
var count = new Option<int>("--count") { Description = "images to generate (classes cycled)", DefaultValueFactory = _ => 20 };
var seed = new Option<long>("--seed") { Description = "seed of the generated images (and of training)", DefaultValueFactory = _ => 42 };

var data = new Option<string>("--data") { Description = "folder of the Fashion-MNIST IDX files (apt-get install dataset-fashion-mnist)", DefaultValueFactory = _ => FashionMnist.DefaultDirectory };
var output = new Option<string>("--out") { Description = "output folder: generator.zip, checkpoints/, images/", DefaultValueFactory = _ => "fmnist-run" };
var preset = new Option<string>("--preset") { Description = "full (default networks, tens of minutes on 2 CPU cores) or quick (tiny networks, seconds; noise-like images)", DefaultValueFactory = _ => "full" };
var rows = new Option<int?>("--rows") { Description = "training images to use (default: the preset's)" };
var vaeSteps = new Option<long?>("--vae-steps") { Description = "VAE training steps (default: the preset's)" };
var denoiserSteps = new Option<long?>("--denoiser-steps") { Description = "denoiser training steps (default: the preset's)" };
var samplerSteps = new Option<int>("--sampler-steps") { Description = "DPM-Solver++(2M) steps", DefaultValueFactory = _ => 20 };
var guidance = new Option<float>("--guidance") { Description = "classifier-free guidance scale", DefaultValueFactory = _ => 2f };
var train = new Command("train", "Train the pipeline, save the generator zip and write images.")
    { data, output, preset, rows, vaeSteps, denoiserSteps, samplerSteps, guidance, count, seed };
train.SetAction(parse =>
{
    string folder = parse.GetValue(output)!;
    var settings = PipelineSettings.Create(parse.GetValue(preset)!, parse.GetValue(rows), parse.GetValue(vaeSteps), parse.GetValue(denoiserSteps),
        parse.GetValue(seed), Path.Combine(folder, "checkpoints"));
    var progress = new Progress(every: Math.Max(1, settings.Vae.Steps / 10));
    settings.Vae.Progress = settings.Denoiser.Progress = progress;

    var ml = new MLContext(seed: 1);
    var images = FashionMnistData.Load(ml, parse.GetValue(data)!, settings.Rows);
    // Categories become keys 1..10 in class order; the VAE encodes pixels to latents; the denoiser learns the latents per
    // class. AddNoise writes the noisy latents and timesteps that the trained denoiser's transformer reads, so the fitted
    // chain scores rows too (the trainer itself noises the clean latents at every step).
    var training = ml.Transforms.Conversion.MapValueToKey("Label", "Category", keyData: FashionMnistData.CategoryKeys(ml))
        .Append(ml.Diffusion().TrainVae("Latent", "Pixels", settings.Vae))
        .Append(ml.Diffusion().AddNoise("Latent", new NoiseSchedulerOptions { Seed = parse.GetValue(seed) }))
        .Append(ml.Diffusion().TrainDenoiser("Latent", "Label", settings.Denoiser));
    var model = training.Fit(images);
    var vae = (VaeTransformer)model.ElementAt(1);
    var denoiser = model.LastTransformer;

    var requests = ml.Diffusion().SampleRequests(denoiser, parse.GetValue(count), parse.GetValue(seed));
    var generator = ml.Diffusion().Sampler(denoiser, new SamplerOptions { Steps = parse.GetValue(samplerSteps), GuidanceScale = parse.GetValue(guidance) })
        .Append(ml.Diffusion().VaeDecoder(vae, "Image", "Generated"))
        .Fit(requests);
    string zip = Path.Combine(folder, "generator.zip");
    ml.Model.Save(generator, requests.Schema, zip);
    Console.WriteLine($"saved {Path.GetFullPath(zip)}");
    ImageOutput.Write(ml, generator, requests, Path.Combine(folder, "images"));
    return 0;
});

var model = new Option<string>("--model") { Description = "the generator.zip written by train", Required = true };
var imagesOut = new Option<string>("--out") { Description = "folder for the PNGs", DefaultValueFactory = _ => "generated" };
var generate = new Command("generate", "Load a saved generator zip and write images (the same as train's for the same seed).") { model, imagesOut, count, seed };
generate.SetAction(parse =>
{
    var ml = new MLContext(seed: 1);
    var generator = ml.Model.Load(parse.GetValue(model)!, out var inputSchema);
    var requests = ml.Diffusion().SampleRequests(inputSchema, parse.GetValue(count), parse.GetValue(seed), classes: Enumerable.Range(0, FashionMnist.ClassNames.Count).ToArray());
    ImageOutput.Write(ml, generator, requests, parse.GetValue(imagesOut)!);
    return 0;
});

root.Subcommands.Add(train);
root.Subcommands.Add(generate);
return root.Parse(args).Invoke();

/// <summary>Prints training progress every few steps.</summary>
internal sealed class Progress(long every) : IProgress<DiffusionTrainingProgress>
{
    public void Report(DiffusionTrainingProgress p)
    {
        if (p.Step % every == 0 || p.Step == p.TotalSteps)
            Console.WriteLine($"{p.Component}: step {p.Step}/{p.TotalSteps}, loss {p.Loss:0.0000}{(p.Remaining is { } r ? $", {r:mm\\:ss} left" : "")}");
    }
}
