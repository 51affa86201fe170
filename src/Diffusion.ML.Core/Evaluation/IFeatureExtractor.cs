namespace Diffusion.ML.Evaluation;

/// <summary>
/// A network that maps images to feature vectors (and, when it is a classifier, to class logits): the "Inception"
/// of FID, KID, Inception Score and precision/recall. Implemented by a TorchSharp module, an ONNX file, or the user's
/// own code, so the metrics never depend on one backend or one network.
/// </summary>
public interface IFeatureExtractor
{
    /// <summary>A short name that identifies the network in reports (e.g. <c>fashion-mnist-features</c>).</summary>
    string Name { get; }

    /// <summary>The image shape the network takes, channels first: [C, H, W].</summary>
    IReadOnlyList<int> InputShape { get; }

    /// <summary>The length D of one feature vector.</summary>
    int FeatureDimension { get; }

    /// <summary>The number of class logits per image; 0 when the network is not a classifier.</summary>
    int ClassCount { get; }

    /// <summary>
    /// Computes the features (and logits) of a batch of images.
    /// </summary>
    /// <param name="images">N images of <see cref="InputShape"/>, row-major, pixel values in [-1, 1].</param>
    /// <param name="features">Receives N * <see cref="FeatureDimension"/> values.</param>
    /// <param name="logits">Receives N * <see cref="ClassCount"/> values, or is empty when logits are not wanted.</param>
    /// <exception cref="ArgumentException">A length does not match the batch.</exception>
    void Extract(ReadOnlySpan<float> images, Span<float> features, Span<float> logits);
}
