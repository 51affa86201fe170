using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>The closed-form losses and penalties of the autoencoders, on tensors, each traced to its paper.</summary>
public static class AutoencoderMath
{
    /// <summary>0.5 log(2 pi).</summary>
    private static readonly double HalfLogTwoPi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>
    /// KL(N(mu, diag sigma^2) || N(0, I)) per sample, summed over every non-batch dimension:
    /// 0.5 sum (mu^2 + sigma^2 - 1 - log sigma^2) (Kingma and Welling 2014, App. B).
    /// </summary>
    /// <param name="mean">mu, <c>[B, ...]</c>.</param>
    /// <param name="logVariance">log sigma^2, shaped like <paramref name="mean"/>.</param>
    /// <returns><c>[B]</c>, in nats.</returns>
    public static Tensor GaussianKl(Tensor mean, Tensor logVariance)
    {
        using var scope = NewDisposeScope();
        var terms = mean.square() + logVariance.exp() - 1 - logVariance;
        return (0.5 * SumPerSample(terms)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// -log N(x; mean, std^2 I) per sample: sum (x - mean)^2 / (2 std^2) + log std + 0.5 log 2 pi, the Gaussian decoder
    /// of Kingma and Welling 2014 (App. C.2) with a fixed observation standard deviation.
    /// </summary>
    /// <param name="x">Data <c>[B, ...]</c>.</param>
    /// <param name="mean">Decoder mean, shaped like <paramref name="x"/>.</param>
    /// <param name="std">Observation standard deviation (positive).</param>
    /// <returns><c>[B]</c>, in nats.</returns>
    public static Tensor GaussianNll(Tensor x, Tensor mean, double std)
    {
        using var scope = NewDisposeScope();
        long dims = x.numel() / x.shape[0];
        var nll = SumPerSample((x - mean).square()) / (2 * std * std) + dims * (Math.Log(std) + HalfLogTwoPi);
        return nll.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// -log Bernoulli(b; sigmoid(logits)) per sample with targets b = (x + 1) / 2 in [0, 1]: the Bernoulli decoder of
    /// Kingma and Welling 2014 (App. C.1), exact for binarised data (x in {-1, 1}).
    /// </summary>
    /// <param name="x">Data <c>[B, ...]</c> in [-1, 1].</param>
    /// <param name="logits">Decoder logits, shaped like <paramref name="x"/>.</param>
    /// <returns><c>[B]</c>, in nats.</returns>
    public static Tensor BernoulliNll(Tensor x, Tensor logits)
    {
        using var scope = NewDisposeScope();
        var targets = (x + 1) * 0.5;
        var elementwise = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction: nn.Reduction.None);
        return SumPerSample(elementwise).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Sparsity penalty sum_j KL(rho || rho_hat_j) = sum_j rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j))
    /// with rho_hat_j the mean activation of hidden unit j over the batch (Ng 2011, "Sparse autoencoder", Sec. 3).
    /// </summary>
    /// <param name="hidden">Sigmoid activations <c>[B, units]</c> in (0, 1).</param>
    /// <param name="rho">Target mean activation in (0, 1).</param>
    /// <returns>A scalar, in nats.</returns>
    public static Tensor SparsityKl(Tensor hidden, double rho)
    {
        using var scope = NewDisposeScope();
        var rhoHat = hidden.mean([0]).clamp(1e-6, 1 - 1e-6);
        var kl = rho * (Math.Log(rho) - rhoHat.log()) + (1 - rho) * (Math.Log(1 - rho) - (1 - rhoHat).log());
        return kl.sum().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Squared Frobenius norm of the Jacobian of h = sigmoid(W x + b) per sample, in closed form:
    /// ||J_f(x)||_F^2 = sum_j (h_j (1 - h_j))^2 sum_i W_ji^2 (Rifai et al. 2011, eq. 5).
    /// </summary>
    /// <param name="hidden">Sigmoid activations <c>[B, units]</c>.</param>
    /// <param name="weight">Encoder weight W <c>[units, inputs]</c>.</param>
    /// <returns><c>[B]</c>.</returns>
    public static Tensor ContractivePenalty(Tensor hidden, Tensor weight)
    {
        using var scope = NewDisposeScope();
        var slope = (hidden * (1 - hidden)).square();            // (h_j (1 - h_j))^2, [B, units]
        var rowNorms = weight.square().sum([1]);                    // sum_i W_ji^2, [units]
        return (slope * rowNorms).sum([1]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Keeps the k largest activations of each sample and zeroes the rest (Makhzani and Frey 2013, Alg. 1, the support
    /// set Gamma = supp_k(z)); gradients flow through the kept units only.
    /// </summary>
    /// <param name="hidden">Activations <c>[B, units]</c>.</param>
    /// <param name="k">Units kept per sample, 1..units.</param>
    /// <returns><c>[B, units]</c> with exactly k non-zero entries per row (fewer only where a kept value is exactly 0).</returns>
    public static Tensor TopK(Tensor hidden, int k)
    {
        if (k < 1 || k > hidden.shape[1])
            throw new ArgumentOutOfRangeException(nameof(k), $"k must lie in 1..{hidden.shape[1]} (the hidden units); got {k}.");
        using var scope = NewDisposeScope();
        var (_, indices) = hidden.topk(k, dim: 1);
        var mask = zeros_like(hidden).scatter_(1, indices, ones_like(indices, dtype: hidden.dtype));
        return (hidden * mask).MoveToOuterDisposeScope();
    }

    /// <summary>Sums every non-batch dimension: <c>[B, ...]</c> to <c>[B]</c>.</summary>
    internal static Tensor SumPerSample(Tensor x) => x.reshape(x.shape[0], -1).sum([1]);
}
