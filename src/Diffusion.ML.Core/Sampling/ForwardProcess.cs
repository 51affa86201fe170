namespace Diffusion.ML.Sampling;

/// <summary>The forward (noising) process of DDPM in closed form, for editing: img2img / SDEdit starts and RePaint's jumps.</summary>
public static class ForwardProcess
{
    /// <summary>
    /// A draw of q(x_t | x_0): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (Ho et al. 2020, eq. 4).
    /// </summary>
    /// <param name="x0">Clean values.</param>
    /// <param name="alphaBar">alpha-bar_t.</param>
    /// <param name="noise">eps ~ N(0, I), same length.</param>
    /// <param name="xt">Receives x_t (may be <paramref name="noise"/> itself).</param>
    public static void Noise(ReadOnlySpan<float> x0, double alphaBar, ReadOnlySpan<float> noise, Span<float> xt) =>
        Renoise(x0, 1.0, alphaBar, noise, xt);

    /// <summary>
    /// A draw of q(x_t | x_s) for s before t: x_t = sqrt(abar_t / abar_s) x_s + sqrt(1 - abar_t / abar_s) eps, the forward
    /// process from s to t in one step (Ho et al. 2020, eq. 2 composed; RePaint's jump back, Lugmayr et al. 2022, sec. 4.2).
    /// </summary>
    /// <param name="xs">Values at s.</param>
    /// <param name="alphaBarFrom">alpha-bar_s (1 for clean values).</param>
    /// <param name="alphaBarTo">alpha-bar_t, at most alpha-bar_s.</param>
    /// <param name="noise">eps ~ N(0, I), same length.</param>
    /// <param name="xt">Receives x_t (may alias <paramref name="xs"/> or <paramref name="noise"/>).</param>
    public static void Renoise(ReadOnlySpan<float> xs, double alphaBarFrom, double alphaBarTo, ReadOnlySpan<float> noise, Span<float> xt)
    {
        if (xs.Length != noise.Length || xs.Length != xt.Length)
            throw new ArgumentException($"Lengths differ: {xs.Length} values, {noise.Length} noise, {xt.Length} outputs.");
        if (!(alphaBarFrom > 0 && alphaBarFrom <= 1 && alphaBarTo >= 0 && alphaBarTo <= alphaBarFrom))
            throw new ArgumentOutOfRangeException(nameof(alphaBarTo), alphaBarTo, $"Need 0 <= alpha-bar_t <= alpha-bar_s <= 1 with alpha-bar_s = {alphaBarFrom} > 0.");
        double ratio = alphaBarTo / alphaBarFrom, a = Math.Sqrt(ratio), s = Math.Sqrt(1 - ratio);
        for (int i = 0; i < xs.Length; i++) xt[i] = (float)(a * xs[i] + s * noise[i]);
    }
}
