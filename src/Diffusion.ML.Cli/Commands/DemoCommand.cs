using System.CommandLine;
using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml demo</c>: the offline end-to-end run. Trains a class-conditional UNet on the 8x8 UCI digits embedded
/// in the tool, then draws one row of DDIM samples per digit with classifier-free guidance.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var steps = new Option<long>("--steps") { Description = "training steps (about 0.1 s each on 2 CPU cores)", DefaultValueFactory = _ => 1500 };
        var outputDir = new Option<string>("--output", "-o") { Description = "output folder", DefaultValueFactory = _ => "demo-output" };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var command = new Command("demo", "Train a small class-conditional DDPM on the embedded 8x8 digits and sample a grid (offline, a few minutes on CPU).")
        {
            steps, outputDir, seed, threads,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            var device = CommonOptions.PrepareTorch("cpu", parse.GetValue(threads));
            string dir = parse.GetValue(outputDir)!;
            string checkpoint = Path.Combine(dir, "digits.ckpt");
            var data = DatasetCatalog.EmbeddedDigits();
            AnsiConsole.MarkupLine($"data: {data.Count} UCI digits, 8x8, 10 classes (embedded)");

            var options = new DdpmTrainerOptions
            {
                BatchSize = 64, LearningRate = 1e-3, WarmupSteps = 100, EmaDecay = 0.999, Seed = parse.GetValue(seed),
                PredictionType = PredictionType.Epsilon,
            };
            var trainer = File.Exists(checkpoint)
                ? DdpmTrainer.Resume(checkpoint, data, device)
                : new DdpmTrainer(ModelPresets.Create(data, baseChannels: null, attentionResolutions: null, conditional: true), data, options, device);
            using (trainer)
            {
                AnsiConsole.MarkupLine($"model: UNet, {trainer.Network.ParameterCount:N0} parameters; checkpoint {Markup.Escape(checkpoint)}");
                int code = TrainCommand.Run(trainer, parse.GetValue(steps), checkpoint, checkpointEvery: 250, cancellationToken);
                if (code != 0) return code;

                trainer.Ema.Model.eval();
                var denoiser = new TorchSharpDenoiser(trainer.Ema.Model, trainer.Options.PredictionType, device);
                var generation = new GenerationOptions
                {
                    Count = 100, BatchSize = 100, NumInferenceSteps = 50, Seed = parse.GetValue(seed),
                    ClassLabels = Enumerable.Range(0, 100).Select(i => i / 10).ToArray(), GuidanceScale = 2.0,
                };
                string grid = SampleCommand.Generate(denoiser, trainer.Schedule, new DdimSampler(), generation, Path.Combine(dir, "samples"),
                    columns: 10, singles: false, cancellationToken);
                AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(grid)} (row k: digit k, DDIM-50, guidance 2)");
            }
            return 0;
        }, cancellationToken));
        return command;
    }
}
