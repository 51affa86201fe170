using Diffusion.ML.Schedules;

namespace Diffusion.ML.MLNet;

/// <summary>Options of <c>mlContext.Diffusion().AddNoise(...)</c>, the forward process q(x_t | x_0) per row.</summary>
public sealed class NoiseSchedulerOptions
{
    /// <summary>Seed of the noise and timesteps; with the row key it fixes every row's draw.</summary>
    public long Seed { get; set; }

    /// <summary>The schedule (default linear, T = 1000, as <see cref="DenoiserTrainerEstimator.Options.Schedule"/>).</summary>
    public NoiseScheduleOptions Schedule { get; set; } = new();

    /// <summary>Smallest timestep drawn. Default 0.</summary>
    public int MinTimestep { get; set; }

    /// <summary>Largest timestep drawn; null = T - 1.</summary>
    public int? MaxTimestep { get; set; }

    /// <summary>
    /// Int64 column identifying each row (e.g. an id); null (default) keys each row by a hash of its values, so a row gets
    /// the same noise wherever it appears (shuffling and filtering do not change it), and identical rows get identical noise.
    /// </summary>
    public string? RowKeyColumnName { get; set; }

    /// <summary>Column written with x_t. Default "Noisy".</summary>
    public string NoisyColumnName { get; set; } = "Noisy";

    /// <summary>Column written with t (Int64). Default "Timestep".</summary>
    public string TimestepColumnName { get; set; } = "Timestep";

    /// <summary>Column written with the noise eps (the epsilon-prediction target). Default "Noise".</summary>
    public string NoiseColumnName { get; set; } = "Noise";
}
