using Diffusion.ML.Evaluation;
using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.TorchSharp.Evaluation;
using TorchSharp;

namespace Diffusion.ML.Cli.Evaluation;

/// <summary>Opens the feature network that <c>eval --features</c> names: a TorchSharp feature-network file or an ONNX file.</summary>
internal sealed class FeatureNetworks : IDisposable
{
    private readonly IDisposable _owner;

    private FeatureNetworks(IFeatureExtractor extractor, IDisposable owner) => (Extractor, _owner) = (extractor, owner);

    /// <summary>The opened network.</summary>
    public IFeatureExtractor Extractor { get; }

    /// <summary>Opens <paramref name="path"/>; ONNX files take the output names, class count and pixel range given.</summary>
    public static FeatureNetworks Open(string path, torch.Device device, string? featureOutput, string? logitsOutput, int classes, string inputRange)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(path == Commands.EvalCommand.DefaultFeatures
                ? $"The default feature network '{path}' is not here: run eval from a clone of the repository, or pass --features."
                : $"Feature network '{path}' does not exist.", path);
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            var network = TorchSharpFeatureExtractor.Load(path, device);
            return new FeatureNetworks(network, network);
        }
        float[] range;
        try
        {
            range = inputRange.Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            range = [];
        }
        if (range.Length != 2 || !(range[1] > range[0]))
            throw new ArgumentException($"--onnx-input-range takes 'min,max' with min < max, e.g. 0,1; got '{inputRange}'.");
        var onnx = new OnnxFeatureExtractor(path, new OnnxFeatureExtractorOptions
        {
            FeatureOutputName = featureOutput,
            LogitsOutputName = logitsOutput,
            ClassCount = classes,
            InputMinimum = range[0],
            InputMaximum = range[1],
        });
        return new FeatureNetworks(onnx, onnx);
    }

    /// <inheritdoc />
    public void Dispose() => _owner.Dispose();
}
