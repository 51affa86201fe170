using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// An exponential moving average of a network's parameters, kept in a second network of the same architecture and used
/// for sampling (Ho et al. 2020, App. B; Song and Ermon 2020). The decay warms up as min(maxDecay, (1 + k) / (10 + k)).
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    private readonly Parameter[] _source;
    private readonly Parameter[] _average;

    /// <summary>Starts the average at the current weights of <paramref name="source"/>.</summary>
    public ExponentialMovingAverage(DenoiserNetwork source, double maxDecay, Device device)
    {
        MaxDecay = maxDecay;
        Model = DenoiserNetwork.Create(source.Kind, source.ConfigJson);
        Model.to(device);
        Model.eval();
        _source = source.parameters().ToArray();
        _average = Model.parameters().ToArray();
        using (no_grad())
        {
            for (int i = 0; i < _source.Length; i++) _average[i].copy_(_source[i]);
            foreach (var p in _average) p.requires_grad = false;
        }
    }

    /// <summary>The averaged network.</summary>
    public DenoiserNetwork Model { get; }

    /// <summary>The largest decay.</summary>
    public double MaxDecay { get; }

    /// <summary>The decay applied after optimisation step <paramref name="step"/> (0-based).</summary>
    public double DecayAt(long step) => Decay(MaxDecay, step);

    /// <summary>The warmed-up decay min(maxDecay, (1 + k) / (10 + k)) after 0-based step k, for any weight average.</summary>
    public static double Decay(double maxDecay, long step) => Math.Min(maxDecay, (1.0 + step) / (10.0 + step));

    /// <summary>theta_ema = d theta_ema + (1 - d) theta with d = <see cref="DecayAt"/>(step).</summary>
    public void Update(long step)
    {
        double d = DecayAt(step);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            for (int i = 0; i < _source.Length; i++) _average[i].mul_(d).add_(_source[i], alpha: 1 - d);
        }
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
