using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// The fixed 2-D sine-cosine position embedding of DiT (Peebles and Xie 2022, Sec. 3.2, "frequency-based positional
/// embeddings (the sine-cosine version)"), laid out as the reference implementation's <c>get_2d_sincos_pos_embed</c>
/// (from MAE): the token in row i, column j of the grid gets
/// <c>[sin(j w_k), cos(j w_k), sin(i w_k), cos(i w_k)]</c> for <c>k = 0..d/4-1</c>, each block d/4 wide, with
/// <c>w_k = 10000^(-k / (d/4))</c> (Vaswani et al. 2017, Sec. 3.5, per axis). Tokens are numbered row-major, <c>i * columns + j</c>.
/// </summary>
public static class DitPositionEmbedding
{
    /// <summary>Longest wavelength factor of the frequencies, 10000 as in "Attention is all you need".</summary>
    public const double MaxPeriod = 10000.0;

    /// <summary>The embedding of every token of a <paramref name="rows"/> x <paramref name="columns"/> grid.</summary>
    /// <param name="dim">Embedding width d; a positive multiple of 4.</param>
    /// <param name="rows">Rows of the token grid (image height / patch size).</param>
    /// <param name="columns">Columns of the token grid (image width / patch size).</param>
    /// <returns>float32 <c>[rows * columns, dim]</c>, computed in double precision and rounded once, on the CPU.</returns>
    /// <exception cref="ArgumentException"><paramref name="dim"/> is not a positive multiple of 4, or the grid is empty.</exception>
    public static Tensor Create(int dim, int rows, int columns)
    {
        if (dim < 4 || dim % 4 != 0)
        {
            throw new ArgumentException($"The 2-D sin-cos embedding width must be a positive multiple of 4; got {dim}.", nameof(dim));
        }
        if (rows < 1 || columns < 1)
        {
            throw new ArgumentException($"The token grid must have at least one row and column; got {rows}x{columns}.", nameof(rows));
        }
        var quarter = dim / 4;
        var values = new float[rows * columns * dim];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
                var offset = (i * columns + j) * dim;
                for (var k = 0; k < quarter; k++)
                {
                    // w_k = 10000^(-k / (d/4)); the first half embeds the column j, the second half the row i (MAE/DiT layout).
                    var omega = Math.Pow(MaxPeriod, -(double)k / quarter);
                    values[offset + k] = (float)Math.Sin(j * omega);
                    values[offset + quarter + k] = (float)Math.Cos(j * omega);
                    values[offset + 2 * quarter + k] = (float)Math.Sin(i * omega);
                    values[offset + 3 * quarter + k] = (float)Math.Cos(i * omega);
                }
            }
        }
        return torch.tensor(values, [rows * columns, dim]);
    }
}
