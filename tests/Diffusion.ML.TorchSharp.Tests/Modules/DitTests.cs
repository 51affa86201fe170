using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Modules;

[TestClass]
public sealed class DitTests
{
    /// <summary>A tiny non-square DiT: 2x8x12 images, patch 2 (4x6 tokens), width 32, 2 blocks of 4 heads.</summary>
    private static DitOptions Tiny(int classCount = 0, bool learnSigma = false) => new()
    {
        ImageChannels = 2, ImageHeight = 8, ImageWidth = 12, PatchSize = 2, HiddenSize = 32, Depth = 2, Heads = 4,
        FrequencyEmbeddingSize = 16, ClassCount = classCount, LearnSigma = learnSigma,
    };

    /// <summary>Moves every parameter away from its initialisation (zero modulation and decoder included).</summary>
    private static void Randomize(Dit net, long seed)
    {
        torch.manual_seed(seed);
        using var _ = torch.no_grad();
        foreach (var p in net.parameters())
        {
            using var noise = torch.randn_like(p);
            p.add_(noise.mul_(0.1));
        }
        net.eval();
    }

    [TestMethod]
    public void Forward_KeepsShape_AndLearnSigmaDoublesChannels()
    {
        torch.manual_seed(0);
        using var net = new Dit(Tiny(classCount: 3));
        using var x = torch.randn(3, 2, 8, 12);
        using var t = torch.tensor(new[] { 0f, 10.5f, 999f });
        using var labels = torch.tensor(new long[] { 0, 2, 3 });
        using var y = net.Predict(x, t, labels);
        CollectionAssert.AreEqual(x.shape, y.shape);
        CollectionAssert.AreEqual(new long[] { 2, 8, 12 }, net.SampleShape);
        Assert.AreEqual("dit", net.Kind);

        using var sigmaNet = new Dit(Tiny(learnSigma: true));
        using var scalarT = torch.tensor(5f);
        using var y2 = sigmaNet.Predict(x, scalarT);
        CollectionAssert.AreEqual(new long[] { 3, 4, 8, 12 }, y2.shape);
    }

    [TestMethod]
    public void FreshNetwork_EveryBlockIsTheIdentity_AndTheOutputIsExactlyZero()
    {
        torch.manual_seed(1);
        using var net = new Dit(Tiny(classCount: 3, learnSigma: true));
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var x = torch.randn(2, 2, 8, 12) * 3;
        var t = torch.tensor(new[] { 3f, 700f });
        var labels = torch.tensor(new long[] { 1, 3 });

        // adaLN-Zero (Peebles and Xie 2022, Sec. 3.2): the modulation is zero, so every gate is zero and x + 0 * f(x) = x.
        var c = net.Conditioning(t, labels, 2, x.device);
        Assert.IsGreaterThan(0f, c.abs().max().item<float>(), "the conditioning itself is not zero");
        var h = net.Patches.call(x) + net.PositionEmbedding;
        foreach (var block in net.Blocks)
        {
            var next = block.call(h, c);
            Assert.IsTrue(Same(h, next), "a fresh DiT block must be exactly the identity");
            h = next;
        }
        var y = net.Predict(x, t, labels);
        Assert.AreEqual(0f, y.abs().max().item<float>(), "a fresh DiT must predict exactly 0");
    }

    [TestMethod]
    public void Unpatchify_PutsEveryTokenValueWhereThePatchLayoutSays_AndInvertsPatchify()
    {
        const int batch = 2, channels = 3, p = 2, rows = 3, columns = 4;
        torch.manual_seed(2);
        using var scope = torch.NewDisposeScope();
        var tokens = torch.randn(batch, rows * columns, p * p * channels);
        var image = Dit.Unpatchify(tokens, p, channels, rows, columns);
        CollectionAssert.AreEqual(new long[] { batch, channels, rows * p, columns * p }, image.shape);

        float[] tok = tokens.data<float>().ToArray(), img = image.contiguous().data<float>().ToArray();
        int height = rows * p, width = columns * p, patchValues = p * p * channels;
        for (int n = 0; n < batch; n++)
            for (int ch = 0; ch < channels; ch++)
                for (int y = 0; y < height; y++)
                    for (int xx = 0; xx < width; xx++)
                    {
                        // Token (i, j) = (y / p, x / p) holds its patch as (row a, column b, channel c), c fastest.
                        int token = (y / p) * columns + xx / p, inPatch = ((y % p) * p + xx % p) * channels + ch;
                        float expected = tok[(n * rows * columns + token) * patchValues + inPatch];
                        Assert.AreEqual(expected, img[((n * channels + ch) * height + y) * width + xx]);
                    }

        var original = torch.randn(batch, channels, height, width);
        var roundTrip = Dit.Unpatchify(HandPatchify(original, p), p, channels, rows, columns);
        Assert.IsTrue(Same(original, roundTrip), "unpatchify(patchify(x)) must give x back exactly");
    }

    [TestMethod]
    public void PatchEmbedding_IsALinearLayerOnTheRowMajorPatches()
    {
        const int channels = 3, p = 2, d = 8;
        torch.manual_seed(3);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var embedding = new PatchEmbedding(channels, p, d);
        embedding.Projection.bias!.normal_(0, 1);
        var x = torch.randn(2, channels, 4, 6);
        var tokens = embedding.call(x);

        // The conv weight [d, C, p, p] as a linear map on patches flattened (a, b, c): W' = permute to [d, p, p, C].
        var weight = embedding.Projection.weight!.permute(0, 2, 3, 1).reshape(d, -1);
        var expected = torch.matmul(HandPatchify(x, p), weight.t()) + embedding.Projection.bias!;
        CollectionAssert.AreEqual(new long[] { 2, 6, d }, tokens.shape);
        Assert.IsTrue(torch.allclose(tokens, expected, rtol: 1e-5, atol: 1e-5), "the stride-p convolution must embed patch i * columns + j");
    }

    [TestMethod]
    public void PositionEmbedding_EqualsTheSinCosFormula()
    {
        const int d = 16, rows = 3, columns = 5;
        using var table = DitPositionEmbedding.Create(d, rows, columns);
        CollectionAssert.AreEqual(new long[] { rows * columns, d }, table.shape);
        var values = table.data<float>().ToArray();
        // MAE / DiT: emb(i, j) = [emb1d_{d/2}(j), emb1d_{d/2}(i)], emb1d_D(pos) = [sin(pos w_m), cos(pos w_m)], w_m = 10000^(-2m/D).
        static double Emb1d(int dim, int pos, int index)
        {
            int m = index % (dim / 2);
            double w = 1.0 / Math.Pow(10000, 2.0 * m / dim);
            return index < dim / 2 ? Math.Sin(pos * w) : Math.Cos(pos * w);
        }
        foreach (var (i, j, k) in new[] { (0, 0, 0), (0, 0, 5), (2, 4, 1), (1, 3, 7), (2, 1, 8), (1, 4, 11), (2, 3, 13), (0, 2, 15) })
        {
            double expected = k < d / 2 ? Emb1d(d / 2, j, k) : Emb1d(d / 2, i, k - d / 2);
            Assert.AreEqual(expected, values[(i * columns + j) * d + k], 1e-6, $"(i, j, k) = ({i}, {j}, {k})");
        }

        using var net = new Dit(Tiny());
        using var buffer = net.PositionEmbedding.squeeze(0);
        using var expectedTable = DitPositionEmbedding.Create(32, 4, 6);
        Assert.IsTrue(Same(buffer, expectedTable));
        Assert.IsTrue(net.named_buffers().Any(b => b.name == "positionEmbedding"), "the position embedding is a buffer");
        Assert.IsFalse(net.named_parameters().Any(p => p.name.Contains("position")), "the position embedding is not trained");
    }

    [TestMethod]
    [DataRow("S", 384, 12, 33_000_000)]
    [DataRow("B", 768, 12, 130_000_000)]
    public void ParameterCount_OfThePapersModels_MatchesTheHandCount(string size, int d, int depth, long paperCount)
    {
        // DiT-S/2 and DiT-B/2 on 32x32x4 latents, 1000 classes + the null class, learned sigma (8 output channels).
        const long p = 2, c = 4, cOut = 8, classes = 1000, frequencies = 256, tokens = 16 * 16;
        long patch = p * p * c * d + d;                                     // stride-p conv
        long time = frequencies * d + d + (long)d * d + d;                    // Linear(256, d), Linear(d, d)
        long label = (classes + 1) * d;                                       // embedding table with the null class
        long block = 6L * d * d + 6 * d                                       // adaLN-Zero modulation Linear(d, 6d)
            + 3L * d * d + 3 * d + (long)d * d + d                            // qkv and output projection
            + 4L * d * d + 4 * d + 4L * d * d + d;                            // MLP d -> 4d -> d
        long final = 2L * d * d + 2 * d + d * p * p * cOut + p * p * cOut;   // adaLN Linear(d, 2d) and the decoder
        long expected = patch + time + label + depth * block + final;

        torch.manual_seed(0);
        using var net = new Dit(DitOptions.Preset(size, patchSize: 2, imageChannels: 4, imageHeight: 32, imageWidth: 32, classCount: 1000, learnSigma: true));
        Console.WriteLine($"DiT-{size}/2: {net.ParameterCount:N0} trainable parameters (+ {tokens * d:N0} in the fixed position embedding)");
        Assert.AreEqual(expected, net.ParameterCount);
        // The reference counts the position embedding too (a parameter with requires_grad=False); the paper rounds.
        Assert.AreEqual(paperCount, expected + tokens * d, 0.01 * paperCount);
    }

    [TestMethod]
    public void ClassAndTime_ChangeTheOutput_OnceWeightsAreNonZero_AndNullClassEqualsMissingLabels()
    {
        using var net = new Dit(Tiny(classCount: 3));
        Randomize(net, 4);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var x = torch.randn(1, 2, 8, 12).expand(2, 2, 8, 12).contiguous();
        var t = torch.tensor(new[] { 7f, 7f });
        var y = net.Predict(x, t, torch.tensor(new long[] { 0, 1 }));
        Assert.IsTrue(y.isfinite().all().item<bool>());
        Assert.IsGreaterThan(1e-4f, (y[0] - y[1]).abs().max().item<float>(), "labels 0 and 1 must give different outputs");

        var times = net.Predict(x, torch.tensor(new[] { 7f, 500f }), torch.tensor(new long[] { 0, 0 }));
        Assert.IsGreaterThan(1e-4f, (times[0] - times[1]).abs().max().item<float>(), "timesteps 7 and 500 must give different outputs");

        var nullLabels = net.Predict(x, t, torch.tensor(new long[] { 3, 3 }));
        Assert.IsTrue(Same(nullLabels, net.Predict(x, t, null)), "missing labels mean the null class");
    }

    [TestMethod]
    public void BadInputs_ThrowArgumentExceptionsThatSayWhatIsWrong()
    {
        using var net = new Dit(Tiny());
        using var t = torch.tensor(new[] { 1f });
        using var wrongSize = torch.randn(1, 2, 8, 8);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => net.Predict(wrongSize, t));
        StringAssert.Contains(ex.Message, "[B, 2, 8, 12]");
        using var wrongChannels = torch.randn(1, 3, 8, 12);
        Assert.ThrowsExactly<ArgumentException>(() => net.Predict(wrongChannels, t));
        using var x = torch.randn(1, 2, 8, 12);
        using var labels = torch.tensor(new long[] { 0 });
        Assert.ThrowsExactly<ArgumentException>(() => net.Predict(x, t, labels), "labels on an unconditional network");
    }

    [TestMethod]
    public void CreateFromKindAndConfig_RebuildsTheSameArchitecture()
    {
        var options = Tiny(classCount: 5, learnSigma: true) with { MlpRatio = 2.5 };
        using var net = new Dit(options);
        using var rebuilt = DenoiserNetwork.Create("DiT", net.ConfigJson);
        Assert.IsInstanceOfType<Dit>(rebuilt);
        Assert.AreEqual(options, ((Dit)rebuilt).Options);
        Assert.AreEqual(net.ParameterCount, rebuilt.ParameterCount);
        CollectionAssert.AreEqual(net.named_parameters().Select(p => p.name).ToArray(), rebuilt.named_parameters().Select(p => p.name).ToArray());
        var ex = Assert.ThrowsExactly<ArgumentException>(() => DenoiserNetwork.Create("vit", net.ConfigJson));
        StringAssert.Contains(ex.Message, "'dit'");
    }

    /// <summary>Elementwise exact equality of two tensors of the same shape.</summary>
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && torch.equal(a, b).all().item<bool>();

    /// <summary>Patchify written out: token i * columns + j of image n is its p x p patch flattened (a, b, c), c fastest.</summary>
    private static Tensor HandPatchify(Tensor images, int p)
    {
        var (batch, channels, height, width) = ((int)images.shape[0], (int)images.shape[1], (int)images.shape[2], (int)images.shape[3]);
        int rows = height / p, columns = width / p, patchValues = p * p * channels;
        var src = images.contiguous().data<float>().ToArray();
        var dst = new float[batch * rows * columns * patchValues];
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                    for (int a = 0; a < p; a++)
                        for (int b = 0; b < p; b++)
                            for (int c = 0; c < channels; c++)
                                dst[((n * rows + i) * columns + j) * patchValues + (a * p + b) * channels + c] =
                                    src[((n * channels + c) * height + i * p + a) * width + j * p + b];
        return torch.tensor(dst, [batch, rows * columns, patchValues]);
    }
}
