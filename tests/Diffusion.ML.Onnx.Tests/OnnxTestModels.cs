using Diffusion.ML.TorchSharp.Modules;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.Onnx.Tests;

/// <summary>Tiny networks with randomised parameters, and a TorchSharp-vs-ONNX Runtime comparison.</summary>
[TestClass]
public static class OnnxTestModels
{
    /// <summary>One TorchSharp thread: the test machines are small and shared, and OpenMP spinning against ONNX Runtime's
    /// threads slows both down by orders of magnitude.</summary>
    [AssemblyInitialize]
    public static void UseOneTorchThread(TestContext _) => torch.set_num_threads(1);

    /// <summary>UNet with attention at 4x4 (and in the middle) and 3 classes, for 8x8 single-channel images.</summary>
    public static UNetOptions AttentionConditional => new()
    {
        ImageSize = 8, ImageChannels = 1, BaseChannels = 16, GroupNormGroups = 8, ChannelMultipliers = [1, 2],
        AttentionResolutions = [4], AttentionHeads = 2, ResidualBlocksPerLevel = 1, ClassCount = 3,
    };

    /// <summary>Unconditional 3-level UNet without attention resolutions (the middle block keeps its attention), 2 channels,
    /// learned variance (4 output channels).</summary>
    public static UNetOptions PlainUnconditional => new()
    {
        ImageSize = 8, ImageChannels = 2, BaseChannels = 8, GroupNormGroups = 4, ChannelMultipliers = [1, 2, 2],
        AttentionResolutions = [], AttentionHeads = 1, ResidualBlocksPerLevel = 1, LearnSigma = true,
    };

    /// <summary>Class-conditional DiT with learned variance for non-square 2x8x12 images: patch 2 (4x6 tokens), width 32,
    /// 2 blocks of 4 heads, MLP ratio 4.</summary>
    public static DitOptions DitConditional => new()
    {
        ImageChannels = 2, ImageHeight = 8, ImageWidth = 12, PatchSize = 2, HiddenSize = 32, Depth = 2, Heads = 4,
        FrequencyEmbeddingSize = 16, ClassCount = 3, LearnSigma = true,
    };

    /// <summary>Unconditional DiT for 1x8x8 images in 4x4 patches (2x2 tokens), width 16, 1 block of 2 heads.</summary>
    public static DitOptions DitUnconditional => new()
    {
        ImageChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 4, HiddenSize = 16, Depth = 1, Heads = 2, FrequencyEmbeddingSize = 8,
    };

    /// <summary>Replaces every parameter by a random value around its initialisation, so zero-initialised output
    /// layers and unit GroupNorm scales are exercised too.</summary>
    public static T Randomize<T>(T network, long seed) where T : DenoiserNetwork
    {
        torch.manual_seed(seed);
        using var _ = torch.no_grad();
        foreach (var (name, p) in network.named_parameters())
        {
            using var noise = torch.randn_like(p);
            p.add_(noise.mul_(name.EndsWith("weight") && p.dim() == 1 ? 0.3 : 0.1));
        }
        network.eval();
        return network;
    }

    /// <summary>
    /// A freshly initialised network whose zero-initialised output layer gets small random weights: smooth like a trained
    /// one. (<see cref="Randomize"/>d networks are chaotic under 50-step sampling: a 2e-6 change of every prediction moves
    /// their samples by O(1), so they suit single-call parity but not trajectory comparisons.)
    /// </summary>
    public static UNet SmoothUNet(UNetOptions options, long seed)
    {
        torch.manual_seed(seed);
        var network = new UNet(options);
        using var _ = torch.no_grad();
        foreach (var (name, p) in network.named_parameters())
            if (name == "outputConv.weight") p.normal_(0, 0.05);
        network.eval();
        return network;
    }

    /// <summary>Runs the network in TorchSharp: the reference.</summary>
    public static float[] Torch(DenoiserNetwork network, float[] x, long[] shape, float[] t, long[]? labels)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var output = network.call(torch.tensor(x, shape), torch.tensor(t), labels is null ? null : torch.tensor(labels));
        return output.data<float>().ToArray();
    }

    /// <summary>Runs the exported file in ONNX Runtime with the given graph optimisation.</summary>
    public static float[] Ort(string path, GraphOptimizationLevel level, float[] x, long[] shape, float[] t, long[]? labels)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, shape.Select(d => (int)d).ToArray())),
            NamedOnnxValue.CreateFromTensor("t", new DenseTensor<float>(t, [t.Length])),
        };
        if (labels is not null) inputs.Add(NamedOnnxValue.CreateFromTensor("class_labels", new DenseTensor<long>(labels, [labels.Length])));
        using var results = session.Run(inputs, ["out"]);
        return results.First().AsTensor<float>().ToArray();
    }

    /// <summary>Largest |ort - torch| and whether every element is within 1e-4 + 1e-3 |torch| and finite.</summary>
    public static (double MaxAbs, bool Within, bool Finite) Compare(float[] reference, float[] actual)
    {
        Assert.HasCount(reference.Length, actual);
        double max = 0;
        bool within = true, finite = true;
        for (int i = 0; i < reference.Length; i++)
        {
            if (!float.IsFinite(actual[i]) || !float.IsFinite(reference[i])) finite = false;
            double diff = Math.Abs(actual[i] - reference[i]);
            max = Math.Max(max, diff);
            if (!(diff <= 1e-4 + 1e-3 * Math.Abs(reference[i]))) within = false;
        }
        return (max, within, finite);
    }

    /// <summary>Deterministic pseudo-random floats in [-scale, scale).</summary>
    public static float[] Uniform(int count, int seed, float scale)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
    }
}
