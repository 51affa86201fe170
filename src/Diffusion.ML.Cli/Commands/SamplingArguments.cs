using System.CommandLine;
using Diffusion.ML.Sampling;

namespace Diffusion.ML.Cli.Commands;

/// <summary>The sampler and generation options shared by <c>sample</c> and <c>eval</c>, and what they build.</summary>
internal sealed class SamplingArguments
{
    private readonly Option<string> _sampler = new("--sampler") { Description = "sampler", DefaultValueFactory = _ => "ddim" };
    private readonly Option<int> _steps = new("--steps") { Description = "inference steps", DefaultValueFactory = _ => 50 };
    private readonly Option<double?> _eta = new("--eta") { Description = "ddim: eta (default 0, deterministic); euler-ancestral: scale of sigma_up (default 1)" };
    private readonly Option<int?> _order = new("--order") { Description = "unipc: order 1-3 (default 2)" };
    private readonly Option<bool?> _lowerOrderFinal = new("--lower-order-final") { Description = "dpm-solver++, unipc: lower the order at the last steps (default true)" };
    private readonly Option<bool?> _karras = new("--karras-sigmas") { Description = "euler, heun, euler-ancestral: Karras sigmas (default true) or the listed timesteps' sigmas" };
    private readonly Option<double?> _rho = new("--rho") { Description = "euler, heun, euler-ancestral: rho of the Karras sigmas (default 7)" };
    private readonly Option<double?> _sChurn = new("--s-churn") { Description = "euler, heun: S_churn (default 0)" };
    private readonly Option<double?> _sTmin = new("--s-tmin") { Description = "euler, heun: S_tmin (default 0)" };
    private readonly Option<double?> _sTmax = new("--s-tmax") { Description = "euler, heun: S_tmax (default infinity)" };
    private readonly Option<double?> _sNoise = new("--s-noise") { Description = "euler, heun, euler-ancestral: S_noise (default 1)" };
    private readonly Option<double?> _snr = new("--snr") { Description = "sde-pc: corrector signal-to-noise ratio (default 0.16)" };
    private readonly Option<int?> _correctorSteps = new("--corrector-steps") { Description = "sde-pc: Langevin steps per step (default 1)" };
    private readonly Option<double?> _rtol = new("--rtol") { Description = "pf-ode-rk45: relative tolerance (default 1e-5)" };
    private readonly Option<double?> _atol = new("--atol") { Description = "pf-ode-rk45: absolute tolerance (default 1e-5)" };
    private readonly Option<TimestepSpacing> _spacing = new("--spacing") { Description = "timestep spacing", DefaultValueFactory = _ => TimestepSpacing.Leading };
    private readonly Option<string?> _timesteps = new("--timesteps") { Description = "explicit descending timesteps, e.g. 999,750,500,250,0 (overrides --steps)" };
    private readonly Option<double> _guidance = new("--guidance") { Description = "classifier-free guidance scale (1 = off)", DefaultValueFactory = _ => 1 };
    private readonly Option<string?> _classes = new("--classes") { Description = "class labels cycled over the samples, e.g. 0,1,2 or 'all'" };
    private readonly Option<long> _firstIndex = new("--first-index") { Description = "index of the first sample (to split a job into shards)", DefaultValueFactory = _ => 0 };
    private readonly Option<bool> _noClip = new("--no-clip") { Description = "do not clip x0 estimates to [-1, 1] (latent models never clip: their latents are not bounded)" };
    private readonly Option<double> _guidanceRescale = new("--guidance-rescale") { Description = "rescale the guided prediction's std towards the conditional one (0 = off, Lin et al. 2024 use 0.7)", DefaultValueFactory = _ => 0 };
    private readonly Option<double?> _thresholding = new("--dynamic-thresholding") { Description = "dynamic thresholding of x0 at this quantile of |x0| per sample, e.g. 0.995 (replaces clipping)" };
    private readonly Option<double> _thresholdMax = new("--threshold-max") { Description = "largest threshold of --dynamic-thresholding", DefaultValueFactory = _ => double.PositiveInfinity };

    public SamplingArguments(int defaultCount)
    {
        _sampler.AcceptOnlyFromAmong([.. Samplers.Names]);
        Count = new Option<int>("--count", "-n") { Description = "number of samples", DefaultValueFactory = _ => defaultCount };
    }

    /// <summary>The number of samples.</summary>
    public Option<int> Count { get; }

    /// <summary>Samples per network call.</summary>
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "samples per network call (never changes the images)", DefaultValueFactory = _ => 16 };

    /// <summary>The random seed.</summary>
    public Option<long> Seed { get; } = CommonOptions.Seed();

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => [_sampler, _steps, _eta, _order, _lowerOrderFinal, _karras, _rho, _sChurn, _sTmin, _sTmax, _sNoise, _snr,
        _correctorSteps, _rtol, _atol, _spacing, _timesteps, _guidance, _guidanceRescale, _classes, Count, _firstIndex, BatchSize,
        _noClip, _thresholding, _thresholdMax, Seed];

    /// <summary>The sampler the options name.</summary>
    public ISampler CreateSampler(ParseResult parse) => Samplers.Create(parse.GetValue(_sampler)!, CreateSettings(parse));

    /// <summary>The sampler's name as given (one of <see cref="Samplers.Names"/>).</summary>
    public string SamplerName(ParseResult parse) => parse.GetValue(_sampler)!;

    /// <summary>The sampler settings the options give.</summary>
    public SamplerSettings CreateSettings(ParseResult parse) => new()
    {
        Eta = parse.GetValue(_eta),
        Order = parse.GetValue(_order),
        LowerOrderFinal = parse.GetValue(_lowerOrderFinal),
        UseKarrasSigmas = parse.GetValue(_karras),
        Rho = parse.GetValue(_rho),
        SChurn = parse.GetValue(_sChurn),
        STmin = parse.GetValue(_sTmin),
        STmax = parse.GetValue(_sTmax),
        SNoise = parse.GetValue(_sNoise),
        Snr = parse.GetValue(_snr),
        CorrectorSteps = parse.GetValue(_correctorSteps),
        RelativeTolerance = parse.GetValue(_rtol),
        AbsoluteTolerance = parse.GetValue(_atol),
    };

    /// <summary>
    /// The generation settings for <paramref name="classCount"/> classes. A latent model's x0 estimates are never clipped
    /// to [-1, 1]: scaled latents have unit variance, not a pixel range (latent diffusion pipelines sample unclipped).
    /// </summary>
    public GenerationOptions CreateOptions(ParseResult parse, int classCount, bool latent) => new()
    {
        Count = parse.GetValue(Count),
        Seed = parse.GetValue(Seed),
        FirstIndex = parse.GetValue(_firstIndex),
        BatchSize = parse.GetValue(BatchSize),
        NumInferenceSteps = parse.GetValue(_steps),
        TimestepSpacing = parse.GetValue(_spacing),
        Timesteps = parse.GetValue(_timesteps) is { } ts ? CommonOptions.ParseIntList(ts, "--timesteps") : null,
        ClassLabels = ParseClasses(parse.GetValue(_classes), classCount),
        GuidanceScale = parse.GetValue(_guidance),
        GuidanceRescale = parse.GetValue(_guidanceRescale),
        ClipSample = !parse.GetValue(_noClip) && !latent,
        DynamicThresholdingQuantile = parse.GetValue(_thresholding),
        DynamicThresholdingMaxValue = parse.GetValue(_thresholdMax),
    };

    /// <summary>The labels of <c>--classes</c> ("all" = every class), or null when not given.</summary>
    public int[]? Classes(ParseResult parse, int classCount) => ParseClasses(parse.GetValue(_classes), classCount);

    private static int[]? ParseClasses(string? text, int classCount)
    {
        if (text is null) return null;
        if (text.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            if (classCount == 0) throw new ArgumentException("--classes all: the model is unconditional.");
            return Enumerable.Range(0, classCount).ToArray();
        }
        return CommonOptions.ParseIntList(text, "--classes");
    }
}
