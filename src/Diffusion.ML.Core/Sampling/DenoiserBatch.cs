namespace Diffusion.ML.Sampling;

/// <summary>
/// The layout of one <see cref="IDenoiser.Predict"/> call, checked: how many samples, and how many values each sample and
/// each prediction has. Backends that evaluate a batch in slices (<see cref="Slices"/>) use it to cut the spans.
/// </summary>
public readonly record struct DenoiserBatch
{
    /// <summary>Checks the lengths of a <see cref="IDenoiser.Predict"/> call against <paramref name="denoiser"/>'s shapes.</summary>
    /// <param name="denoiser">The denoiser called.</param>
    /// <param name="sampleValues">Length of x.</param>
    /// <param name="count">Length of the timesteps: the batch size.</param>
    /// <param name="labelCount">Length of the class labels (0 or <paramref name="count"/>).</param>
    /// <param name="outputValues">Length of the output.</param>
    /// <exception cref="ArgumentException">A length does not fit the others, with the expected one.</exception>
    public DenoiserBatch(IDenoiser denoiser, int sampleValues, int count, int labelCount, int outputValues)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        int d = denoiser.SampleShape.Aggregate(1, (a, b) => a * b), perOutput = denoiser.LearnsVariance ? 2 * d : d;
        if (sampleValues != count * d)
            throw new ArgumentException($"x has {sampleValues} values; {count} timesteps of samples of {d} values need {count * d}.", "x");
        if (outputValues != count * perOutput)
            throw new ArgumentException($"output has room for {outputValues} values; {count} predictions need {count * perOutput}.", "output");
        if (labelCount != 0 && labelCount != count)
            throw new ArgumentException($"{labelCount} class labels for {count} timesteps; give one per row or none.", "classLabels");
        Count = count;
        SampleLength = d;
        OutputLength = perOutput;
    }

    /// <summary>Samples in the batch.</summary>
    public int Count { get; }

    /// <summary>Values per sample.</summary>
    public int SampleLength { get; }

    /// <summary>Values per prediction: <see cref="SampleLength"/>, twice that for a model that learns its variance.</summary>
    public int OutputLength { get; }

    /// <summary>The consecutive slices (first sample, samples) of at most <paramref name="maxCount"/> samples that cover the batch.</summary>
    /// <param name="maxCount">Largest slice; positive.</param>
    public IEnumerable<(int Start, int Count)> Slices(int maxCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        for (long start = 0; start < Count; start += maxCount) yield return ((int)start, (int)Math.Min(maxCount, Count - start));
    }
}
