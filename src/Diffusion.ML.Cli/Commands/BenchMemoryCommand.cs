using System.CommandLine;
using System.Diagnostics;
using Diffusion.ML.Cli.Benchmarks;
using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;
using TorchSharp;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml bench memory</c>: the process's working set over many training steps and then many sampler
/// evaluations, to show native memory stays flat (TorchSharp frees a tensor's memory only when it is disposed).
/// </summary>
internal static class BenchMemoryCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "training steps", DefaultValueFactory = _ => 2000 };
        var evaluations = new Option<int>("--evaluations") { Description = "sampler network evaluations (DDIM-20 with guidance)", DefaultValueFactory = _ => 2000 };
        var every = new Option<int>("--every") { Description = "report every this many steps / evaluations", DefaultValueFactory = _ => 250 };
        var baseChannels = new Option<int>("--base-channels") { Description = "UNet base width", DefaultValueFactory = _ => 32 };
        var batch = new Option<int>("--batch-size") { Description = "images per training step and per sampling batch", DefaultValueFactory = _ => 8 };
        var threads = CommonOptions.Threads();
        var command = new Command("memory", "Working set over many training steps and sampler evaluations (flat = no native leak).")
        {
            steps, evaluations, every, baseChannels, batch, threads,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            int stepCount = parse.GetValue(steps), evaluationCount = parse.GetValue(evaluations), interval = parse.GetValue(every), batchSize = parse.GetValue(batch);
            if (stepCount < 1 || evaluationCount < 1 || interval < 1 || batchSize < 1)
                throw new ArgumentException("--steps, --evaluations, --every and --batch-size must be positive.");
            var benchmark = new BenchmarkCase
            {
                BaseChannels = parse.GetValue(baseChannels),
                Attention = [7],
                Batch = batchSize,
                Threads = parse.GetValue(threads) > 0 ? parse.GetValue(threads) : Environment.ProcessorCount,
            };
            CommonOptions.PrepareTorch("cpu", benchmark.Threads);
            using var network = UNetBenchmarks.CreateNetwork(benchmark);
            // One line per report as it is measured (a long run shows its progress), then the whole table.
            var table = new Table().AddColumns("phase", "done", "working set", "live tensors", "elapsed");
            var clock = Stopwatch.StartNew();
            void Report(string phase, int done)
            {
                string[] row = [phase, $"{done}", BenchCommand.Megabytes(WorkingSet()), $"{DisposeScopeManager.Statistics.ThreadTotalLiveCount}", $"{clock.Elapsed:mm\\:ss}"];
                Console.WriteLine(string.Join("  ", row));
                table.AddRow(row);
            }

            using (var trainer = new DdpmTrainer(network, UNetBenchmarks.RandomImages(batchSize * 4), new DdpmTrainerOptions { BatchSize = batchSize, WarmupSteps = 0, EmaDecay = 0.999 }))
            {
                Report("training", 0);
                for (int step = 1; step <= stepCount; step++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    trainer.TrainStep();
                    if (step % interval == 0 || step == stepCount) Report("training", step);
                }
            }

            var counting = new CountingDenoiser(UNetBenchmarks.TorchSharpDenoiser(network, torch.CPU));
            var pipeline = new DiffusionPipeline(counting, new NoiseSchedule(new NoiseScheduleOptions()));
            var options = new GenerationOptions { Count = batchSize, BatchSize = batchSize, NumInferenceSteps = 20, ClassLabels = [0, 1, 2], GuidanceScale = 2 };
            var sampler = Samplers.Create("ddim");
            Report("sampling", 0);
            int nextReport = interval;
            while (counting.Evaluations < evaluationCount)
            {
                cancellationToken.ThrowIfCancellationRequested();
                pipeline.Generate(sampler, options);
                if (counting.Evaluations >= nextReport || counting.Evaluations >= evaluationCount)
                {
                    Report("sampling", counting.Evaluations);
                    while (nextReport <= counting.Evaluations) nextReport += interval;
                }
            }
            AnsiConsole.MarkupLine(Markup.Escape($"UNet base {benchmark.BaseChannels}, batch {batchSize}, {benchmark.Threads} threads; " +
                "sampling: DDIM-20 with guidance 2 (one evaluation = one network call on the doubled batch)"));
            AnsiConsole.Write(table);
            return 0;
        }, cancellationToken));
        return command;
    }

    private static long WorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

    /// <summary>Counts network calls.</summary>
    private sealed class CountingDenoiser(IDenoiser inner) : IDenoiser
    {
        public int Evaluations { get; private set; }
        public IReadOnlyList<int> SampleShape => inner.SampleShape;
        public PredictionType PredictionType => inner.PredictionType;
        public int ClassCount => inner.ClassCount;

        public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
        {
            inner.Predict(x, timesteps, classLabels, output);
            Evaluations++;
        }
    }
}
