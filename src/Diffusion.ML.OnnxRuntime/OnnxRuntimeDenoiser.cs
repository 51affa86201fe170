using Diffusion.ML.Onnx;
using Diffusion.ML.Sampling;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Diffusion.ML.OnnxRuntime;

/// <summary>
/// An <see cref="IDenoiser"/> backed by an ONNX Runtime <see cref="InferenceSession"/> on the CPU: every sampler of the
/// core runs on it without libtorch. Holds an unmanaged session: dispose it. Load models only from trusted sources.
/// </summary>
public sealed class OnnxRuntimeDenoiser : IDenoiser, IDisposable
{
    private readonly InferenceSession _session;
    private readonly OnnxDenoiserOptions _options;
    private readonly long[] _sampleShape;
    private readonly string _outputName;

    /// <summary>Opens <paramref name="modelPath"/> and checks that its inputs and output match <paramref name="options"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a loadable ONNX model, or its inputs or outputs do not match the options.</exception>
    public OnnxRuntimeDenoiser(string modelPath, OnnxDenoiserOptions options)
        : this(modelPath, CheckOptions(options), OnnxSessions.Open(modelPath, options.IntraOpThreads))
    {
    }

    /// <summary>Takes ownership of an open session (disposed if the signature does not match).</summary>
    private OnnxRuntimeDenoiser(string modelPath, OnnxDenoiserOptions options, InferenceSession session)
    {
        _options = options;
        _sampleShape = options.SampleShape.Select(d => (long)d).ToArray();
        _session = session;
        try
        {
            _outputName = CheckSignature(modelPath);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a denoiser exported by Diffusion.ML (<c>diffusion-ml export</c>, or <c>DenoiserOnnxExporter</c>): the sample
    /// shape, prediction type, classes and noise schedule come from the file's <see cref="DiffusionModelMetadata"/>.
    /// </summary>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="intraOpThreads">ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose.</param>
    /// <param name="graphOptimization">ONNX Runtime graph optimisation level; null for ONNX Runtime's default (all).</param>
    /// <returns>The denoiser with its metadata; dispose it.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a loadable ONNX model, has no Diffusion.ML metadata, or its
    /// inputs do not match the metadata.</exception>
    public static OnnxDiffusionModel Load(string modelPath, int intraOpThreads = 0, GraphOptimizationLevel? graphOptimization = null)
    {
        var session = OnnxSessions.Open(modelPath, intraOpThreads, graphOptimization);
        DiffusionModelMetadata metadata;
        try
        {
            metadata = DiffusionModelMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap, modelPath);
        }
        catch
        {
            session.Dispose();
            throw;
        }
        var options = new OnnxDenoiserOptions
        {
            SampleShape = metadata.SampleShape,
            PredictionType = metadata.PredictionType,
            ClassCount = metadata.ClassCount,
            SampleInputName = DiffusionModelMetadata.SampleInputName,
            TimestepInputName = DiffusionModelMetadata.TimestepInputName,
            ClassInputName = DiffusionModelMetadata.ClassInputName,
            OutputName = DiffusionModelMetadata.OutputName,
            IntraOpThreads = intraOpThreads,
        };
        return new OnnxDiffusionModel(new OnnxRuntimeDenoiser(modelPath, options, session), metadata);
    }

    private static OnnxDenoiserOptions CheckOptions(OnnxDenoiserOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.SampleShape.Count == 0 || options.SampleShape.Any(d => d <= 0))
            throw new ArgumentException($"SampleShape must be non-empty with positive sizes, got [{string.Join(", ", options.SampleShape)}].", nameof(options));
        return options;
    }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape => _options.SampleShape;

    /// <inheritdoc />
    public PredictionType PredictionType => _options.PredictionType;

    /// <inheritdoc />
    public int ClassCount => _options.ClassCount;

    /// <inheritdoc />
    public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        int batch = timesteps.Length;
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(_options.SampleInputName, new DenseTensor<float>(x.ToArray(), [batch, .. _sampleShape.Select(d => (int)d)])),
            NamedOnnxValue.CreateFromTensor(_options.TimestepInputName, new DenseTensor<float>(timesteps.ToArray(), [batch])),
        };
        if (ClassCount > 0)
        {
            var labels = new long[batch];
            for (int i = 0; i < batch; i++) labels[i] = classLabels.IsEmpty ? ClassCount : classLabels[i];
            inputs.Add(NamedOnnxValue.CreateFromTensor(_options.ClassInputName, new DenseTensor<long>(labels, [batch])));
        }
        using var results = _session.Run(inputs, [_outputName]);
        var prediction = results.First().AsTensor<float>();
        if (prediction.Length != output.Length)
            throw new InvalidDataException($"The model's output '{_outputName}' has {prediction.Length} values; {output.Length} were expected (batch {batch} of [{string.Join(", ", _sampleShape)}]).");
        int k = 0;
        foreach (float value in prediction) output[k++] = value;
    }

    private string CheckSignature(string modelPath)
    {
        var inputs = _session.InputMetadata;
        var required = new List<string> { _options.SampleInputName, _options.TimestepInputName };
        if (ClassCount > 0) required.Add(_options.ClassInputName);
        foreach (string name in required)
            if (!inputs.ContainsKey(name))
                throw new InvalidDataException(
                    $"'{modelPath}' has no input '{name}'. Its inputs are: {string.Join(", ", inputs.Keys)}. Set the input names in OnnxDenoiserOptions.");
        return OnnxSessions.Resolve(_session.OutputMetadata, _options.OutputName, "output", modelPath, "OnnxDenoiserOptions.OutputName");
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
