using System.Globalization;

namespace Diffusion.ML.Jobs;

/// <summary>
/// One of <see cref="Count"/> parts of a generation job. Shard i of n owns the contiguous sample indices
/// [floor(i N / n), floor((i + 1) N / n)) of a job of N samples, so n machines together produce exactly the whole job.
/// </summary>
/// <param name="Index">Zero-based shard index, 0 &lt;= Index &lt; Count.</param>
/// <param name="Count">Number of shards, at least 1.</param>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>Environment variable of a Kubernetes Indexed Job's completion index.</summary>
    public const string KubernetesIndexVariable = "JOB_COMPLETION_INDEX";

    /// <summary>Environment variable of a Slurm job array's task id.</summary>
    public const string SlurmIndexVariable = "SLURM_ARRAY_TASK_ID";

    /// <summary>Environment variable of the smallest task id of a Slurm job array (subtracted from the task id).</summary>
    public const string SlurmMinimumVariable = "SLURM_ARRAY_TASK_MIN";

    /// <summary>The whole job as one shard.</summary>
    public static Shard Whole { get; } = new(0, 1);

    /// <summary>The half-open range of global sample indices this shard owns in a job of <paramref name="total"/> samples.</summary>
    public (long Start, long End) Range(long total)
    {
        Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        return (total * Index / Count, total * (Index + 1) / Count);
    }

    /// <summary>"i/n" (e.g. 0003-of-0008 style names use <see cref="FileTag"/>).</summary>
    public override string ToString() => $"{Index}/{Count}";

    /// <summary>A file-name tag, e.g. "00003-of-00008".</summary>
    public string FileTag => $"{Index:D5}-of-{Count:D5}";

    /// <summary>
    /// Parses "i/n", or "env/n" to take i from the environment: <c>JOB_COMPLETION_INDEX</c> (Kubernetes Indexed Job) or
    /// <c>SLURM_ARRAY_TASK_ID</c> minus <c>SLURM_ARRAY_TASK_MIN</c> (Slurm job array).
    /// </summary>
    /// <param name="text">The shard text.</param>
    /// <param name="environment">Reads an environment variable (null for the process environment).</param>
    /// <exception cref="ArgumentException">Malformed text, index out of range, or no index in the environment.</exception>
    public static Shard Parse(string text, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        environment ??= Environment.GetEnvironmentVariable;
        string[] parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
            throw new ArgumentException($"A shard is written i/n (e.g. 3/8, zero-based i) or env/n; got '{text}'.");
        int index = parts[0].Equals("env", StringComparison.OrdinalIgnoreCase) ? IndexFromEnvironment(environment)
            : int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i
            : throw new ArgumentException($"A shard is written i/n (e.g. 3/8, zero-based i) or env/n; got '{text}'.");
        var shard = new Shard(index, count);
        shard.Validate();
        return shard;
    }

    private static int IndexFromEnvironment(Func<string, string?> environment)
    {
        if (environment(KubernetesIndexVariable) is { Length: > 0 } kubernetes)
            return ParseVariable(KubernetesIndexVariable, kubernetes);
        if (environment(SlurmIndexVariable) is { Length: > 0 } slurm)
        {
            int minimum = environment(SlurmMinimumVariable) is { Length: > 0 } min ? ParseVariable(SlurmMinimumVariable, min) : 0;
            return ParseVariable(SlurmIndexVariable, slurm) - minimum;
        }
        throw new ArgumentException(
            $"--shard env/n takes the shard index from {KubernetesIndexVariable} (Kubernetes Indexed Job) or {SlurmIndexVariable} " +
            "(Slurm job array), and neither is set. Give the index explicitly, e.g. --shard 3/8.");
    }

    private static int ParseVariable(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed)
            ? parsed
            : throw new ArgumentException($"{name} is '{value}', not a non-negative integer.");

    private void Validate()
    {
        if (Count < 1 || Index < 0 || Index >= Count)
            throw new ArgumentException($"Shard {Index}/{Count} does not exist: the index must be in [0, {Count - 1}] (zero-based) and the count at least 1.");
    }
}
