using TorchSharp;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>Layer factories that work around TorchSharp 0.107 initialisation quirks.</summary>
public static class Layers
{
    /// <summary>
    /// Creates an <c>nn.GroupNorm</c> whose affine weight is 1 and bias is 0, as in PyTorch. TorchSharp 0.107's
    /// <c>nn.GroupNorm</c> allocates both with <c>torch.empty</c> and never initialises them, so a fresh module
    /// scales and shifts by whatever was in memory (often NaN).
    /// </summary>
    /// <param name="groups">Number of groups the channels are split into (positive).</param>
    /// <param name="channels">Number of channels; must be divisible by <paramref name="groups"/>.</param>
    /// <param name="eps">Value added to the variance for numerical stability.</param>
    /// <returns>The initialised group-norm layer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="groups"/> or <paramref name="channels"/> is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="channels"/> is not divisible by <paramref name="groups"/>.</exception>
    public static global::TorchSharp.Modules.GroupNorm GroupNorm(int groups, int channels, double eps = 1e-5)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groups);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        if (channels % groups != 0)
        {
            throw new ArgumentException($"GroupNorm needs the channel count ({channels}) to be divisible by the group count ({groups}).", nameof(channels));
        }

        var norm = torch.nn.GroupNorm(groups, channels, eps);
        using (torch.no_grad())
        {
            norm.weight.fill_(1.0);
            norm.bias!.fill_(0.0);
        }

        return norm;
    }
}
