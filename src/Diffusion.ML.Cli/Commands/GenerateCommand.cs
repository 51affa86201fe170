using System.CommandLine;
using System.Diagnostics;
using Diffusion.ML.Jobs;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml generate</c>: a batch generation job (<see cref="GenerationJob"/>): one PNG per sample and a JSONL
/// manifest per shard, resumable (a restart with the same arguments skips finished samples) and shardable across
/// machines (<c>--shard i/n</c>, or <c>env/n</c> inside a Kubernetes Indexed Job or a Slurm array).
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "checkpoint written by train, .onnx file written by export, or zoo id (id or id@version)", Required = true };
        var backend = new Option<string?>("--backend")
        {
            Description = "torch or onnx (default: onnx for .onnx files, torch for checkpoints; for a zoo id, its model.onnx on ONNX Runtime " +
                "(the faster one on CPU), or its checkpoint on TorchSharp with --device cuda or --raw-weights)",
        };
        backend.AcceptOnlyFromAmong(SampleModel.Torch, SampleModel.Onnx);
        var sampling = new SamplingArguments(defaultCount: 100);
        var output = new Option<string>("--out", "-o") { Description = "output folder (shared by all shards of the job)", Required = true };
        var shard = new Option<string>("--shard") { Description = "this process's part: i/n (zero-based), or env/n for JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID", DefaultValueFactory = _ => "0/1" };
        var npy = new Option<bool>("--npy") { Description = "also write the shard's images as one uint8 .npy array [N, H, W, C]" };
        var raw = new Option<bool>("--raw-weights") { Description = "use the trained weights instead of their EMA (checkpoints)" };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var evaluationBatch = CommonOptions.EvaluationBatch();
        var zoo = new ZooOptions();
        var command = new Command("generate", "Generate many images as a resumable, shardable batch job: PNGs plus a JSONL manifest per shard.")
        {
            model, backend, output, shard, npy, raw, device, threads, evaluationBatch,
        };
        foreach (var option in sampling.All.Concat(zoo.All)) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            var jobShard = Shard.Parse(parse.GetValue(shard)!);
            bool onCpu = parse.GetValue(device)!.Equals("cpu", StringComparison.OrdinalIgnoreCase);
            var source = ModelSource.Resolve(parse.GetValue(model)!, parse.GetValue(backend), () => zoo.CreateClient(parse), cancellationToken,
                preferOnnx: onCpu && !parse.GetValue(raw));
            using var opened = SampleModel.Open(source.Backend, source.Path, useEma: !parse.GetValue(raw), parse.GetValue(device)!, parse.GetValue(threads), parse.GetValue(evaluationBatch));
            var options = sampling.CreateOptions(parse, opened.Denoiser.ClassCount, opened.IsLatent);
            var spec = GenerationJobSpec.Create(source.Name, source.Sha256(), source.Backend, sampling.SamplerName(parse), sampling.CreateSettings(parse),
                opened.Denoiser.SampleShape, options);
            var job = new GenerationJob(opened.Denoiser, opened.Schedule, new GenerationJobOptions
            {
                OutputDirectory = parse.GetValue(output)!, Spec = spec, Shard = jobShard, BatchSize = options.BatchSize,
                ClassNames = opened.ClassNames, WriteNpy = parse.GetValue(npy),
                Decode = opened.IsLatent ? opened.ToImages : null, ImageShape = opened.IsLatent ? opened.ImageShape : null,
            });
            var (start, end) = jobShard.Range(spec.Count);
            GenerationJobResult? result = null;
            var clock = Stopwatch.StartNew();
            ConsoleProgress.Run($"generate {jobShard}", end - start, update =>
                result = job.Run(new InlineProgress<GenerationJobProgress>(p =>
                {
                    double done = p.Done + (double)p.BatchSize * p.Step / Math.Max(p.Steps, 1);
                    if (p.Step == p.Steps) done = p.Done;
                    double rate = (done - p.Skipped) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                    update(done, $"{p.Done}/{p.Total} images, {rate:0.00} images/s" + (p.Skipped > 0 ? $", {p.Skipped} already done" : ""));
                }), cancellationToken));
            AnsiConsole.MarkupLine(Markup.Escape($"shard {jobShard}: samples {start + spec.FirstIndex}..{end + spec.FirstIndex - 1}, {result!.Generated} generated, " +
                $"{result.Skipped} already there, {result.Generated / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):0.00} images/s; manifest {result.ManifestPath}" +
                (result.NpyPath is { } npyPath ? $", {npyPath}" : "")));
            return 0;
        }, cancellationToken));
        return command;
    }
}
