using Diffusion.ML.Langevin;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Sampling;

/// <summary>
/// An <see cref="IScoreModel"/> backed by a TorchSharp network <c>(x [B, ...], sigma [B]) -&gt; score [B, ...]</c>, such as a
/// trained <see cref="NoiseConditionalScoreMlp"/>, evaluated in inference mode; drive <see cref="AnnealedLangevinDynamics"/> with it.
/// </summary>
public sealed class TorchSharpScoreModel : IScoreModel
{
    private readonly nn.Module<Tensor, Tensor, Tensor> _network;
    private readonly long[] _sampleShape;

    /// <summary>Wraps a noise conditional score MLP (e.g. <see cref="Training.ScoreMatchingTrainer.Ema"/>); it is put in eval mode.</summary>
    /// <param name="network">The trained network, on <paramref name="device"/>.</param>
    /// <param name="device">Device the network lives on (default CPU).</param>
    public TorchSharpScoreModel(NoiseConditionalScoreMlp network, Device? device = null)
        : this(network, network?.SampleShape.Select(d => (int)d).ToArray() ?? throw new ArgumentNullException(nameof(network)), device)
    {
    }

    /// <summary>Wraps any score network taking <c>(x, sigma)</c>; it is put in eval mode.</summary>
    /// <param name="network">The trained network, on <paramref name="device"/>.</param>
    /// <param name="sampleShape">Shape of one sample without the batch dimension.</param>
    /// <param name="device">Device the network lives on (default CPU).</param>
    public TorchSharpScoreModel(nn.Module<Tensor, Tensor, Tensor> network, IReadOnlyList<int> sampleShape, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        _network = network ?? throw new ArgumentNullException(nameof(network));
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count == 0 || sampleShape.Any(d => d <= 0))
            throw new ArgumentException($"Sample shape must be non-empty with positive sizes, got [{string.Join(", ", sampleShape)}].", nameof(sampleShape));
        SampleShape = sampleShape.ToArray();
        _sampleShape = sampleShape.Select(d => (long)d).ToArray();
        Device = device ?? CPU;
        _network.eval();
    }

    /// <summary>The device inputs are moved to.</summary>
    public Device Device { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape { get; }

    /// <inheritdoc />
    public void Score(ReadOnlySpan<float> x, ReadOnlySpan<float> sigmas, Span<float> output)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        long[] shape = [sigmas.Length, .. _sampleShape];
        var xt = tensor(x.ToArray(), shape, device: Device);
        var sigma = tensor(sigmas.ToArray(), device: Device);
        var score = _network.call(xt, sigma).to(CPU).contiguous();
        score.data<float>().CopyTo(output);
    }
}
