using Diffusion.ML.TorchSharp.Modules;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>Architecture and objective of a <see cref="VariationalAutoencoder"/>; stored in checkpoints as JSON.</summary>
public sealed record VaeOptions
{
    /// <summary>The convolutional encoder/decoder shape. Default 1x28x28 images, levels [32, 64, 64] (7x7 latents).</summary>
    public ConvBackboneOptions Backbone { get; init; } = new();

    /// <summary>Channels of the latent grid. Default 4.</summary>
    public int LatentChannels { get; init; } = 4;

    /// <summary>The decoder distribution. Default <see cref="ReconstructionLikelihood.Gaussian"/>.</summary>
    public ReconstructionLikelihood Likelihood { get; init; } = ReconstructionLikelihood.Gaussian;

    /// <summary>Standard deviation of the Gaussian decoder, in the data scale [-1, 1]. Default 0.1.</summary>
    public double ObservationStd { get; init; } = 0.1;

    /// <summary>Weight of the KL term, the beta of beta-VAE (Higgins et al. 2017); 1 gives the ELBO. Default 1.</summary>
    public double Beta { get; init; } = 1.0;

    /// <summary>Checks the options and says what is wrong.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Backbone, nameof(Backbone));
        Backbone.Validate();
        if (LatentChannels < 1) throw new ArgumentException($"LatentChannels must be >= 1, got {LatentChannels}.", nameof(LatentChannels));
        if (!(ObservationStd > 0 && double.IsFinite(ObservationStd)))
            throw new ArgumentException($"ObservationStd must be finite and > 0, got {ObservationStd}.", nameof(ObservationStd));
        if (!(Beta >= 0 && double.IsFinite(Beta))) throw new ArgumentException($"Beta must be finite and >= 0, got {Beta}.", nameof(Beta));
    }

    /// <summary>Compact camelCase JSON.</summary>
    public string ToJson() => ConfigSerialization.Serialize(this);

    /// <summary>Parses and validates options written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="ArgumentException">Malformed JSON or invalid options.</exception>
    public static VaeOptions FromJson(string json)
    {
        var options = ConfigSerialization.Deserialize<VaeOptions>(json, nameof(json));
        options.Validate();
        return options;
    }
}
