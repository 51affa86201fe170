using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>The result of quantising a batch of encoder outputs (tensors in the caller's dispose scope).</summary>
/// <param name="StraightThrough">z_e + sg[z_q - z_e]: equals z_q forward, passes the decoder's gradient to z_e
/// (van den Oord et al. 2017, Sec. 3.2), <c>[B, D, h, w]</c>.</param>
/// <param name="Indices">Index of the nearest code of every position, int64 <c>[B, h, w]</c>.</param>
/// <param name="CodebookLoss">||sg[z_e] - e||^2, mean over elements (moves the codes; unused with EMA updates).</param>
/// <param name="CommitmentLoss">||z_e - sg[e]||^2, mean over elements (unweighted).</param>
/// <param name="Counts">How often each code was chosen in the batch, float <c>[K]</c>.</param>
public sealed record Quantization(Tensor StraightThrough, Tensor Indices, Tensor CodebookLoss, Tensor CommitmentLoss, Tensor Counts);
