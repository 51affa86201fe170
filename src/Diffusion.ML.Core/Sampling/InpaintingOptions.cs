namespace Diffusion.ML.Sampling;

/// <summary>
/// What to inpaint and how to resample, for <see cref="DiffusionPipeline.Inpaint"/> (RePaint, Lugmayr et al. 2022).
/// Everything else (count, seed, batch size, timesteps, guidance, clipping) comes from the <see cref="GenerationOptions"/>.
/// </summary>
public sealed record InpaintingOptions
{
    /// <summary>
    /// The known images x_0^known in the model's data range, laid out one after another (m images of the model's sample
    /// size): sample i inpaints image (FirstIndex + i) mod m. Values where the mask is 0 are ignored. Required.
    /// </summary>
    public required IReadOnlyList<float> KnownImages { get; init; }

    /// <summary>
    /// Mask with 1 = keep the known value and 0 = generate it: either one mask of the sample size shared by every image,
    /// or one mask per known image (the same length as <see cref="KnownImages"/>). Values in between blend the known and the
    /// generated value, m known + (1 - m) generated, at every step and at the end. Required.
    /// </summary>
    public required IReadOnlyList<float> Mask { get; init; }

    /// <summary>
    /// Jump length j of RePaint's resampling schedule (Lugmayr et al. 2022, sec. 4.2): how many inference timesteps each
    /// jump back goes up. Default 10 (the paper's and diffusers' default).
    /// </summary>
    public int JumpLength { get; init; } = 10;

    /// <summary>
    /// Resampling count r (RePaint's U; diffusers' <c>jump_n_sample</c>): how often each stretch of j timesteps is denoised,
    /// so r - 1 jumps back per stretch. 1 = no resampling (plain replacement of the known region). Default 10 (the paper's).
    /// </summary>
    public int Resampling { get; init; } = 10;
}
