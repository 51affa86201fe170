using System.CommandLine;
using System.Diagnostics;
using Diffusion.ML.Data;
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
        var model = new Option<string>("--model", "-m") { Description = "checkpoint written by train, or an .onnx file written by export", Required = true };
        var backend = new Option<string?>("--backend") { Description = "torch or onnx (default: onnx for .onnx files, else torch)" };
        backend.AcceptOnlyFromAmong(SampleModel.Torch, SampleModel.Onnx);
        var sampling = new SamplingArguments(defaultCount: 100);
        var output = new Option<string>("--out", "-o") { Description = "output folder (shared by all shards of the job)", Required = true };
        var shard = new Option<string>("--shard") { Description = "this process's part: i/n (zero-based), or env/n for JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID", DefaultValueFactory = _ => "0/1" };
        var npy = new Option<bool>("--npy") { Description = "also write the shard's images as one uint8 .npy array [N, H, W, C]" };
        var raw = new Option<bool>("--raw-weights") { Description = "use the trained weights instead of their EMA (checkpoints)" };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var command = new Command("generate", "Generate many images as a resumable, shardable batch job: PNGs plus a JSONL manifest per shard.")
        {
            model, backend, output, shard, npy, raw, device, threads,
        };
        foreach (var option in sampling.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string path = parse.GetValue(model)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"Model '{path}' does not exist.", path);
            string backendName = parse.GetValue(backend)
                ?? (Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase) ? SampleModel.Onnx : SampleModel.Torch);
            var jobShard = Shard.Parse(parse.GetValue(shard)!);
            using var opened = SampleModel.Open(backendName, path, useEma: !parse.GetValue(raw), parse.GetValue(device)!, parse.GetValue(threads));
            var options = sampling.CreateOptions(parse, opened.Denoiser.ClassCount);
            var spec = GenerationJobSpec.Create(Path.GetFileName(path), FileHash.Sha256Hex(path), backendName, sampling.SamplerName(parse), sampling.CreateSettings(parse),
                opened.Denoiser.SampleShape, options);
            var job = new GenerationJob(opened.Denoiser, opened.Schedule, new GenerationJobOptions
            {
                OutputDirectory = parse.GetValue(output)!, Spec = spec, Shard = jobShard, BatchSize = options.BatchSize,
                ClassNames = opened.ClassNames, WriteNpy = parse.GetValue(npy),
                Decode = opened.Autoencoder is null ? null : opened.ToImages, ImageShape = opened.Autoencoder is null ? null : opened.ImageShape,
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
