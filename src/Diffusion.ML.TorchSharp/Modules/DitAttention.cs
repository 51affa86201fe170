using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Multi-head self-attention over tokens (Vaswani et al. 2017, Sec. 3.2.2), as the attention of DiT's blocks (the
/// reference uses timm's <c>Attention</c> with a qkv bias): <c>proj(concat_h softmax(Q_h K_h^T / sqrt(d_h)) V_h)</c> with
/// Q, K, V from one linear layer <c>[d -&gt; 3d]</c> split as <c>[3, heads, d_h]</c>.
/// </summary>
public sealed partial class DitAttention : nn.Module<Tensor, Tensor>
{
    private readonly int heads;
    private readonly Linear qkv;
    private readonly Linear projection;

    /// <summary>Creates the layer.</summary>
    /// <param name="hiddenSize">Token width d; divisible by <paramref name="heads"/>.</param>
    /// <param name="heads">Number of heads.</param>
    public DitAttention(int hiddenSize, int heads) : base(nameof(DitAttention))
    {
        if (heads < 1 || hiddenSize < 1 || hiddenSize % heads != 0)
        {
            throw new ArgumentException($"The token width ({hiddenSize}) must be divisible by the head count ({heads}).", nameof(heads));
        }
        this.heads = heads;
        qkv = nn.Linear(hiddenSize, 3 * hiddenSize);
        projection = nn.Linear(hiddenSize, hiddenSize);
        RegisterComponents();
    }

    /// <summary>Applies attention.</summary>
    /// <param name="x">Tokens <c>[B, T, d]</c>.</param>
    /// <returns>Tokens <c>[B, T, d]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var (b, t, d) = (x.shape[0], x.shape[1], x.shape[2]);
        // [B, T, 3d] -> [3, B, heads, T, d_h]
        var qkvHeads = qkv.call(x).reshape(b, t, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(qkvHeads[0], qkvHeads[1], qkvHeads[2]);
        // [B, heads, T, d_h] -> [B, T, d]
        return projection.call(attended.transpose(1, 2).reshape(b, t, d)).MoveToOuterDisposeScope();
    }
}
