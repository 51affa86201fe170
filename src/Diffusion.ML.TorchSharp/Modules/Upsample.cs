using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>Doubles the resolution: nearest-neighbour x2, then a 3x3 convolution (channels unchanged).</summary>
public sealed partial class Upsample : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Creates the layer.</summary>
    /// <param name="channels">Input and output channels.</param>
    public Upsample(int channels) : base(nameof(Upsample))
    {
        conv = nn.Conv2d(channels, channels, 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>Upsamples <c>[B, C, H, W]</c> to <c>[B, C, 2H, 2W]</c>.</summary>
    /// <param name="x">Feature map.</param>
    /// <returns>A new tensor.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var up = nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return Layers.Convolve(conv, up).MoveToOuterDisposeScope();
    }
}
