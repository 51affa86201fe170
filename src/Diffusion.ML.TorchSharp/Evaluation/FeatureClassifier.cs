using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Evaluation;

/// <summary>
/// A small CNN image classifier whose penultimate layer serves as the feature space of FID, KID, precision/recall, and
/// whose logits serve the Inception Score. Layout (<see cref="FeatureClassifierOptions"/>): for each stage
/// <c>[Conv3x3-BN-ReLU] x2 - MaxPool2 - Dropout</c>, then <c>Flatten - Linear(D) - ReLU</c> (the features) <c>- Dropout -
/// Linear(classes)</c>. It uses BatchNorm, so features must be computed in eval mode (<see cref="TorchSharpFeatureExtractor"/> does).
/// </summary>
public sealed class FeatureClassifier : nn.Module<Tensor, Tensor>
{
    /// <summary>Value of <see cref="Kind"/> for this architecture, stored in feature-network files.</summary>
    public const string KindName = "cnn-classifier";

    private readonly Sequential trunk;
    private readonly Sequential featureHead;
    private readonly Dropout featureDropout;
    private readonly Linear classifier;

    /// <summary>Builds the network with freshly initialised weights (seed TorchSharp first for a reproducible init).</summary>
    /// <param name="options">Architecture; null means the Fashion-MNIST defaults.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public FeatureClassifier(FeatureClassifierOptions? options = null) : base(nameof(FeatureClassifier))
    {
        TorchSharpRuntime.EnsureLoaded();
        Options = options ?? new FeatureClassifierOptions();
        Options.Validate();
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        int inChannels = Options.InputChannels;
        for (int s = 0; s < Options.StageChannels.Length; s++)
        {
            int c = Options.StageChannels[s];
            for (int k = 0; k < 2; k++)
            {
                layers.Add(($"conv{s}_{k}", nn.Conv2d(inChannels, c, 3, padding: 1, bias: false))); // bias is redundant before BN
                layers.Add(($"bn{s}_{k}", nn.BatchNorm2d(c)));
                layers.Add(($"relu{s}_{k}", nn.ReLU()));
                inChannels = c;
            }
            layers.Add(($"pool{s}", nn.MaxPool2d(2)));
            if (Options.ConvDropout > 0) layers.Add(($"drop{s}", nn.Dropout(Options.ConvDropout)));
        }
        trunk = nn.Sequential(layers);
        int side = Options.ImageSize >> Options.StageChannels.Length;
        featureHead = nn.Sequential(
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(inChannels * side * side, Options.FeatureDimension)),
            ("relu", nn.ReLU()));
        featureDropout = nn.Dropout(Options.FeatureDropout);
        classifier = nn.Linear(Options.FeatureDimension, Options.ClassCount);
        RegisterComponents();
    }

    /// <summary>The (validated) architecture options.</summary>
    public FeatureClassifierOptions Options { get; }

    /// <summary>Architecture kind stored in feature-network files (<see cref="KindName"/>).</summary>
    public string Kind => KindName;

    /// <summary>The options as JSON; <see cref="FeatureClassifierOptions.FromJson"/> rebuilds the same architecture.</summary>
    public string ConfigJson => Options.ToJson();

    /// <summary>Shape of one input image, channels first: [C, H, W].</summary>
    public long[] InputShape => [Options.InputChannels, Options.ImageSize, Options.ImageSize];

    /// <summary>Length D of a feature vector.</summary>
    public int FeatureDimension => Options.FeatureDimension;

    /// <summary>Number of class logits.</summary>
    public int ClassCount => Options.ClassCount;

    /// <summary>Total number of scalar parameters (BatchNorm running statistics excluded).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>The class logits of a batch (same as <see cref="FeaturesAndLogits"/>'s second result).</summary>
    /// <param name="x">Images, float32 <c>[B, C, H, W]</c>, values in [-1, 1].</param>
    /// <returns>Logits <c>[B, ClassCount]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x) => FeaturesAndLogits(x).Logits;

    /// <summary>The features (ReLU outputs of the penultimate layer) of a batch.</summary>
    /// <param name="x">Images, float32 <c>[B, C, H, W]</c>, values in [-1, 1].</param>
    /// <returns>Features <c>[B, FeatureDimension]</c>; a new tensor.</returns>
    public Tensor Features(Tensor x)
    {
        CheckInput(x);
        using var scope = NewDisposeScope();
        var h = x;
        foreach (var layer in trunk.children()) // convolutions through Layers.Convolve (a libtorch CPU defect)
            h = layer is Conv2d conv ? Layers.Convolve(conv, h) : ((nn.Module<Tensor, Tensor>)layer).call(h);
        return featureHead.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>Features and logits of a batch in one pass.</summary>
    /// <param name="x">Images, float32 <c>[B, C, H, W]</c>, values in [-1, 1].</param>
    /// <returns>Features <c>[B, FeatureDimension]</c> and logits <c>[B, ClassCount]</c>.</returns>
    public (Tensor Features, Tensor Logits) FeaturesAndLogits(Tensor x)
    {
        using var scope = NewDisposeScope();
        var features = Features(x);
        var logits = classifier.call(featureDropout.call(features));
        return (features.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }

    private void CheckInput(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        long[] expected = InputShape;
        if (x.dim() != 4 || x.shape[1] != expected[0] || x.shape[2] != expected[1] || x.shape[3] != expected[2])
            throw new ArgumentException(
                $"Expected images [B, {expected[0]}, {expected[1]}, {expected[2]}]; got [{string.Join(", ", x.shape)}].", nameof(x));
    }
}
