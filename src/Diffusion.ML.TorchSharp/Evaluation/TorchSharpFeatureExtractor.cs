using Diffusion.ML.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Evaluation;

/// <summary>
/// An <see cref="IFeatureExtractor"/> over a TorchSharp <see cref="FeatureClassifier"/>: runs the network in eval mode
/// without gradients, in batches of <see cref="BatchSize"/>, and returns its penultimate-layer features and its logits.
/// Not thread-safe: use one instance per thread.
/// </summary>
public sealed class TorchSharpFeatureExtractor : IFeatureExtractor, IDisposable
{
    private readonly bool _ownsNetwork;
    private readonly long[] _inputShape;
    private readonly int _imageLength;

    /// <summary>Wraps a network (it is switched to eval mode for each call and switched back afterwards).</summary>
    /// <param name="network">The trained classifier, already on <paramref name="device"/>.</param>
    /// <param name="name">The name reported by <see cref="Name"/>, e.g. <c>fashion-mnist-features</c>.</param>
    /// <param name="device">Device the network lives on (default CPU).</param>
    /// <param name="batchSize">Images per forward pass (default <see cref="TorchSharpRuntime.CpuBatchSize"/>).</param>
    public TorchSharpFeatureExtractor(FeatureClassifier network, string name, Device? device = null, int batchSize = TorchSharpRuntime.CpuBatchSize)
        : this(network, name, device, batchSize, ownsNetwork: false, manifest: null)
    {
    }

    private TorchSharpFeatureExtractor(FeatureClassifier network, string name, Device? device, int batchSize, bool ownsNetwork, FeatureNetworkManifest? manifest)
    {
        TorchSharpRuntime.EnsureLoaded();
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Network = network;
        Name = name;
        Device = device ?? CPU;
        BatchSize = batchSize;
        Manifest = manifest;
        _ownsNetwork = ownsNetwork;
        _inputShape = network.InputShape;
        _imageLength = (int)_inputShape.Aggregate(1L, (a, b) => a * b);
        InputShape = _inputShape.Select(d => (int)d).ToArray();
    }

    /// <summary>Loads a feature-network file (see <see cref="FeatureNetworkFile"/>); <see cref="Name"/> is its id.</summary>
    /// <param name="path">The file, e.g. <c>zoo/fashion-mnist-features/model.zip</c>.</param>
    /// <param name="device">Device to run on (default CPU).</param>
    /// <param name="batchSize">Images per forward pass (default <see cref="TorchSharpRuntime.CpuBatchSize"/>).</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid feature-network file.</exception>
    public static TorchSharpFeatureExtractor Load(string path, Device? device = null, int batchSize = TorchSharpRuntime.CpuBatchSize)
    {
        var file = FeatureNetworkFile.Load(path);
        var network = file.CreateNetwork(device);
        return new TorchSharpFeatureExtractor(network, file.Manifest.Id, device, batchSize, ownsNetwork: true, file.Manifest);
    }

    /// <summary>The wrapped network.</summary>
    public FeatureClassifier Network { get; }

    /// <summary>The manifest of the file the network was loaded from, or null for a wrapped module.</summary>
    public FeatureNetworkManifest? Manifest { get; }

    /// <summary>The device inputs are moved to.</summary>
    public Device Device { get; }

    /// <summary>Images per forward pass.</summary>
    public int BatchSize { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> InputShape { get; }

    /// <inheritdoc />
    public int FeatureDimension => Network.FeatureDimension;

    /// <inheritdoc />
    public int ClassCount => Network.ClassCount;

    /// <inheritdoc />
    public void Extract(ReadOnlySpan<float> images, Span<float> features, Span<float> logits)
    {
        if (images.Length % _imageLength != 0)
            throw new ArgumentException(
                $"The images hold {images.Length} values, not a multiple of one image's {_imageLength} ([{string.Join(", ", InputShape)}]).", nameof(images));
        int count = images.Length / _imageLength, d = FeatureDimension, k = ClassCount;
        if (features.Length != (long)count * d)
            throw new ArgumentException($"features has {features.Length} values; {count} images need {(long)count * d} ({d} each).", nameof(features));
        if (!logits.IsEmpty && logits.Length != (long)count * k)
            throw new ArgumentException($"logits has {logits.Length} values; {count} images need {(long)count * k} ({k} each), or pass an empty span.", nameof(logits));
        if (count == 0) return;

        bool wasTraining = Network.training;
        Network.eval();
        try
        {
            using var mode = inference_mode();
            for (int start = 0; start < count; start += BatchSize)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(BatchSize, count - start);
                var x = tensor(images.Slice(start * _imageLength, n * _imageLength).ToArray(), [n, .. _inputShape], device: Device);
                var (f, l) = Network.FeaturesAndLogits(x);
                f.to(CPU).contiguous().data<float>().CopyTo(features.Slice(start * d, n * d));
                if (!logits.IsEmpty) l.to(CPU).contiguous().data<float>().CopyTo(logits.Slice(start * k, n * k));
            }
        }
        finally
        {
            if (wasTraining) Network.train();
        }
    }

    /// <summary>Disposes the network when this extractor loaded it (a wrapped module stays the caller's).</summary>
    public void Dispose()
    {
        if (_ownsNetwork) Network.Dispose();
    }
}
