namespace Diffusion.ML.Sampling;

/// <summary>Chooses and checks the descending timestep lists that samplers walk through.</summary>
public static class InferenceTimesteps
{
    /// <summary>
    /// The n timesteps of the given spacing, in descending order, following diffusers' <c>set_timesteps</c> so that
    /// results are interchangeable with it.
    /// </summary>
    /// <param name="numTrainTimesteps">T.</param>
    /// <param name="steps">n, between 1 and T.</param>
    /// <param name="spacing">The spacing rule.</param>
    /// <param name="stepsOffset">Added to every timestep of <see cref="TimestepSpacing.Leading"/> (diffusers' <c>steps_offset</c>).</param>
    public static int[] Create(int numTrainTimesteps, int steps, TimestepSpacing spacing, int stepsOffset = 0)
    {
        if (steps < 1 || steps > numTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"The number of inference steps must lie in [1, {numTrainTimesteps}] (the model was trained with {numTrainTimesteps} timesteps).");
        var result = new int[steps];
        switch (spacing)
        {
            case TimestepSpacing.Linspace:
                for (int k = 0; k < steps; k++)
                    result[steps - 1 - k] = steps == 1 ? 0 : (int)Math.Round((double)k * (numTrainTimesteps - 1) / (steps - 1), MidpointRounding.ToEven);
                break;
            case TimestepSpacing.Leading:
                int ratio = numTrainTimesteps / steps;
                for (int k = 0; k < steps; k++) result[steps - 1 - k] = k * ratio + stepsOffset;
                break;
            case TimestepSpacing.Trailing:
                double r = (double)numTrainTimesteps / steps;
                for (int k = 0; k < steps; k++) result[k] = (int)Math.Round(numTrainTimesteps - k * r, MidpointRounding.ToEven) - 1;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(spacing), spacing, "Unknown timestep spacing.");
        }
        Validate(result, numTrainTimesteps);
        return result;
    }

    /// <summary>Checks a user-given timestep list: non-empty, strictly descending, inside [0, T).</summary>
    /// <exception cref="ArgumentException">The list breaks one of the rules; the message says which entry.</exception>
    public static void Validate(IReadOnlyList<int> timesteps, int numTrainTimesteps)
    {
        if (timesteps.Count == 0) throw new ArgumentException("The timestep list is empty.", nameof(timesteps));
        for (int i = 0; i < timesteps.Count; i++)
        {
            if (timesteps[i] < 0 || timesteps[i] >= numTrainTimesteps)
                throw new ArgumentException($"Timestep {timesteps[i]} at position {i} is outside [0, {numTrainTimesteps - 1}].", nameof(timesteps));
            if (i > 0 && timesteps[i] >= timesteps[i - 1])
                throw new ArgumentException($"Timesteps must be strictly descending; position {i} has {timesteps[i]} after {timesteps[i - 1]}.", nameof(timesteps));
        }
    }
}
