namespace Diffusion.ML.MLNet;

/// <summary>The network <see cref="DenoiserTrainerEstimator"/> trains.</summary>
public enum DenoiserArchitecture
{
    /// <summary>A UNet for square images whose side the UNet can halve twice (e.g. 28x28 pixels); a DiT otherwise (e.g. 4x7x7 latents).</summary>
    Auto,

    /// <summary>The UNet of Ho et al. 2020 (residual blocks, attention, GroupNorm).</summary>
    UNet,

    /// <summary>The Diffusion Transformer of Peebles and Xie 2023 (adaLN-Zero blocks over patches).</summary>
    Dit,
}
