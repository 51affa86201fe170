using System.CommandLine;
using Diffusion.ML.Cli.Benchmarks;
using Diffusion.ML.Data;
using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Evaluation;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;
using TorchSharp;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml bench passes</c>: the time per row of a model's network when a fixed number of rows is evaluated in
/// passes of different sizes, through the library's own batching (<see cref="TorchSharpDenoiser.MaxEvaluationBatch"/>,
/// <see cref="OnnxDenoiserOptions.MaxEvaluationBatch"/>, the feature network's and <see cref="LatentCodec"/>'s pass size):
/// the measurement behind their CPU default of 64 (docs/benchmarks.md, "Evaluation batch on the CPU").
/// </summary>
internal static class BenchPassesCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "a zoo id or a file: denoiser checkpoint or .onnx export, autoencoder checkpoint (encoder and decoder are timed) or feature network (.zip)",
            Required = true,
        };
        var backend = new Option<string>("--backend") { Description = "torch (TorchSharp) or onnx (ONNX Runtime; denoiser exports)", DefaultValueFactory = _ => SampleModel.Torch };
        backend.AcceptOnlyFromAmong(SampleModel.Torch, SampleModel.Onnx);
        var rows = new Option<int>("--rows") { Description = "rows evaluated per run (a batch of 256 images with guidance is 512 rows)", DefaultValueFactory = _ => 512 };
        var passSizes = new Option<string>("--pass-sizes") { Description = "rows per network call, the baseline first", DefaultValueFactory = _ => "512,256,128,64,32" };
        var repeats = new Option<int>("--repeats") { Description = "timed runs per pass size (the median is reported)", DefaultValueFactory = _ => 3 };
        var markdown = new Option<string?>("--markdown") { Description = "also write the tables to this Markdown file" };
        var threads = CommonOptions.Threads();
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N (torch backend)", DefaultValueFactory = _ => "cpu" };
        var zoo = new ZooOptions();
        var command = new Command("passes", "Time per row of a model's network when the same rows go through in passes of different sizes.")
        {
            model, backend, rows, passSizes, repeats, markdown, threads, device,
        };
        foreach (var option in zoo.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            int rowCount = parse.GetValue(rows), repeatCount = parse.GetValue(repeats);
            int[] sizes = CommonOptions.ParseIntList(parse.GetValue(passSizes)!, "--pass-sizes");
            if (rowCount < 1 || repeatCount < 1 || sizes.Length == 0 || sizes.Any(n => n < 1))
                throw new ArgumentException("--rows, --repeats and every --pass-sizes value must be positive.");
            int threadCount = parse.GetValue(threads) > 0 ? parse.GetValue(threads) : Environment.ProcessorCount;
            bool onnx = parse.GetValue(backend) == SampleModel.Onnx;
            if (onnx && !parse.GetValue(device)!.Equals("cpu", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException("bench passes measures ONNX Runtime on the CPU only: drop --device or use --backend torch.");
            string path = onnx
                ? ModelSource.Resolve(parse.GetValue(model)!, SampleModel.Onnx, () => zoo.CreateClient(parse), cancellationToken).Path
                : ModelSource.ResolveNetwork(parse.GetValue(model)!, () => zoo.CreateClient(parse), cancellationToken);
            if (!onnx && Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"'{path}' is an ONNX file; time it with --backend onnx (denoiser exports only).");
            var torchDevice = CommonOptions.PrepareTorch(onnx ? "cpu" : parse.GetValue(device)!, threadCount);
            Action? wait = torchDevice.type == DeviceType.CUDA ? () => torch.cuda.synchronize(torchDevice) : null;

            using var jobs = onnx ? OnnxDenoiserJobs(path, rowCount, sizes, threadCount) : TorchSharpJobs(path, rowCount, sizes, torchDevice);
            string header = $"{path} on {(onnx ? $"ONNX Runtime {OnnxRuntimeBenchmarks.Version}" : $"TorchSharp ({torchDevice})")}, {threadCount} threads";
            AnsiConsole.MarkupLine(Markup.Escape(header));
            var tables = jobs.Jobs.Select(job =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                var timings = PassSizeBenchmark.Measure(job, rowCount, sizes, repeatCount, line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"), wait);
                return PassSizeBenchmark.Markdown(job.Name, rowCount, timings);
            }).ToList();
            string text = $"{header}\n\n{string.Join("\n", tables)}";
            Console.WriteLine(text);
            if (parse.GetValue(markdown) is { } file)
                AtomicFile.WriteAllText(file, text);
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>The jobs of a TorchSharp file, by what the file holds: a feature network, an autoencoder or a denoiser.</summary>
    private static JobSet TorchSharpJobs(string path, int rows, int[] sizes, torch.Device device)
    {
        var rng = new Random(0);
        if (Path.GetExtension(path).Equals(".zip", StringComparison.OrdinalIgnoreCase))
        {
            var loaded = TorchSharpFeatureExtractor.Load(path, device);
            var extractors = sizes.Distinct().ToDictionary(n => n, n => new TorchSharpFeatureExtractor(loaded.Network, loaded.Name, device, n));
            var images = RandomInputs.Uniform(rng, rows * loaded.InputShape.Aggregate(1, (a, b) => a * b));
            float[] features = new float[rows * loaded.FeatureDimension], logits = new float[rows * loaded.ClassCount];
            return new JobSet([new PassSizeBenchmark.Job($"feature network {loaded.Name}", n => extractors[n].Extract(images, features, logits))], loaded);
        }
        if (AutoencoderCheckpoint.IsAutoencoderFile(path))
        {
            var autoencoder = AutoencoderCheckpoint.Load(path).LoadModel(device: device);
            long[] shape = autoencoder.ImageShape;
            var data = new ImageDataset(rows, (int)shape[0], (int)shape[1], (int)shape[2], RandomInputs.Uniform(rng, rows * (int)(shape[0] * shape[1] * shape[2])), null, 0);
            float[] latents = LatentCodec.EncodeDataset(autoencoder, data, device: device);
            return new JobSet(
            [
                new PassSizeBenchmark.Job("autoencoder encode", n => LatentCodec.EncodeDataset(autoencoder, data, n, device)),
                new PassSizeBenchmark.Job("autoencoder decode", n => LatentCodec.DecodeLatents(autoencoder, latents, n, device)),
            ], autoencoder);
        }
        var checkpoint = Checkpoint.Load(path);
        var network = checkpoint.LoadNetwork(device: device);
        var prediction = checkpoint.Manifest.Trainer.PredictionType;
        var denoisers = sizes.Distinct().ToDictionary(n => n, n => (IDenoiser)new TorchSharpDenoiser(network, prediction, device) { MaxEvaluationBatch = n });
        return new JobSet([DenoiserJob($"denoiser {checkpoint.Manifest.ModelKind}", denoisers, rows, rng)], network);
    }

    /// <summary>One ONNX Runtime session per pass size over the same export.</summary>
    private static JobSet OnnxDenoiserJobs(string path, int rows, int[] sizes, int threads)
    {
        var models = new List<OnnxDiffusionModel>();
        try
        {
            foreach (int n in sizes.Distinct()) models.Add(OnnxRuntimeDenoiser.Load(path, threads, maxEvaluationBatch: n));
            var denoisers = models.ToDictionary(m => m.Denoiser.MaxEvaluationBatch, m => (IDenoiser)m.Denoiser);
            return new JobSet([DenoiserJob("ONNX denoiser", denoisers, rows, new Random(0))], [.. models]);
        }
        catch
        {
            foreach (var m in models) m.Dispose();
            throw;
        }
    }

    /// <summary><see cref="IDenoiser.Predict"/> on <paramref name="rows"/> random rows; the time does not depend on the values, timesteps or labels.</summary>
    private static PassSizeBenchmark.Job DenoiserJob(string name, Dictionary<int, IDenoiser> denoisers, int rows, Random rng)
    {
        var call = RandomInputs.Predict(denoisers.Values.First(), rows, rng);
        return new PassSizeBenchmark.Job(name, n => call.Run(denoisers[n]));
    }

    /// <summary>The jobs of one model and what to dispose after them.</summary>
    private sealed class JobSet(IReadOnlyList<PassSizeBenchmark.Job> jobs, params IDisposable[] owners) : IDisposable
    {
        public IReadOnlyList<PassSizeBenchmark.Job> Jobs => jobs;

        public void Dispose()
        {
            foreach (var owner in owners) owner.Dispose();
        }
    }
}
