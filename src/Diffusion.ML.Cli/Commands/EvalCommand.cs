using System.CommandLine;
using System.Diagnostics;
using Diffusion.ML.Data;
using Diffusion.ML.Evaluation;
using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using Diffusion.ML.Cli.Evaluation;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml eval</c>: scores generated images (sampled from a checkpoint, or a folder of PNGs) against real ones with
/// FID, KID, precision/recall, Inception Score and class counts under a feature network, and a checkpoint's likelihood
/// bound in bits/dim; prints a table and writes JSON.
/// </summary>
internal static class EvalCommand
{
    /// <summary>Where the shipped Fashion-MNIST feature network lies in a clone of the repository.</summary>
    public const string DefaultFeatures = "zoo/fashion-mnist-features/model.zip";

    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint", "-c") { Description = "checkpoint, .onnx file (from export) or zoo id (id or id@version) to sample from (and to measure bits/dim of)" };
        var images = new Option<string?>("--images") { Description = "folder of generated PNGs, e.g. written by sample" };
        var pattern = new Option<string?>("--pattern") { Description = "file-name pattern in --images (default: sample_*.png if present, else every image)" };
        var dataSplit = new Option<string?>("--data-split") { Description = "score real images instead: the train or test split of --dataset (the FID floor)" };
        dataSplit.AcceptOnlyFromAmong("train", "test");
        var dataset = new Option<string>("--dataset") { Description = "the real data", DefaultValueFactory = _ => "fashion-mnist" };
        dataset.AcceptOnlyFromAmong([.. DatasetCatalog.SplitNames, "image-folder"]);
        var dataPath = new Option<string?>("--data-path") { Description = "file or folder of the data (default: the data set's usual place)" };
        var referenceSplit = new Option<string>("--reference-split") { Description = "split of --dataset the samples are compared with", DefaultValueFactory = _ => "test" };
        referenceSplit.AcceptOnlyFromAmong("train", "test");
        var referenceCount = new Option<int?>("--reference-count") { Description = "use the first N reference images (default: all)" };
        var features = new Option<string>("--features") { Description = "feature network: a .zip from train-classifier or an .onnx file", DefaultValueFactory = _ => DefaultFeatures };
        var onnxFeatures = new Option<string?>("--onnx-features-output") { Description = "ONNX feature network: name of the feature output" };
        var onnxLogits = new Option<string?>("--onnx-logits-output") { Description = "ONNX feature network: name of the logit output (enables IS)" };
        var onnxClasses = new Option<int>("--onnx-classes") { Description = "ONNX feature network: number of logits", DefaultValueFactory = _ => 0 };
        var onnxRange = new Option<string>("--onnx-input-range") { Description = "ONNX feature network: pixel range it expects, e.g. 0,1 or 0,255", DefaultValueFactory = _ => "-1,1" };
        var noQuality = new Option<bool>("--no-quality") { Description = "skip the sample-quality metrics (only bits/dim)" };
        var bitsPerDim = new Option<bool>("--bits-per-dim") { Description = "also estimate the checkpoint's variational bound on the reference images" };
        var nllImages = new Option<int>("--nll-images") { Description = "reference images for bits/dim", DefaultValueFactory = _ => 1000 };
        var nllTimesteps = new Option<int>("--nll-timesteps") { Description = "timesteps drawn per image for bits/dim (0 = all T terms, exact)", DefaultValueFactory = _ => 32 };
        var nllPilot = new Option<int>("--nll-pilot") { Description = "images of the full pilot run that shapes the importance-sampling proposal (0 = uniform timesteps)", DefaultValueFactory = _ => 16 };
        var nllConditional = new Option<bool>("--nll-conditional") { Description = "bits/dim of p(x | true class) instead of p(x) (null class) for a class-conditional model" };
        var variance = new Option<DdpmVarianceType>("--variance") { Description = "reverse-process variance for bits/dim", DefaultValueFactory = _ => DdpmVarianceType.FixedSmall };
        var decoderVariance = new Option<DecoderVariance>("--decoder-variance") { Description = "variance of the discretised decoder p(x0|x1)", DefaultValueFactory = _ => DecoderVariance.ClippedPosterior };
        var kidSubsets = new Option<int>("--kid-subsets") { Description = "KID subsets", DefaultValueFactory = _ => 100 };
        var kidSubsetSize = new Option<int>("--kid-subset-size") { Description = "KID subset size", DefaultValueFactory = _ => 1000 };
        var json = new Option<string>("--json") { Description = "JSON report to write", DefaultValueFactory = _ => "eval.json" };
        var raw = new Option<bool>("--raw-weights") { Description = "use the trained weights instead of their EMA" };
        var sampling = new SamplingArguments(defaultCount: 1000);
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var evaluationBatch = CommonOptions.EvaluationBatch();
        var zoo = new ZooOptions();

        var command = new Command("eval", "Score samples (FID, KID, precision/recall, IS, class counts) and a checkpoint's bits/dim; writes JSON.")
        {
            checkpoint, images, pattern, dataSplit, dataset, dataPath, referenceSplit, referenceCount, features, onnxFeatures, onnxLogits,
            onnxClasses, onnxRange, noQuality, bitsPerDim, nllImages, nllTimesteps, nllPilot, nllConditional, variance, decoderVariance, kidSubsets, kidSubsetSize, json, raw, device, threads, evaluationBatch,
        };
        foreach (var option in sampling.All.Concat(zoo.All)) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string? ckptPath = parse.GetValue(checkpoint), imageDir = parse.GetValue(images), split = parse.GetValue(dataSplit);
            if (new[] { ckptPath, imageDir, split }.Count(s => s is not null) != 1)
                throw new ArgumentException("Name exactly one set to evaluate: --checkpoint, --images or --data-split.");
            if (parse.GetValue(bitsPerDim) && ckptPath is null)
                throw new ArgumentException("--bits-per-dim needs --checkpoint.");
            bool quality = !parse.GetValue(noQuality);
            if (!quality && !parse.GetValue(bitsPerDim))
                throw new ArgumentException("--no-quality leaves nothing to do; add --bits-per-dim.");
            string jsonPath = parse.GetValue(json)!;
            var torchDevice = CommonOptions.PrepareTorch(parse.GetValue(device)!, parse.GetValue(threads));
            var clock = Stopwatch.StartNew();
            var report = new EvalReport { Command = string.Join(' ', Environment.GetCommandLineArgs().Skip(1)) };

            string datasetName = parse.GetValue(dataset)!;
            bool referenceIsTest = parse.GetValue(referenceSplit) == "test";
            ImageDataset reference = Take(DatasetCatalog.LoadSplit(datasetName, parse.GetValue(dataPath), referenceIsTest), parse.GetValue(referenceCount));
            report.Reference = $"{datasetName} {(referenceIsTest ? "test" : "train")}, {reference.Count} images";

            // A checkpoint runs on TorchSharp, an .onnx file from export on ONNX Runtime (its metadata holds the schedule).
            var modelSource = ckptPath is null ? null : ModelSource.Resolve(ckptPath, backend: null, () => zoo.CreateClient(parse), cancellationToken);
            using var model = modelSource is null ? null
                : SampleModel.Open(modelSource.Backend, modelSource.Path, !parse.GetValue(raw), parse.GetValue(device)!, parse.GetValue(threads), parse.GetValue(evaluationBatch));
            if (parse.GetValue(bitsPerDim) && model is { IsLatent: true })
                throw new ArgumentException($"'{ckptPath}' is a latent diffusion model: its bound is on latents, not on the reference images; drop --bits-per-dim.");
            var denoiser = model?.Denoiser;

            if (quality)
            {
                using var extractor = FeatureNetworks.Open(parse.GetValue(features)!, torchDevice, parse.GetValue(onnxFeatures), parse.GetValue(onnxLogits),
                    parse.GetValue(onnxClasses), parse.GetValue(onnxRange)!);
                var (generated, intended, source) = model is not null
                    ? Generate(model, modelSource!, sampling, parse, report, cancellationToken)
                    : imageDir is not null
                        ? LoadFolder(imageDir, parse.GetValue(pattern), extractor.Extractor, sampling.Classes(parse, extractor.Extractor.ClassCount))
                        : (Take(DatasetCatalog.LoadSplit(datasetName, parse.GetValue(dataPath), split == "test"), parse.GetValue(sampling.Count)).Pixels, null,
                            $"{datasetName} {split} split");
                report.Source = source;
                report.FeatureNetwork = extractor.Extractor.Name;
                var realFeatures = Extract(extractor.Extractor, reference.Pixels, "reference features", cancellationToken);
                var generatedFeatures = Extract(extractor.Extractor, generated, "sample features", cancellationToken);
                report.Quality = SampleQuality.Evaluate(realFeatures, generatedFeatures, intended, new SampleQualityOptions
                {
                    KidSubsets = parse.GetValue(kidSubsets),
                    KidSubsetSize = parse.GetValue(kidSubsetSize),
                });
            }
            else report.Source = Describe(modelSource!);

            if (parse.GetValue(bitsPerDim))
                report.Likelihood = BitsPerDim(denoiser!, model!.Schedule, reference, parse.GetValue(nllImages), parse.GetValue(nllTimesteps), parse.GetValue(nllPilot),
                    parse.GetValue(nllConditional) && denoiser!.ClassCount > 0,
                    new VariationalBoundOptions
                    {
                        VarianceType = parse.GetValue(variance),
                        DecoderVariance = parse.GetValue(decoderVariance),
                        BatchSize = Math.Max(parse.GetValue(sampling.BatchSize), 64),
                        Seed = parse.GetValue(sampling.Seed),
                    }, cancellationToken);

            report.Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1);
            report.Print(model?.ClassNames ?? reference.ClassNames);
            report.Write(jsonPath);
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(jsonPath)}");
            return 0;
        }, cancellationToken));
        return command;
    }

    private static string Describe(ModelSource source) => $"{(source.Backend == SampleModel.Onnx ? "ONNX model" : "checkpoint")} {source.Description}";

    private static (float[] Images, int[]? Intended, string Source) Generate(SampleModel model, ModelSource source, SamplingArguments sampling,
        ParseResult parse, EvalReport report, CancellationToken cancellationToken)
    {
        var options = sampling.CreateOptions(parse, model.Denoiser.ClassCount, model.IsLatent);
        var sampler = sampling.CreateSampler(parse);
        float[] samples = model.ToImages(SampleCommand.GenerateWithProgress(model.Denoiser, model.Schedule, sampler, options, cancellationToken));
        int[]? intended = options.ClassLabels is { } labels
            ? Enumerable.Range(0, options.Count).Select(i => labels[(int)((options.FirstIndex + i) % labels.Count)]).ToArray()
            : null;
        report.Sampling = $"{sampler.Name}, {options.Timesteps?.Count ?? options.NumInferenceSteps} steps, guidance {options.GuidanceScale}, " +
            $"{(options.ClassLabels is null ? "unconditional" : $"classes {string.Join(',', options.ClassLabels)}")}, seed {options.Seed}";
        return (samples, intended, Describe(source));
    }

    private static (float[] Images, int[]? Intended, string Source) LoadFolder(string folder, string? pattern, IFeatureExtractor extractor, int[]? classes)
    {
        pattern ??= Directory.Exists(folder) && Directory.EnumerateFiles(folder, "sample_*.png").Any() ? "sample_*.png" : "*";
        var shape = extractor.InputShape;
        var set = new ImageFolderDataset(folder, grayscale: shape[0] == 1, width: shape[2], height: shape[1], searchPattern: pattern).ToDataset();
        // --classes describes the labels the images were generated for, cycled over the files in name order (as sample writes them).
        int[]? intended = classes is null ? null : Enumerable.Range(0, set.Count).Select(i => classes[i % classes.Length]).ToArray();
        return (set.Pixels, intended, $"images {folder} ({pattern}, {set.Count} files)");
    }

    private static ExtractedFeatures Extract(IFeatureExtractor extractor, float[] images, string title, CancellationToken cancellationToken)
    {
        int count = images.Length / extractor.InputShape.Aggregate(1, (a, b) => a * b);
        ExtractedFeatures result = null!;
        ConsoleProgress.Run(title, count, update =>
            result = ExtractedFeatures.Compute(extractor, images, progress: new InlineProgress<int>(done => update(done, $"{done}/{count} images")),
                cancellationToken: cancellationToken));
        return result;
    }

    /// <summary>
    /// The bound on the first <paramref name="images"/> reference images: all T terms per image, or K sampled timesteps per
    /// image, importance-sampled from a proposal shaped by a full pilot run on the next <paramref name="pilot"/> images
    /// (Nichol and Dhariwal 2021, sec. 3.3), which lowers the standard error several-fold at the same cost.
    /// </summary>
    private static LikelihoodSummary BitsPerDim(IDenoiser denoiser, Schedules.NoiseSchedule schedule, ImageDataset reference, int images, int timesteps,
        int pilot, bool conditional, VariationalBoundOptions options, CancellationToken cancellationToken)
    {
        ImageDataset data = Take(reference, images);
        bool full = timesteps == 0;
        long pilotEvaluations = 0;
        if (!full && pilot > 0)
        {
            if (reference.Count < data.Count + pilot)
                throw new ArgumentException($"The pilot needs {pilot} reference images beyond the {data.Count} evaluated; lower --nll-pilot or --nll-images.");
            var pilotData = reference.Subset(Enumerable.Range(data.Count, pilot).ToArray());
            var pilotResult = Estimate(new VariationalBound(denoiser, schedule, options with { Estimator = VariationalBoundEstimator.Full }),
                pilotData, conditional, "bits/dim pilot", cancellationToken);
            options = options with { TimestepProposal = VariationalBound.ImportanceProposal(pilotResult) };
            pilotEvaluations = pilotResult.NetworkEvaluations;
        }
        options = options with
        {
            Estimator = full ? VariationalBoundEstimator.Full : VariationalBoundEstimator.Sampled,
            TimestepsPerImage = Math.Max(timesteps, 1),
        };
        var result = Estimate(new VariationalBound(denoiser, schedule, options), data, conditional, "bits/dim", cancellationToken);
        return new LikelihoodSummary(result.BitsPerDim, result.StandardError, result.PriorBitsPerDim, result.DiffusionBitsPerDim, result.DecoderBitsPerDim,
            result.ImageCount, result.NetworkEvaluations + pilotEvaluations, full ? "all T terms" : pilot > 0 ? $"importance-sampled (pilot {pilot} images)" : "uniform timesteps",
            full ? schedule.NumTrainTimesteps : timesteps, options.VarianceType.ToString(), options.DecoderVariance.ToString(),
            conditional ? "p(x | true class)" : denoiser.ClassCount > 0 ? "p(x), null class" : "p(x)");
    }

    private static VariationalBoundResult Estimate(VariationalBound bound, ImageDataset data, bool conditional, string title, CancellationToken cancellationToken)
    {
        VariationalBoundResult result = null!;
        ConsoleProgress.Run(title, data.Count, update =>
            result = bound.Estimate(data.Pixels, conditional ? data.Labels : null, new InlineProgress<VariationalBoundProgress>(p =>
                update(p.ImagesDone, $"{p.ImagesDone}/{p.ImageCount} images, {p.NetworkEvaluations} evaluations")), cancellationToken));
        return result;
    }

    private static ImageDataset Take(ImageDataset data, int? count)
    {
        if (count is not { } n || n >= data.Count) return data;
        if (n < 2) throw new ArgumentException($"At least 2 images are needed; {n} requested.");
        return data.Subset(Enumerable.Range(0, n).ToArray());
    }
}
