namespace Diffusion.ML.Sampling;

/// <summary>The function B(h) of UniPC's update (Zhao et al. 2023, sec. 3.1; diffusers' <c>solver_type</c>).</summary>
public enum UniPcVariant
{
    /// <summary>B(h) = h ("bh1"); recommended by the paper for unconditional sampling with few steps.</summary>
    Bh1,

    /// <summary>B(h) = e^h - 1 ("bh2"); diffusers' default, recommended for guided sampling.</summary>
    Bh2,
}
