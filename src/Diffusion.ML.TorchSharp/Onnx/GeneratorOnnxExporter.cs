using Diffusion.ML.Onnx;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;

namespace Diffusion.ML.TorchSharp.Onnx;

/// <summary>
/// Exports a whole sampler as one ONNX graph: DDIM (Song, Meng and Ermon 2021, eq. 12 with eta = 0) on "leading"
/// timesteps, with classifier-free guidance (Ho and Salimans 2022), as an ONNX <c>Loop</c> whose body holds the network.
/// Inputs: <c>noise</c> (x_T, <c>[batch, ...sample shape]</c>), <c>steps</c> (int64 scalar) and, for class-conditional
/// networks, <c>class_labels</c> (int64 <c>[batch]</c>) and <c>guidance_scale</c> (float scalar); output <c>images</c> in
/// [-1, 1]. Any ONNX Runtime binding (Python, JavaScript, C++, C#) generates images with it and nothing else; the result
/// equals the C# <see cref="DdimSampler"/> with the default options (clipped x_0, no rescale or thresholding).
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

    /// <summary>Exports DDIM around <paramref name="network"/> for the schedule in <paramref name="options"/>.</summary>
    /// <param name="network">The trained network.</param>
    /// <param name="options">Opset, prediction type, noise schedule (required) and class names.</param>
    /// <exception cref="ArgumentException">No noise schedule was given.</exception>
    /// <exception cref="NotSupportedException">The network kind has no ONNX export.</exception>
    public static OnnxModel ExportDdim(DenoiserNetwork network, DenoiserOnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        if (network is not IOnnxExportableDenoiser exportable)
            throw new NotSupportedException($"Networks of kind '{network.Kind}' ({network.GetType().Name}) cannot be exported to ONNX yet.");
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
            final = graph.Loop(steps, [new OnnxGraphBuilder.LoopState(noise, OnnxElementType.Float, sampleDims)], (i, state) =>
            {
                var x = state[0];
                // t = (S - 1 - i) (T // S), the previous timestep t - T // S (alpha-bar = 1 before the first one)
                var t = graph.Mul(graph.Sub(graph.Sub(steps, graph.Int64Scalar(1)), i), ratio);
                var previous = graph.Sub(t, ratio);
                var abar = graph.Gather(alphaBar, t);
                var abarPrevious = graph.Node("Where", [graph.Node("Less", [previous, graph.Int64Scalar(0)]), graph.FloatScalar(1f),
                    graph.Gather(alphaBar, graph.Node("Max", [previous, graph.Int64Scalar(0)]))]);
                var rows = graph.Slice(graph.Shape(x), [0], [1], [0]);
                var timesteps = graph.Node("Expand", [graph.Cast(t, OnnxElementType.Float), rows]);
                var output = conditional
                    ? Guided(graph, exportable.ExportOnnx(context, graph.Concat(0, x, x), graph.Concat(0, timesteps, timesteps),
                        graph.Concat(0, labels!.Value, nullLabels!.Value)), guidance!.Value)
                    : exportable.ExportOnnx(context, x, timesteps, null);
                if (network.LearnsVariance) output = graph.Slice(output, [0], [channels], [1]); // the prediction, not v
                var (x0, eps) = SampleAndNoise(graph, options.PredictionType, x, output, abar);
                x0 = graph.Node("Clip", [x0, graph.FloatScalar(-1f), graph.FloatScalar(1f)]);
                // x_{t-1} = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps   (Song, Meng and Ermon 2021, eq. 12, eta = 0)
                return [graph.Add(graph.Mul(Sqrt(graph, abarPrevious), x0), graph.Mul(Sqrt(graph, OneMinus(graph, abarPrevious)), eps))];
            });
        }
        graph.AddOutput(final[0], ImagesOutputName, OnnxElementType.Float, sampleDims);

        var properties = new Dictionary<string, string>(DenoiserOnnxExporter.MetadataOf(network, options).ToProperties()) { [SamplerKey] = "ddim" };
        return graph.Build(properties, $"Diffusion.ML DDIM generator around a {network.Kind}: images = ddim(noise, steps" +
            (conditional ? ", class_labels, guidance_scale)." : ")."));
    }

    /// <summary>Exports DDIM around the network of a checkpoint, with its prediction type, schedule and class names.</summary>
    /// <param name="checkpoint">A checkpoint written by training.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    /// <param name="useEma">True (default) for the EMA weights.</param>
    public static OnnxModel ExportDdim(Training.Checkpoint checkpoint, int opset = OnnxGraphBuilder.DefaultOpset, bool useEma = true)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var network = checkpoint.LoadNetwork(useEma);
        return ExportDdim(network, DenoiserOnnxExporter.OptionsOf(checkpoint, opset, useEma));
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

    private static OnnxValue OneMinus(OnnxGraphBuilder graph, OnnxValue x) => graph.Sub(graph.FloatScalar(1f), x);
}
