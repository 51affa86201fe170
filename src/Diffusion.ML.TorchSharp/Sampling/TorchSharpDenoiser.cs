using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Sampling;

/// <summary>An <see cref="IDenoiser"/> backed by a TorchSharp <see cref="DenoiserNetwork"/>, evaluated in inference mode.</summary>
public sealed class TorchSharpDenoiser : IDenoiser
{
    private readonly long[] _sampleShape;

    /// <summary>Wraps a network (put it in eval mode on the device first; <see cref="Training.Checkpoint.LoadNetwork"/> does).</summary>
    /// <param name="network">The trained network.</param>
    /// <param name="predictionType">What the network was trained to predict.</param>
    /// <param name="device">Device the network lives on (default CPU).</param>
    public TorchSharpDenoiser(DenoiserNetwork network, PredictionType predictionType, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        Network = network ?? throw new ArgumentNullException(nameof(network));
        PredictionType = predictionType;
        Device = device ?? CPU;
        _sampleShape = network.SampleShape;
        SampleShape = _sampleShape.Select(d => (int)d).ToArray();
    }

    /// <summary>The wrapped network.</summary>
    public DenoiserNetwork Network { get; }

    /// <summary>The device inputs are moved to.</summary>
    public Device Device { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape { get; }

    /// <inheritdoc />
    public PredictionType PredictionType { get; }

    /// <inheritdoc />
    public int ClassCount => Network.ClassCount;

    /// <inheritdoc />
    public bool LearnsVariance => Network.LearnsVariance;

    /// <inheritdoc />
    public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        int batch = timesteps.Length;
        long[] shape = [batch, .. _sampleShape];
        var xt = tensor(x.ToArray(), shape, device: Device);
        var t = tensor(timesteps.ToArray(), device: Device);
        Tensor? y = null;
        if (ClassCount > 0 && !classLabels.IsEmpty)
        {
            var labels = new long[classLabels.Length];
            for (int i = 0; i < labels.Length; i++) labels[i] = classLabels[i];
            y = tensor(labels, device: Device);
        }
        var prediction = Network.call(xt, t, y).to(CPU).contiguous();
        prediction.data<float>().CopyTo(output);
    }
}
