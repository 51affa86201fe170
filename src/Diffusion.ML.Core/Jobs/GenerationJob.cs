using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Jobs;

/// <summary>
/// A batch generation job: N samples written as one PNG each (<c>sample_{index}.png</c>) plus a JSONL manifest per shard,
/// resumable and shardable. Sample i depends only on (seed, i) (<see cref="SampleNoise"/>), so any shard or any restart
/// regenerates exactly the missing files and the union of n shards equals the unsharded job byte for byte. Every file
/// becomes visible only complete (temporary file + rename); a killed run restarted with the same arguments skips the
/// finished samples, and a restart with other settings is refused (the folder's <c>job.json</c> records them).
/// </summary>
public sealed class GenerationJob
{
    /// <summary>The job description file in the output folder.</summary>
    public const string SpecFileName = "job.json";

    private readonly DiffusionPipeline _pipeline;
    private readonly ISampler _sampler;
    private readonly GenerationJobOptions _options;
    private readonly int _channels, _height, _width, _digits;

    /// <summary>Prepares a job on a model.</summary>
    /// <exception cref="ArgumentException">Settings the model or a job cannot take.</exception>
    public GenerationJob(IDenoiser denoiser, NoiseSchedule schedule, GenerationJobOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var spec = options.Spec;
        if (!spec.SampleShape.SequenceEqual(denoiser.SampleShape))
            throw new ArgumentException($"The job is for samples of shape [{string.Join(", ", spec.SampleShape)}]; the model makes [{string.Join(", ", denoiser.SampleShape)}].");
        if ((options.Decode is null) != (options.ImageShape is null))
            throw new ArgumentException("Decode and ImageShape go together: give both (latent diffusion) or neither.");
        var imageShape = options.ImageShape ?? spec.SampleShape;
        if (imageShape.Count != 3 || imageShape[0] is not (1 or 3))
            throw new ArgumentException($"A generation job writes PNG images (1 or 3 channels); this model makes samples of shape [{string.Join(", ", imageShape)}]. Use the sample command for points.");
        if (spec.Count < 1) throw new ArgumentException($"A job needs at least one sample; got {spec.Count}.");
        if (options.BatchSize < 1) throw new ArgumentException($"The batch size must be positive; got {options.BatchSize}.");
        _pipeline = new DiffusionPipeline(denoiser, schedule);
        _sampler = Samplers.Create(spec.Sampler, spec.SamplerSettings);
        _options = options;
        (_channels, _height, _width) = (imageShape[0], imageShape[1], imageShape[2]);
        _digits = Math.Max(6, (spec.FirstIndex + spec.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
    }

    /// <summary>The image file name of global sample <paramref name="index"/>.</summary>
    public string FileName(long index) => $"sample_{index.ToString($"D{_digits}", System.Globalization.CultureInfo.InvariantCulture)}.png";

    /// <summary>Runs (or resumes) this process's shard.</summary>
    /// <param name="progress">Receives progress after every network evaluation.</param>
    /// <param name="cancellationToken">Stops between network evaluations; finished files stay, the next run resumes.</param>
    /// <exception cref="ArgumentException">The folder holds a job with other settings.</exception>
    public GenerationJobResult Run(IProgress<GenerationJobProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var spec = _options.Spec;
        string directory = _options.OutputDirectory;
        Directory.CreateDirectory(directory);
        ClaimFolder(directory, spec);

        var (start, end) = _options.Shard.Range(spec.Count);
        start += spec.FirstIndex;
        end += spec.FirstIndex;
        RemoveStaleTemporaryFiles(directory, start, end);
        var manifest = GenerationManifest.Open(Path.Combine(directory, $"manifest-{_options.Shard.FileTag}.jsonl"));
        var missing = new List<long>();
        for (long i = start; i < end; i++)
            if (!File.Exists(Path.Combine(directory, FileName(i)))) missing.Add(i);
        long skipped = end - start - missing.Count;
        // Finished files whose manifest line a kill cut off get it now, in index order.
        var missingSet = missing.ToHashSet();
        manifest.Append(Enumerable.Range(0, (int)(end - start)).Select(k => start + k)
            .Where(i => !manifest.Contains(i) && !missingSet.Contains(i)).Select(Entry));

        long done = skipped;
        int steps = spec.Timesteps?.Count ?? spec.NumInferenceSteps;
        foreach (var (first, count) in Batches(missing, _options.BatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batchOptions = spec.ToGenerationOptions(first, count, count);
            float[] samples = _pipeline.Generate(_sampler, batchOptions, progress is null ? null : new Relay(p =>
                progress.Report(new GenerationJobProgress(done, end - start, skipped, p.Step, p.Steps, count))), cancellationToken);
            if (_options.Decode is { } decode) samples = decode(samples);
            int length = _channels * _height * _width;
            for (int k = 0; k < count; k++)
                PngWriter.SaveImage(Path.Combine(directory, FileName(first + k)), samples.AsSpan(k * length, length), _channels, _height, _width);
            manifest.Append(Enumerable.Range(0, count).Select(k => Entry(first + k)));
            done += count;
            progress?.Report(new GenerationJobProgress(done, end - start, skipped, steps, steps, count));
        }
        string? npy = _options.WriteNpy ? WriteNpy(directory, start, end) : null;
        return new GenerationJobResult(missing.Count, skipped, manifest.Path, npy);
    }

    /// <summary>Writes job.json, or checks that the one there describes the same job.</summary>
    private static void ClaimFolder(string directory, GenerationJobSpec spec)
    {
        string path = Path.Combine(directory, SpecFileName), json = spec.ToJson();
        if (!File.Exists(path))
        {
            string temp = Path.Combine(directory, $".{SpecFileName}.{Guid.NewGuid():N}.tmp");
            File.WriteAllText(temp, json);
            try
            {
                File.Move(temp, path, overwrite: false); // another shard may win the race: then compare with its file
                return;
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temp);
            }
        }
        string existing = File.ReadAllText(path);
        if (GenerationJobSpec.FromJson(existing, path).ToJson() != json)
            throw new ArgumentException(
                $"'{directory}' holds a job with other settings ({path}). Restart with the same arguments to resume it, " +
                "or write this job to another folder. (The batch size and the shard may differ; nothing else may.)");
    }

    /// <summary>Temporary files of this shard's images left by a killed run (other shards' files are theirs).</summary>
    private void RemoveStaleTemporaryFiles(string directory, long start, long end)
    {
        foreach (string file in Directory.EnumerateFiles(directory, ".sample_*.tmp"))
        {
            string name = Path.GetFileName(file);
            int dot = name.IndexOf(".png.", StringComparison.Ordinal);
            if (dot > 8 && long.TryParse(name.AsSpan(8, dot - 8), out long index) && index >= start && index < end)
                File.Delete(file);
        }
    }

    private GenerationManifestEntry Entry(long index)
    {
        var spec = _options.Spec;
        int? label = spec.ClassOf(index);
        return new GenerationManifestEntry
        {
            Index = index, File = FileName(index), Seed = spec.Seed, Class = label,
            ClassName = label is { } l && _options.ClassNames is { } names && l < names.Count ? names[l] : null,
            Sampler = spec.Sampler, Steps = spec.Timesteps?.Count ?? spec.NumInferenceSteps, Guidance = spec.GuidanceScale,
            Model = spec.Model, ModelSha256 = spec.ModelSha256,
        };
    }

    /// <summary>Consecutive runs of the missing indices, cut into batches of at most <paramref name="batchSize"/>.</summary>
    private static IEnumerable<(long First, int Count)> Batches(List<long> missing, int batchSize)
    {
        int k = 0;
        while (k < missing.Count)
        {
            int count = 1;
            while (k + count < missing.Count && count < batchSize && missing[k + count] == missing[k] + count) count++;
            yield return (missing[k], count);
            k += count;
        }
    }

    /// <summary>The shard's images, read back from their PNGs, as one uint8 array [N, H, W, C].</summary>
    private string WriteNpy(string directory, long start, long end)
    {
        int count = (int)(end - start), plane = _height * _width;
        var data = new byte[(long)count * plane * _channels];
        for (int k = 0; k < count; k++)
        {
            float[] pixels = ImageFileDecoder.Decode(Path.Combine(directory, FileName(start + k)), _channels, out _, out _);
            for (int c = 0; c < _channels; c++)
                for (int p = 0; p < plane; p++)
                    data[((long)k * plane + p) * _channels + c] = (byte)Math.Clamp(Math.Round((pixels[c * plane + p] + 1) * 127.5), 0, 255);
        }
        string path = Path.Combine(directory, $"samples-{_options.Shard.FileTag}.npy");
        NpyWriter.WriteUInt8(path, data, count, _height, _width, _channels);
        return path;
    }

    private sealed class Relay(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
