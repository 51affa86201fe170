using System.Text.Json.Serialization;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>The decoder distribution p(x | z) of a <see cref="VariationalAutoencoder"/> (Kingma and Welling 2014, App. C).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReconstructionLikelihood>))]
public enum ReconstructionLikelihood
{
    /// <summary>Gaussian with a fixed standard deviation (<see cref="VaeOptions.ObservationStd"/>): a scaled squared error.</summary>
    Gaussian,

    /// <summary>Bernoulli on (x + 1) / 2 with decoder logits: for binarised data.</summary>
    Bernoulli,
}
