namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>Test-set measurements of an autoencoder (<see cref="AutoencoderEvaluator"/>).</summary>
public sealed record AutoencoderEvaluation
{
    /// <summary>Images measured.</summary>
    public required int Count { get; init; }

    /// <summary>Mean squared error per pixel of the deterministic reconstruction Decode(Encode(x)), data scale [-1, 1].</summary>
    public required double Mse { get; init; }

    /// <summary>The loss terms of <see cref="ImageAutoencoder.Loss"/> in eval mode, averaged over the images (one noise draw per batch).</summary>
    public required IReadOnlyDictionary<string, double> Terms { get; init; }

    /// <summary>VAE: the negative ELBO per image in nats (a one-sample estimate; an upper bound on -log p(x) of the
    /// continuous density on the data scale [-1, 1]); null for other kinds.</summary>
    public double? NegativeElbo { get; init; }

    /// <summary>VAE: <see cref="NegativeElbo"/> per dimension, in nats.</summary>
    public double? NatsPerDim { get; init; }

    /// <summary>VAE: <see cref="NegativeElbo"/> per dimension, in bits (nats / ln 2). A continuous density: it can be negative and is
    /// not the 8-bit discrete bits/dim of likelihood papers.</summary>
    public double? BitsPerDim { get; init; }

    /// <summary>VQ-VAE: fraction of the codes chosen at least once over the whole set.</summary>
    public double? CodebookUsage { get; init; }

    /// <summary>VQ-VAE: perplexity of the code distribution over the whole set.</summary>
    public double? Perplexity { get; init; }
}
