using Diffusion.ML.Onnx;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;

namespace Diffusion.ML.TorchSharp.Onnx;

/// <summary>The samplers <see cref="GeneratorOnnxExporter"/> writes into a graph.</summary>
public enum OnnxGeneratorSampler
{
    /// <summary>DDIM with eta = 0 (Song, Meng and Ermon 2021, eq. 12).</summary>
    Ddim,

    /// <summary>DPM-Solver++(2M), midpoint form, first order at the first step and x_0 at the last (Lu et al. 2022, Alg. 2).</summary>
    DpmSolverPlusPlus2M,
}

/// <summary>
/// Exports a whole sampler as one ONNX graph: DDIM (Song, Meng and Ermon 2021, eq. 12 with eta = 0) or DPM-Solver++(2M)
/// (Lu et al. 2022) on "leading" timesteps, with classifier-free guidance (Ho and Salimans 2022), as an ONNX <c>Loop</c>
/// whose body holds the network.
/// Inputs: <c>noise</c> (x_T, <c>[batch, ...sample shape]</c>), <c>steps</c> (int64 scalar) and, for class-conditional
/// networks, <c>class_labels</c> (int64 <c>[batch]</c>) and <c>guidance_scale</c> (float scalar); output <c>images</c> in
/// [-1, 1]. Any ONNX Runtime binding (Python, JavaScript, C++, C#) generates images with it and nothing else; the result
/// equals the C# <see cref="DdimSampler"/> or <see cref="DpmSolverPlusPlusSampler"/> (order 2) with the default options
/// (x_0 clipped as <see cref="DenoiserOnnxExportOptions.ClipSample"/> says, no rescale or thresholding).
/// </summary>
public static class GeneratorOnnxExporter
{
    /// <summary>Input: the starting noise x_T.</summary>
    public const string NoiseInputName = "noise";

    /// <summary>Input: the number of DDIM steps (int64 scalar, 1 to T).</summary>
    public const string StepsInputName = "steps";

    /// <summary>Input: the guidance scale w (float scalar; 1 = the conditional model alone).</summary>
    public const string GuidanceInputName = "guidance_scale";

    /// <summary>Output: the generated images.</summary>
    public const string ImagesOutputName = "images";

    /// <summary>Metadata key naming the exported sampler.</summary>
    public const string SamplerKey = DiffusionModelMetadata.KeyPrefix + "sampler";

    /// <summary>The name of a sampler in the metadata and on the command line.</summary>
    public static string NameOf(OnnxGeneratorSampler sampler) => sampler == OnnxGeneratorSampler.Ddim ? "ddim" : "dpm-solver++-2m";

    /// <summary>Exports <paramref name="sampler"/> around <paramref name="network"/> for the schedule in <paramref name="options"/>.</summary>
    /// <param name="network">The trained network.</param>
    /// <param name="options">Opset, prediction type, noise schedule (required) and class names.</param>
    /// <param name="sampler">The sampler.</param>
    /// <exception cref="ArgumentException">No noise schedule was given.</exception>
    /// <exception cref="NotSupportedException">The network kind has no ONNX export.</exception>
    public static OnnxModel Export(DenoiserNetwork network, DenoiserOnnxExportOptions options, OnnxGeneratorSampler sampler = OnnxGeneratorSampler.Ddim)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        if (network is not IOnnxExportableDenoiser exportable)
            throw new NotSupportedException($"Networks of kind '{network.Kind}' ({network.GetType().Name}) cannot be exported to ONNX yet.");
        if (options.LatentScale is not null)
            throw new ArgumentException("A one-file generator outputs images; a latent denoiser's samples need its decoder. Export the denoiser and the decoder (DenoiserOnnxExporter.ExportLatent).", nameof(options));
        var scheduleOptions = options.NoiseSchedule
            ?? throw new ArgumentException("The generator needs the noise schedule the network was trained with (DenoiserOnnxExportOptions.NoiseSchedule).", nameof(options));
        var schedule = new NoiseSchedule(scheduleOptions);
        int channels = (int)network.SampleShape[0];
        bool conditional = network.ClassCount > 0;

        var graph = new OnnxGraphBuilder(options.Opset, $"{network.Kind}_ddim");
        var context = new OnnxExportContext(graph);
        const string batch = DiffusionModelMetadata.BatchDimension;
        OnnxDim[] sampleDims = [batch, .. exportable.OnnxInputDims];
        var noise = graph.AddInput(NoiseInputName, OnnxElementType.Float, sampleDims);
        var steps = graph.AddInput(StepsInputName, OnnxElementType.Int64);
        OnnxValue? labels = conditional ? graph.AddInput(DiffusionModelMetadata.ClassInputName, OnnxElementType.Int64, batch) : null;
        OnnxValue? guidance = conditional ? graph.AddInput(GuidanceInputName, OnnxElementType.Float) : null;

        var alphaBar = graph.AddInitializer("alpha_bar", schedule.AlphaBar.Select(v => (float)v).ToArray(), schedule.NumTrainTimesteps);
        var ratio = graph.Node("Div", [graph.Int64Scalar(schedule.NumTrainTimesteps), steps]); // "leading" spacing: t_i = i (T // S)
        OnnxValue? nullLabels = labels is null ? null : graph.Add(graph.Mul(labels.Value, graph.Int64Scalar(0)), graph.Int64Scalar(network.ClassCount));

        IReadOnlyList<OnnxValue> final;
        using (torch.no_grad())
        {
            var alphaBarFloor = graph.FloatScalar((float)(1.0 / (1 << 24))); // as MultistepMath.Vp: log(alpha-bar) stays finite
            OnnxGraphBuilder.LoopState[] states = sampler == OnnxGeneratorSampler.Ddim
                ? [new(noise, OnnxElementType.Float, sampleDims)]
                : [new(noise, OnnxElementType.Float, sampleDims), new(graph.Mul(noise, graph.FloatScalar(0f)), OnnxElementType.Float, sampleDims),
                   new(graph.FloatScalar(0f), OnnxElementType.Float, [])]; // x, the previous x_0 estimate, its lambda
            final = graph.Loop(steps, states, (i, state) =>
            {
                var x = state[0];
                // t = (S - 1 - i) (T // S), the previous timestep t - T // S (alpha-bar = 1 before the first one)
                var t = graph.Mul(graph.Sub(graph.Sub(steps, graph.Int64Scalar(1)), i), ratio);
                var previous = graph.Sub(t, ratio);
                var last = graph.Node("Less", [previous, graph.Int64Scalar(0)]);
                var abar = graph.Gather(alphaBar, t);
                var abarPrevious = graph.Node("Where", [last, graph.FloatScalar(1f), graph.Gather(alphaBar, graph.Node("Max", [previous, graph.Int64Scalar(0)]))]);
                var rows = graph.Slice(graph.Shape(x), [0], [1], [0]);
                var timesteps = graph.Node("Expand", [graph.Cast(t, OnnxElementType.Float), rows]);
                var output = conditional
                    ? Guided(graph, exportable.ExportOnnx(context, graph.Concat(0, x, x), graph.Concat(0, timesteps, timesteps),
                        graph.Concat(0, labels!.Value, nullLabels!.Value)), guidance!.Value)
                    : exportable.ExportOnnx(context, x, timesteps, null);
                if (network.LearnsVariance) output = graph.Slice(output, [0], [channels], [1]); // the prediction, not v
                var (x0, eps) = SampleAndNoise(graph, options.PredictionType, x, output, abar);
                if (options.ClipSample) x0 = graph.Node("Clip", [x0, graph.FloatScalar(-1f), graph.FloatScalar(1f)]);
                if (sampler == OnnxGeneratorSampler.Ddim)
                {
                    // x_{t-1} = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps   (Song, Meng and Ermon 2021, eq. 12, eta = 0)
                    return [graph.Add(graph.Mul(Sqrt(graph, abarPrevious), x0), graph.Mul(Sqrt(graph, OneMinus(graph, abarPrevious)), eps))];
                }
                var (_, sigmaS, lambdaS) = Vp(graph, graph.Node("Max", [abar, alphaBarFloor]));
                var (alphaT, sigmaT, lambdaT) = Vp(graph, abarPrevious);
                var h = graph.Sub(lambdaT, lambdaS);
                var phi1 = graph.Sub(graph.Node("Exp", [graph.Node("Neg", [h])]), graph.FloatScalar(1f)); // e^-h - 1
                // DPM-Solver++(1): (sigma_t / sigma_s) x - alpha_t (e^-h - 1) x0, which is DDIM   (Lu et al. 2022, sec. 4.1)
                var first = graph.Sub(graph.Mul(graph.Div(sigmaT, sigmaS), x), graph.Mul(graph.Mul(alphaT, phi1), x0));
                // DPM-Solver++(2M): - alpha_t (e^-h - 1) / 2 D1 with D1 = (x0 - x0_prev) / r, r = (lambda_s - lambda_prev) / h   (Alg. 2)
                var r = graph.Div(graph.Sub(lambdaS, state[2]), h);
                var second = graph.Sub(first, graph.Mul(graph.Mul(graph.FloatScalar(0.5f), graph.Mul(alphaT, phi1)), graph.Div(graph.Sub(x0, state[1]), r)));
                var firstStep = graph.Node("Equal", [i, graph.Int64Scalar(0)]);
                var next = graph.Node("Where", [last, x0, graph.Node("Where", [firstStep, first, second])]); // last step: x0 (sigma = 0)
                return [next, x0, lambdaS];
            });
        }
        graph.AddOutput(final[0], ImagesOutputName, OnnxElementType.Float, sampleDims);

        var properties = new Dictionary<string, string>(DenoiserOnnxExporter.MetadataOf(network, options).ToProperties()) { [SamplerKey] = NameOf(sampler) };
        return graph.Build(properties, $"Diffusion.ML {NameOf(sampler)} generator around a {network.Kind}: images = sample(noise, steps" +
            (conditional ? ", class_labels, guidance_scale)." : ")."));
    }

    /// <summary>Exports <paramref name="sampler"/> around the network of a checkpoint, with its prediction type, schedule and class names.</summary>
    /// <param name="checkpoint">A checkpoint written by training.</param>
    /// <param name="sampler">The sampler.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    /// <param name="useEma">True (default) for the EMA weights.</param>
    public static OnnxModel Export(Training.Checkpoint checkpoint, OnnxGeneratorSampler sampler, int opset = OnnxGraphBuilder.DefaultOpset, bool useEma = true)
    {
        DenoiserOnnxExporter.RequireImageModel(checkpoint, "DenoiserOnnxExporter.ExportLatent and sample the denoiser, then decode with the decoder");
        using var network = checkpoint.LoadNetwork(useEma);
        return Export(network, DenoiserOnnxExporter.OptionsOf(checkpoint, opset, useEma), sampler);
    }

    /// <summary>uncond + w (cond - uncond) from the output of the doubled batch [conditional rows; null-class rows].</summary>
    private static OnnxValue Guided(OnnxGraphBuilder graph, OnnxValue output, OnnxValue scale)
    {
        var halves = graph.Split(output, 0, 2);
        return graph.Add(halves[1], graph.Mul(scale, graph.Sub(halves[0], halves[1])));
    }

    /// <summary>The x_0 and eps estimates of a model output (as <see cref="ModelOutputs"/>: Ho et al. 2020, eq. 15; Salimans and Ho 2022).</summary>
    private static (OnnxValue X0, OnnxValue Eps) SampleAndNoise(OnnxGraphBuilder graph, PredictionType type, OnnxValue x, OnnxValue output, OnnxValue abar)
    {
        var a = Sqrt(graph, abar);
        var s = Sqrt(graph, OneMinus(graph, abar));
        return type switch
        {
            PredictionType.Epsilon => (graph.Div(graph.Sub(x, graph.Mul(s, output)), a), output),
            PredictionType.VPrediction => (graph.Sub(graph.Mul(a, x), graph.Mul(s, output)), graph.Add(graph.Mul(s, x), graph.Mul(a, output))),
            _ => (output, graph.Div(graph.Sub(x, graph.Mul(a, output)), s)),
        };
    }

    private static OnnxValue Sqrt(OnnxGraphBuilder graph, OnnxValue x) => graph.Node("Sqrt", [x]);

    /// <summary>alpha = sqrt(abar), sigma = sqrt(1 - abar), lambda = log(alpha / sigma) of the VP process (Lu et al. 2022, sec. 2).</summary>
    private static (OnnxValue Alpha, OnnxValue Sigma, OnnxValue Lambda) Vp(OnnxGraphBuilder graph, OnnxValue abar)
    {
        var oneMinus = OneMinus(graph, abar);
        var lambda = graph.Mul(graph.FloatScalar(0.5f), graph.Sub(graph.Node("Log", [abar]), graph.Node("Log", [oneMinus])));
        return (Sqrt(graph, abar), Sqrt(graph, oneMinus), lambda);
    }

    private static OnnxValue OneMinus(OnnxGraphBuilder graph, OnnxValue x) => graph.Sub(graph.FloatScalar(1f), x);
}
