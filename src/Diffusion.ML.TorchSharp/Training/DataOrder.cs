using Diffusion.ML.Sampling;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// The order in which training examples are visited: a fresh seeded permutation per epoch, batches taken consecutively
/// across epoch boundaries. The batch of step k is a pure function of (seed, k), so a resumed run sees exactly the
/// batches an uninterrupted run would.
/// </summary>
public sealed class DataOrder
{
    private const long StreamTag = 0x0DA7A0DE;
    private int[]? _permutation;
    private long _permutationEpoch = -1;

    /// <summary>Creates the order over <paramref name="count"/> examples.</summary>
    public DataOrder(int count, int batchSize, long seed)
    {
        if (count < 1) throw new ArgumentException("The training data set is empty.", nameof(count));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Count = count;
        BatchSize = batchSize;
        Seed = seed;
    }

    /// <summary>Number of examples.</summary>
    public int Count { get; }

    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Seed of the permutations.</summary>
    public long Seed { get; }

    /// <summary>Fills <paramref name="indices"/> (length <see cref="BatchSize"/>) with the example indices of step <paramref name="step"/>.</summary>
    public void BatchIndices(long step, Span<int> indices)
    {
        long position = step * BatchSize;
        for (int j = 0; j < indices.Length; j++, position++)
            indices[j] = PermutationOf(position / Count)[(int)(position % Count)];
    }

    private int[] PermutationOf(long epoch)
    {
        if (epoch == _permutationEpoch) return _permutation!;
        var permutation = new int[Count];
        for (int i = 0; i < Count; i++) permutation[i] = i;
        var rng = new SampleNoise(Seed ^ StreamTag, epoch);
        for (int i = Count - 1; i > 0; i--) // Fisher-Yates
        {
            int j = (int)(rng.NextUniform() * (i + 1));
            (permutation[i], permutation[j]) = (permutation[j], permutation[i]);
        }
        _permutation = permutation;
        _permutationEpoch = epoch;
        return permutation;
    }
}
