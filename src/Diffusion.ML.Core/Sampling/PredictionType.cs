namespace Diffusion.ML.Sampling;

/// <summary>What a denoiser outputs (diffusers' <c>prediction_type</c>).</summary>
public enum PredictionType
{
    /// <summary>The noise eps that was added (Ho et al. 2020).</summary>
    Epsilon,

    /// <summary>The velocity v = sqrt(alpha-bar) eps - sqrt(1 - alpha-bar) x_0 (Salimans and Ho 2022, sec. 4).</summary>
    VPrediction,

    /// <summary>The clean sample x_0 itself (diffusers' <c>sample</c>).</summary>
    Sample,
}
