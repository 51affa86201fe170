using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// An exponential moving average of a module's parameters, kept in a second module of the same architecture and used
/// for sampling or evaluation (Ho et al. 2020, App. B; Song and Ermon 2020). The decay warms up as
/// min(maxDecay, (1 + k) / (10 + k)) (<see cref="ExponentialMovingAverage.Decay"/>); buffers (statistics such as a VQ
/// codebook's counts) are copied, not averaged.
/// </summary>
/// <typeparam name="TModel">The module type.</typeparam>
public class ExponentialMovingAverage<TModel> : IDisposable where TModel : nn.Module
{
    private readonly Tensor[] _sourceParameters, _averageParameters, _sourceBuffers, _averageBuffers;

    /// <summary>Starts the average in <paramref name="average"/> (same architecture, on the same device) at the weights of <paramref name="source"/>.</summary>
    /// <param name="source">The trained module.</param>
    /// <param name="average">A module of the same architecture that will hold the average; owned (disposed) by this object.</param>
    /// <param name="maxDecay">The largest decay.</param>
    public ExponentialMovingAverage(TModel source, TModel average, double maxDecay)
    {
        ArgumentNullException.ThrowIfNull(source);
        Model = average ?? throw new ArgumentNullException(nameof(average));
        MaxDecay = maxDecay;
        Model.eval();
        _sourceParameters = [.. source.parameters()];
        _averageParameters = [.. Model.parameters()];
        _sourceBuffers = [.. source.buffers()];
        _averageBuffers = [.. Model.buffers()];
        if (_sourceParameters.Length != _averageParameters.Length || _sourceBuffers.Length != _averageBuffers.Length)
            throw new ArgumentException("The average must have the architecture of the source.", nameof(average));
        using (no_grad())
        {
            for (int i = 0; i < _sourceParameters.Length; i++) _averageParameters[i].copy_(_sourceParameters[i]);
            for (int i = 0; i < _sourceBuffers.Length; i++) _averageBuffers[i].copy_(_sourceBuffers[i]);
            foreach (var p in Model.parameters()) p.requires_grad = false;
        }
    }

    /// <summary>The averaged module.</summary>
    public TModel Model { get; }

    /// <summary>The largest decay.</summary>
    public double MaxDecay { get; }

    /// <summary>The decay applied after optimisation step <paramref name="step"/> (0-based).</summary>
    public double DecayAt(long step) => ExponentialMovingAverage.Decay(MaxDecay, step);

    /// <summary>theta_ema = d theta_ema + (1 - d) theta with d = <see cref="DecayAt"/>(step); buffers copied.</summary>
    public virtual void Update(long step)
    {
        double d = DecayAt(step);
        // Scalars owned here, not left to the finalizer: see ScalarSafe.AdamW.
        using Scalar decay = d.ToScalar(), weight = (1 - d).ToScalar();
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            for (int i = 0; i < _sourceParameters.Length; i++) _averageParameters[i].mul_(decay).add_(_sourceParameters[i], weight);
            for (int i = 0; i < _sourceBuffers.Length; i++) _averageBuffers[i].copy_(_sourceBuffers[i]);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Model.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The exponential moving average of a <see cref="DenoiserNetwork"/>, kept in a network rebuilt from its kind and config.</summary>
public sealed class ExponentialMovingAverage : ExponentialMovingAverage<DenoiserNetwork>
{
    /// <summary>Starts the average at the current weights of <paramref name="source"/>.</summary>
    public ExponentialMovingAverage(DenoiserNetwork source, double maxDecay, Device device)
        : base(source, Copy(source, device), maxDecay)
    {
    }

    /// <summary>The warmed-up decay min(maxDecay, (1 + k) / (10 + k)) after 0-based step k, for any weight average.</summary>
    public static double Decay(double maxDecay, long step) => Math.Min(maxDecay, (1.0 + step) / (10.0 + step));

    private static DenoiserNetwork Copy(DenoiserNetwork source, Device device)
    {
        ArgumentNullException.ThrowIfNull(source);
        var copy = DenoiserNetwork.Create(source.Kind, source.ConfigJson);
        copy.to(device);
        return copy;
    }
}
