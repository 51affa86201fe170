namespace Diffusion.ML.Data;

/// <summary>
/// The samples of a latent diffusion model back to the autoencoder's latents: z = sample / latent scale (Rombach et al.
/// 2022, section 4.3.2), checked first. The one step every decoder (TorchSharp or ONNX Runtime) takes before decoding.
/// </summary>
public static class ScaledLatents
{
    /// <summary>Checks <paramref name="scaledLatents"/> and divides them by <paramref name="latentScale"/>.</summary>
    /// <param name="scaledLatents">Whole latents, flattened, as the diffusion model samples them (times the latent scale).</param>
    /// <param name="latentShape">Shape of one latent without the batch dimension.</param>
    /// <param name="latentScale">The autoencoder's latent scale.</param>
    /// <returns>The latents, flattened; as many as <paramref name="scaledLatents"/> holds.</returns>
    /// <exception cref="ArgumentException">Not a whole number of latents (or none), or a value is not finite.</exception>
    public static float[] Unscale(ReadOnlySpan<float> scaledLatents, IReadOnlyList<long> latentShape, double latentScale)
    {
        ArgumentNullException.ThrowIfNull(latentShape);
        long latentLength = latentShape.Aggregate(1L, (a, b) => a * b);
        if (scaledLatents.Length == 0 || scaledLatents.Length % latentLength != 0)
            throw new ArgumentException($"{scaledLatents.Length} values are not a whole number of latents of shape [{string.Join(", ", latentShape)}] ({latentLength} values each).", nameof(scaledLatents));
        var latents = new float[scaledLatents.Length];
        float inverse = (float)(1.0 / latentScale);
        for (int i = 0; i < latents.Length; i++)
        {
            if (!float.IsFinite(scaledLatents[i])) throw new ArgumentException($"Latent value {i} is {scaledLatents[i]}; latents must be finite.", nameof(scaledLatents));
            latents[i] = scaledLatents[i] * inverse;
        }
        return latents;
    }
}
