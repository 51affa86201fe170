using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// The denoising score matching objective of noise conditional score networks (Song and Ermon 2019, eq. 5-6) with the
/// weighting lambda(sigma) = sigma^2: for x~ = x + sigma z, z ~ N(0, I), the per-sample loss is
/// 1/2 |sigma s(x~, sigma) + (x~ - x) / sigma|^2 = 1/2 |sigma s(x~, sigma) + z|^2, averaged over the batch (whose levels
/// the caller draws uniformly from the L levels, so the batch mean estimates eq. 6's 1/L sum over levels).
/// </summary>
/// <remarks>
/// The minimiser is the score of the noised data, s*(x~, sigma) = grad log q_sigma(x~) (Vincent 2011). For Gaussian data
/// N(mu, s^2 I) in D dimensions the minimum at level sigma is D/2 s^2 / (s^2 + sigma^2).
/// </remarks>
public static class DenoisingScoreMatchingLoss
{
    /// <summary>The perturbed samples x~ = x + sigma z.</summary>
    /// <param name="x">Clean samples <c>[B, ...]</c>.</param>
    /// <param name="sigma">Noise level per sample <c>[B]</c>.</param>
    /// <param name="noise">z ~ N(0, I), shaped like <paramref name="x"/>.</param>
    /// <returns>A new tensor shaped like <paramref name="x"/>.</returns>
    public static Tensor Perturb(Tensor x, Tensor sigma, Tensor noise)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = NewDisposeScope();
        return Layers.Add(x, PerSample(sigma, x) * noise).MoveToOuterDisposeScope(); // x~ = x + sigma z
    }

    /// <summary>The loss from a score already evaluated at x~ = x + sigma z: mean over the batch of 1/2 |sigma s + z|^2.</summary>
    /// <param name="score">s(x~, sigma), <c>[B, ...]</c>.</param>
    /// <param name="sigma">Noise level per sample <c>[B]</c>.</param>
    /// <param name="noise">The z that made x~, shaped like <paramref name="score"/>.</param>
    /// <returns>A scalar tensor (differentiable through <paramref name="score"/>).</returns>
    public static Tensor Compute(Tensor score, Tensor sigma, Tensor noise)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentNullException.ThrowIfNull(noise);
        if (!score.shape.SequenceEqual(noise.shape))
            throw new ArgumentException($"Score [{string.Join(", ", score.shape)}] and noise [{string.Join(", ", noise.shape)}] must have the same shape.", nameof(noise));
        using var scope = NewDisposeScope();
        var residual = Layers.Add(PerSample(sigma, score) * score, noise); // sigma s(x~, sigma) + (x~ - x) / sigma (eq. 5 times lambda = sigma^2)
        return Layers.Scale(residual.square().flatten(1).sum(1).mean(), 0.5).MoveToOuterDisposeScope(); // 1/2 E |.|^2
    }

    /// <summary>Perturbs <paramref name="x"/>, evaluates <paramref name="scoreFunction"/> at x~ and returns the loss.</summary>
    /// <param name="scoreFunction">(x~, sigma) -&gt; s(x~, sigma), e.g. a <see cref="Modules.NoiseConditionalScoreMlp"/>'s <c>call</c>.</param>
    /// <param name="x">Clean samples <c>[B, ...]</c>.</param>
    /// <param name="sigma">Noise level per sample <c>[B]</c>.</param>
    /// <param name="noise">z ~ N(0, I), shaped like <paramref name="x"/>.</param>
    /// <returns>A scalar tensor.</returns>
    public static Tensor Compute(Func<Tensor, Tensor, Tensor> scoreFunction, Tensor x, Tensor sigma, Tensor noise)
    {
        ArgumentNullException.ThrowIfNull(scoreFunction);
        using var scope = NewDisposeScope();
        var perturbed = Perturb(x, sigma, noise);
        return Compute(scoreFunction(perturbed, sigma), sigma, noise).MoveToOuterDisposeScope();
    }

    /// <summary>sigma <c>[B]</c> reshaped to <c>[B, 1, ...]</c> so it broadcasts over a sample of <paramref name="like"/>.</summary>
    private static Tensor PerSample(Tensor sigma, Tensor like)
    {
        ArgumentNullException.ThrowIfNull(sigma);
        if (sigma.dim() != 1 || sigma.shape[0] != like.shape[0])
            throw new ArgumentException($"Noise levels must have shape [{like.shape[0]}] (one per sample); got [{string.Join(", ", sigma.shape)}].", nameof(sigma));
        long[] shape = [like.shape[0], .. Enumerable.Repeat(1L, (int)like.dim() - 1)];
        return sigma.to_type(like.dtype).reshape(shape);
    }
}
