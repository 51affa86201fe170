using Diffusion.ML.Evaluation;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Diffusion.ML.OnnxRuntime;

/// <summary>
/// An <see cref="IFeatureExtractor"/> backed by an ONNX file, so FID, KID, IS and precision/recall can use any network
/// exported from any framework — for the standard FID, an Inception-v3 pool3 export on 299x299 RGB inputs.
/// Holds an unmanaged session: dispose it. Load models only from trusted sources.
/// </summary>
public sealed class OnnxFeatureExtractor : IFeatureExtractor, IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _inputName, _featureName;
    private readonly string? _logitsName;
    private readonly int[] _networkShape;
    private readonly ImageAdapter _adapter;

    /// <summary>Opens <paramref name="modelPath"/> and checks its input and outputs against <paramref name="options"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a loadable ONNX model, or its inputs or outputs do not fit the options.</exception>
    /// <exception cref="ArgumentException">The options are inconsistent (e.g. logits without a class count, an image shape that cannot be adapted).</exception>
    public OnnxFeatureExtractor(string modelPath, OnnxFeatureExtractorOptions? options = null)
    {
        options ??= new OnnxFeatureExtractorOptions();
        if (options.LogitsOutputName is not null && options.ClassCount < 2)
            throw new ArgumentException("A logits output needs ClassCount >= 2 in OnnxFeatureExtractorOptions.", nameof(options));
        _session = OnnxSessions.Open(modelPath, options.IntraOpThreads);
        try
        {
            _inputName = OnnxSessions.Resolve(_session.InputMetadata, options.InputName, "input", modelPath, "OnnxFeatureExtractorOptions.InputName");
            var outputs = _session.OutputMetadata;
            if (options.LogitsOutputName is { } logits)
                _logitsName = OnnxSessions.Resolve(outputs, logits, "output", modelPath, "OnnxFeatureExtractorOptions.LogitsOutputName");
            string? featureName = options.FeatureOutputName;
            if (featureName is null && _logitsName is not null && outputs.Count == 2)
                featureName = outputs.Keys.Single(k => k != _logitsName); // features and logits: the other output holds the features
            _featureName = OnnxSessions.Resolve(outputs, featureName, "output", modelPath, "OnnxFeatureExtractorOptions.FeatureOutputName");
            _networkShape = StaticShape(_session.InputMetadata[_inputName].Dimensions, modelPath, $"input '{_inputName}'",
                "Export the network with a fixed input size.");
            if (_networkShape.Length != 3)
                throw new InvalidDataException($"'{modelPath}' input '{_inputName}' has {_networkShape.Length + 1} dimensions; a feature network takes [B, C, H, W].");
            FeatureDimension = options.FeatureDimension
                ?? StaticShape(outputs[_featureName].Dimensions, modelPath, $"output '{_featureName}'",
                    "Set OnnxFeatureExtractorOptions.FeatureDimension.").Aggregate(1, (a, b) => a * b);
            InputShape = options.ImageShape is { } shape ? [.. shape] : _networkShape;
            if (InputShape.Count != 3 || InputShape.Any(d => d <= 0))
                throw new ArgumentException($"ImageShape must be [C, H, W] with positive sizes; got [{string.Join(", ", InputShape)}].", nameof(options));
            _adapter = new ImageAdapter(InputShape, _networkShape, options.InputMinimum, options.InputMaximum);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
        ClassCount = _logitsName is null ? 0 : options.ClassCount;
        Name = options.Name ?? Path.GetFileNameWithoutExtension(modelPath);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> InputShape { get; }

    /// <inheritdoc />
    public int FeatureDimension { get; }

    /// <inheritdoc />
    public int ClassCount { get; }

    /// <inheritdoc />
    public void Extract(ReadOnlySpan<float> images, Span<float> features, Span<float> logits)
    {
        int length = InputShape[0] * InputShape[1] * InputShape[2];
        if (images.Length == 0 || images.Length % length != 0)
            throw new ArgumentException($"{images.Length} values are not a whole number of [{string.Join(", ", InputShape)}] images.", nameof(images));
        int n = images.Length / length;
        if (features.Length != n * FeatureDimension)
            throw new ArgumentException($"The feature buffer holds {features.Length} values; {n} images need {n * FeatureDimension}.", nameof(features));
        bool wantLogits = ClassCount > 0 && !logits.IsEmpty;
        if (wantLogits && logits.Length != n * ClassCount)
            throw new ArgumentException($"The logit buffer holds {logits.Length} values; {n} images need {n * ClassCount}.", nameof(logits));

        var input = new float[n * _adapter.OutputLength];
        _adapter.Adapt(images, n, input);
        var tensor = new DenseTensor<float>(input, [n, .. _networkShape]);
        string[] outputs = wantLogits ? [_featureName, _logitsName!] : [_featureName];
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_inputName, tensor)], outputs);
        Copy(results.First(r => r.Name == _featureName).AsTensor<float>(), features, _featureName);
        if (wantLogits)
            Copy(results.First(r => r.Name == _logitsName).AsTensor<float>(), logits, _logitsName!);
    }

    private static void Copy(Tensor<float> source, Span<float> target, string name)
    {
        if (source.Length != target.Length)
            throw new InvalidDataException($"The network's output '{name}' has {source.Length} values; {target.Length} were expected.");
        int k = 0;
        foreach (float value in source) target[k++] = value;
    }

    private static int[] StaticShape(int[] dimensions, string modelPath, string what, string fix)
    {
        int[] rest = dimensions.Skip(1).ToArray();
        if (dimensions.Length < 2 || rest.Any(d => d <= 0))
            throw new InvalidDataException(
                $"'{modelPath}' {what} has shape [{string.Join(", ", dimensions)}]; all dimensions after the batch must be fixed. {fix}");
        return rest;
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
