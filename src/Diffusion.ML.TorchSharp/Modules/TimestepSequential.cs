using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Runs blocks in order, passing the conditioning embedding to those that take one
/// (<c>Module&lt;Tensor, Tensor, Tensor&gt;</c>, e.g. <see cref="ResidualBlock"/>) and only the feature map to the
/// others (<c>Module&lt;Tensor, Tensor&gt;</c>, e.g. <see cref="AttentionBlock"/>, <see cref="Downsample"/>).
/// One entry of a UNet's encoder or decoder.
/// </summary>
public sealed partial class TimestepSequential : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<nn.Module> blocks;

    /// <summary>Creates the sequence.</summary>
    /// <param name="blocks">At least one block, each a <c>Module&lt;Tensor, Tensor, Tensor&gt;</c> or a <c>Module&lt;Tensor, Tensor&gt;</c>.</param>
    public TimestepSequential(params nn.Module[] blocks) : base(nameof(TimestepSequential))
    {
        if (blocks.Length == 0)
        {
            throw new ArgumentException("A TimestepSequential needs at least one block.", nameof(blocks));
        }
        foreach (var block in blocks)
        {
            if (block is not (nn.Module<Tensor, Tensor, Tensor> or nn.Module<Tensor, Tensor>))
            {
                throw new ArgumentException(
                    $"Block {block.GetType().Name} must be a Module<Tensor, Tensor, Tensor> or a Module<Tensor, Tensor>.", nameof(blocks));
            }
        }
        this.blocks = nn.ModuleList(blocks);
        RegisterComponents();
    }

    /// <summary>Runs the blocks.</summary>
    /// <param name="x">Feature map.</param>
    /// <param name="embedding">Conditioning embedding <c>[B, embeddingDim]</c>.</param>
    /// <returns>A new tensor.</returns>
    public override Tensor forward(Tensor x, Tensor embedding)
    {
        using var scope = torch.NewDisposeScope();
        var h = x;
        foreach (var block in blocks)
        {
            h = block switch
            {
                nn.Module<Tensor, Tensor, Tensor> conditioned => conditioned.call(h, embedding),
                nn.Module<Tensor, Tensor> plain => plain.call(h),
                _ => throw new InvalidOperationException($"Unsupported block {block.GetType().Name}."),
            };
        }
        return h.MoveToOuterDisposeScope();
    }
}
