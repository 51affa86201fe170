using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>Layer factories and calls that work around TorchSharp 0.107 / libtorch 2.10 defects.</summary>
public static class Layers
{
    /// <summary>The scalar 1, alive as long as the process: the alpha of <see cref="Add"/> and the constant of <see cref="OnePlus"/>.</summary>
    private static readonly Scalar One = 1.ToScalar();

    /// <summary>
    /// <c>a + b</c>. TorchSharp 0.107's <c>+</c> passes libtorch an alpha of 1 as a <see cref="Scalar"/> that only its
    /// finalizer frees, so a garbage collection started by another thread during the native call can free it while
    /// libtorch reads it (docs/torchsharp-on-linux.md, "Scalars freed during a native call"). The forward passes of this
    /// library's networks add through here.
    /// </summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand (broadcast).</param>
    /// <returns>A new tensor.</returns>
    public static Tensor Add(Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>c * a</c> with a scalar the call owns and frees after libtorch has returned (see <see cref="Add"/>).</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="c">The factor.</param>
    /// <returns>A new tensor.</returns>
    public static Tensor Scale(Tensor a, double c)
    {
        using var factor = c.ToScalar();
        return a.mul(factor);
    }

    /// <summary><c>1 + a</c>, without a finalizer-owned scalar (see <see cref="Add"/>).</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>A new tensor.</returns>
    public static Tensor OnePlus(Tensor a) => a.add(One, One);

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

    /// <summary>Channel multiple for which libtorch's CPU convolution kernels are right (the AVX-512 float lane count).</summary>
    private const long ChannelBlock = 16;

    /// <summary>
    /// Applies <paramref name="conv"/> to <paramref name="input"/>, working around a libtorch 2.10 CPU defect seen on this
    /// project's AMD EPYC machine (AVX-512): a convolution with more than 16 input channels that are not a multiple of 16
    /// (20, 24, 40...) computes a wrong output, and the gradient with respect to the input of one whose output-channel count
    /// is not a multiple of 16 (1, 3, 8, 24...) is wrong, both by errors the size of the values themselves or NaN; the
    /// weight gradient is right. Here such channel counts are padded with zeros to a multiple of 16 on CPU (input channels
    /// always, output channels when the input gradient will be taken) and the extra outputs dropped, which gives the same
    /// values through shapes the kernels compute right (ConvolutionGradientTests checks both against an unfolded product).
    /// Other convolutions are <c>conv.call(input)</c>. Every convolution in this library's modules goes through here.
    /// </summary>
    /// <param name="conv">The convolution (one group, zero padding mode).</param>
    /// <param name="input">Input [B, C_in, H, W].</param>
    /// <returns>The convolution's output [B, C_out, H', W'].</returns>
    public static Tensor Convolve(global::TorchSharp.Modules.Conv2d conv, Tensor input)
    {
        long inChannels = conv.in_channels, outChannels = conv.out_channels;
        bool plain = input.device_type != DeviceType.CPU || conv.groups != 1 || conv.padding_mode != PaddingModes.Zeros || conv.padding_type is not null;
        long extraIn = !plain && inChannels > ChannelBlock && inChannels % ChannelBlock != 0 ? ChannelBlock - inChannels % ChannelBlock : 0;
        long extraOut = !plain && outChannels % ChannelBlock != 0 && is_grad_enabled() && input.requires_grad ? ChannelBlock - outChannels % ChannelBlock : 0;
        if (extraIn == 0 && extraOut == 0) return conv.call(input);

        using var scope = NewDisposeScope();
        Tensor weight = conv.weight!, bias = conv.bias is { } b ? b : zeros([outChannels], input.dtype, input.device);
        long[] kernel = weight.shape[2..];
        if (extraIn > 0)
        {
            input = cat([input, zeros([input.shape[0], extraIn, .. input.shape[2..]], input.dtype, input.device)], 1);
            weight = cat([weight, zeros([outChannels, extraIn, .. kernel], weight.dtype, weight.device)], 1);
        }
        if (extraOut > 0)
        {
            weight = cat([weight, zeros([extraOut, weight.shape[1], .. kernel], weight.dtype, weight.device)], 0);
            bias = cat([bias, zeros([extraOut], bias.dtype, bias.device)], 0);
        }
        var output = nn.functional.conv2d(input, weight, bias, conv.stride, conv.padding, conv.dilation);
        return (extraOut > 0 ? output.narrow(1, 0, outChannels) : output).MoveToOuterDisposeScope();
    }
}
