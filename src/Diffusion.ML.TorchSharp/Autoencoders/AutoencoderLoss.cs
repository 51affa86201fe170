using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// The objective of one batch: the scalar <see cref="Total"/> that training minimises and its named terms (scalar tensors,
/// per-image or per-element means as documented by each autoencoder), reported as metrics. The tensors belong to the
/// caller's dispose scope.
/// </summary>
/// <param name="Total">The scalar loss to minimise.</param>
/// <param name="Terms">Named scalar terms, e.g. "mse", "kl", "neg_elbo", "perplexity".</param>
public sealed record AutoencoderLoss(Tensor Total, IReadOnlyDictionary<string, Tensor> Terms);
