namespace Diffusion.ML.Sampling;

/// <summary>
/// The time-travel schedule of RePaint (Lugmayr et al. 2022, sec. 4.2, Fig. 9; the authors' <c>get_schedule_jump</c> and
/// diffusers' <c>RePaintScheduler.set_timesteps</c>), as positions in the descending list of n inference timesteps:
/// position 0 is the first (noisiest) timestep, where x_T is drawn, and position n is the clean sample.
/// </summary>
public static class RePaintSchedule
{
    /// <summary>
    /// The positions a RePaint run visits, starting at 0 and ending at n. A step to the next position (+1) is one reverse
    /// step; a step to a lower position (-j) is a jump back by forward noising, q(x_{t+j} | x_t). Counting the reverse
    /// steps from the clean end (state u = n - 1 - position, u = n - 1 ... 0), after reaching each state u in {0, j, 2j, ...}
    /// below n - j the run jumps back to u + j, r - 1 times in all, so every stretch of j steps is denoised r times.
    /// No jump starts from the clean sample. With r = 1 the list is 0, 1, ..., n.
    /// </summary>
    /// <param name="steps">n, the number of inference timesteps (&gt;= 1).</param>
    /// <param name="jumpLength">j (&gt;= 1).</param>
    /// <param name="resampling">r (&gt;= 1).</param>
    public static int[] Create(int steps, int jumpLength, int resampling)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(jumpLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(resampling, 1);
        var jumpsLeft = new Dictionary<int, int>();
        for (int u = 0; u < steps - jumpLength; u += jumpLength) jumpsLeft[u] = resampling - 1;
        var states = new List<int> { steps - 1 };
        int t = steps - 1;
        while (t >= 1)
        {
            t--;
            states.Add(t);
            if (jumpsLeft.TryGetValue(t, out int left) && left > 0)
            {
                jumpsLeft[t] = left - 1;
                t += jumpLength;
                states.Add(t);
            }
        }
        states.Add(-1);
        return states.Select(u => steps - 1 - u).ToArray();
    }

    /// <summary>The number of reverse steps (model evaluations) in <see cref="Create"/>'s schedule: n + (r - 1) j times the number of jump points.</summary>
    public static int ReverseSteps(int steps, int jumpLength, int resampling)
    {
        int[] path = Create(steps, jumpLength, resampling);
        int count = 0;
        for (int i = 1; i < path.Length; i++) if (path[i] == path[i - 1] + 1) count++;
        return count;
    }
}
