using Diffusion.ML.Sampling;

namespace Diffusion.ML.OnnxRuntime;

/// <summary>How an ONNX file maps onto <see cref="IDenoiser"/>: the sample shape, what it predicts, and its input and output names.</summary>
public sealed record OnnxDenoiserOptions
{
    /// <summary>Shape of one sample without the batch dimension, e.g. [1, 28, 28]. Required.</summary>
    public required IReadOnlyList<int> SampleShape { get; init; }

    /// <summary>What the model outputs. Default <see cref="PredictionType.Epsilon"/>.</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>Number of classes (0 = unconditional; label ClassCount is the null class). Default 0.</summary>
    public int ClassCount { get; init; }

    /// <summary>Name of the float32 input [B, ...SampleShape] holding x_t. Default "x".</summary>
    public string SampleInputName { get; init; } = "x";

    /// <summary>Name of the float32 input [B] holding the timesteps. Default "t".</summary>
    public string TimestepInputName { get; init; } = "t";

    /// <summary>Name of the int64 input [B] holding class labels (used when <see cref="ClassCount"/> &gt; 0). Default "class_labels".</summary>
    public string ClassInputName { get; init; } = "class_labels";

    /// <summary>Name of the float32 output shaped like x. Null takes the model's only output. Default null.</summary>
    public string? OutputName { get; init; }

    /// <summary>ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose. Default 0.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Where ONNX Runtime runs the model. Default <see cref="OnnxExecutionProvider.Cpu"/>.</summary>
    public OnnxExecutionProvider ExecutionProvider { get; init; }

    /// <summary>The GPU for <see cref="OnnxExecutionProvider.Cuda"/>. Default 0.</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// The default <see cref="MaxEvaluationBatch"/> on the CPU. Measured on the project's 2-core machine (docs/benchmarks.md,
    /// "Evaluation batch on the CPU"): the zoo's latent DiT generated 18.6 images/s in runs of 64 against 15.7 in one run
    /// of 512 (256 images with guidance).
    /// </summary>
    public const int CpuEvaluationBatch = 64;

    /// <summary>
    /// The most samples one ONNX Runtime run evaluates; a bigger batch is evaluated in consecutive runs of at most this
    /// many. Null (the default): <see cref="CpuEvaluationBatch"/> on the CPU, all at once on a GPU.
    /// </summary>
    public int? MaxEvaluationBatch { get; init; }
}
