using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>Halves the resolution with a stride-2 3x3 convolution (channels unchanged).</summary>
public sealed partial class Downsample : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Creates the layer.</summary>
    /// <param name="channels">Input and output channels.</param>
    public Downsample(int channels) : base(nameof(Downsample))
    {
        conv = nn.Conv2d(channels, channels, 3, stride: 2, padding: 1);
        RegisterComponents();
    }

    /// <summary>Downsamples <c>[B, C, H, W]</c> to <c>[B, C, ceil(H/2), ceil(W/2)]</c>.</summary>
    /// <param name="x">Feature map.</param>
    /// <returns>A new tensor.</returns>
    public override Tensor forward(Tensor x) => Layers.Convolve(conv, x);
}
