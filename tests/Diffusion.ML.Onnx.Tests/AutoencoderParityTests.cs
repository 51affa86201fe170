using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using static Diffusion.ML.Onnx.Tests.OnnxTestModels;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Diffusion.ML.Onnx.Tests;

/// <summary>
/// The autoencoder exports (VAE encoder and decoder; VQ-VAE encoder, quantizer and decoder; classic encoder and decoder) run in TorchSharp and in ONNX
/// Runtime, graph optimisation off and on, opsets 17 and 21, at two batch sizes: floats within 1e-4 + 1e-3 |torch|,
/// code indices identical.
/// </summary>
[TestClass]
public sealed class AutoencoderParityTests
{
    private static readonly ConvBackboneOptions Backbone = new()
    {
        ImageChannels = 2, ImageHeight = 8, ImageWidth = 8, LevelChannels = [8, 16], BlocksPerLevel = 1, GroupNormGroups = 4,
    };

    private string _dir = "";

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-onnx-autoencoder").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    [DataRow(17, ReconstructionLikelihood.Gaussian)]
    [DataRow(21, ReconstructionLikelihood.Bernoulli)]
    public void VaeEncoderAndDecoderMatchTorch(int opset, ReconstructionLikelihood likelihood)
    {
        torch.manual_seed(opset);
        using var vae = Perturb(new VariationalAutoencoder(new VaeOptions { Backbone = Backbone, LatentChannels = 3, Likelihood = likelihood }));
        vae.LatentScale = 0.75;
        string encoder = Save(AutoencoderOnnxExporter.ExportVaeEncoder(vae, opset), "vae-encoder");
        string decoder = Save(AutoencoderOnnxExporter.ExportVaeDecoder(vae, opset), "vae-decoder");
        var metadata = OnnxModel.Load(encoder).Metadata;
        Assert.AreEqual("vae-encoder", metadata[DiffusionModelMetadata.ModelKindKey]);
        Assert.AreEqual("0.75", metadata[AutoencoderOnnxExporter.LatentScaleKey]);
        Assert.AreEqual("[3,4,4]", metadata[AutoencoderOnnxExporter.LatentShapeKey]);
        foreach (int batch in new[] { 1, 3 })
        {
            float[] x = Uniform(batch * 128, batch + opset, 1f);
            float[] z = Uniform(batch * 48, batch * 5 + opset, 2f);
            Tensor mean, logVariance, decoded;
            using var scope = NewDisposeScope();
            using (no_grad())
            {
                (mean, logVariance) = vae.EncodeDistribution(tensor(x, [batch, 2, 8, 8]));
                decoded = vae.Decode(tensor(z, [batch, 3, 4, 4]));
            }
            foreach (var level in Levels)
            {
                var outputs = Run(encoder, level, ("images", x, [batch, 2, 8, 8]));
                AssertClose(mean, outputs["mean"], $"vae mean opset {opset} batch {batch} {level}");
                AssertClose(logVariance, outputs["logvar"], $"vae logvar opset {opset} batch {batch} {level}");
                AssertClose(decoded, Run(decoder, level, ("latents", z, [batch, 3, 4, 4]))["images"], $"vae decoder opset {opset} batch {batch} {level}");
            }
        }
    }

    [TestMethod]
    [DataRow(17)]
    [DataRow(21)]
    public void VqVaeEncoderQuantizerAndDecoderMatchTorch(int opset)
    {
        torch.manual_seed(opset + 1);
        using var vq = Perturb(new VqVae(new VqVaeOptions { Backbone = Backbone, CodebookSize = 10, CodeDimension = 4 }));
        string encoder = Save(AutoencoderOnnxExporter.ExportVqVaeEncoder(vq, opset), "vq-encoder");
        string quantizer = Save(AutoencoderOnnxExporter.ExportVqVaeQuantizer(vq, opset), "vq-quantizer");
        string decoder = Save(AutoencoderOnnxExporter.ExportVqVaeDecoder(vq, opset), "vq-decoder");
        foreach (int batch in new[] { 1, 4 })
        {
            float[] x = Uniform(batch * 128, batch * 3 + opset, 1f);
            using var scope = NewDisposeScope();
            Tensor ze, indices, quantized, decoded;
            using (no_grad())
            {
                ze = vq.EncodeContinuous(tensor(x, [batch, 2, 8, 8]));
                indices = vq.Quantizer.Indices(ze);
                quantized = vq.Quantizer.Lookup(indices);
                decoded = vq.Decode(quantized);
            }
            float[] zeValues = ze.data<float>().ToArray();
            var codes = indices.data<long>().ToArray();
            Assert.IsGreaterThan(2, codes.Distinct().Count(), "the test should exercise several codes");
            foreach (var level in Levels)
            {
                string what = $"opset {opset} batch {batch} {level}";
                AssertClose(ze, Run(encoder, level, ("images", x, [batch, 2, 8, 8]))["latents"], $"vq encoder {what}");
                var q = Run(quantizer, level, ("latents", zeValues, [batch, 4, 4, 4]));
                CollectionAssert.AreEqual(codes, (long[])q["indices"], $"vq indices {what}");
                AssertClose(quantized, q["quantized"], $"vq quantized {what}");
                AssertClose(decoded, Run(decoder, level, ("latents", quantized.data<float>().ToArray(), [batch, 4, 4, 4]))["images"], $"vq decoder {what}");
            }
        }
    }

    [TestMethod]
    [DataRow(17, ClassicAutoencoderKind.Contractive)]
    [DataRow(21, ClassicAutoencoderKind.KSparse)]
    public void ClassicEncoderAndDecoderMatchTorch(int opset, ClassicAutoencoderKind kind)
    {
        torch.manual_seed(opset + 2);
        using var ae = Perturb(new ClassicAutoencoder(new ClassicAutoencoderOptions { Kind = kind, ImageChannels = 2, ImageHeight = 8, ImageWidth = 8, HiddenUnits = 20, K = 5 }));
        string encoder = Save(AutoencoderOnnxExporter.ExportClassicEncoder(ae, opset), "classic-encoder");
        string decoder = Save(AutoencoderOnnxExporter.ExportClassicDecoder(ae, opset), "classic-decoder");
        foreach (int batch in new[] { 1, 5 })
        {
            float[] x = Uniform(batch * 128, batch * 11 + opset, 1f);
            using var scope = NewDisposeScope();
            Tensor h, decoded;
            using (no_grad())
            {
                h = ae.Encode(tensor(x, [batch, 2, 8, 8]));
                decoded = ae.Decode(h);
            }
            foreach (var level in Levels)
            {
                string what = $"{kind} opset {opset} batch {batch} {level}";
                var latents = (float[])Run(encoder, level, ("images", x, [batch, 2, 8, 8]))["latents"];
                AssertClose(h, latents, $"classic encoder {what}");
                if (kind == ClassicAutoencoderKind.KSparse)
                    CollectionAssert.AreEqual(h.ne(0).data<bool>().ToArray(), latents.Select(v => v != 0).ToArray(), $"the same k units kept, {what}");
                AssertClose(decoded, Run(decoder, level, ("latents", h.data<float>().ToArray(), [batch, 20]))["images"], $"classic decoder {what}");
            }
        }
    }

    [TestMethod]
    public void OnnxLatentDecoderDividesByTheLatentScaleAndMatchesTorch()
    {
        torch.manual_seed(3);
        using var vae = Perturb(new VariationalAutoencoder(new VaeOptions { Backbone = Backbone, LatentChannels = 3 }));
        vae.LatentScale = 0.75;
        string path = Save(AutoencoderOnnxExporter.ExportVaeDecoder(vae), "vae-decoder");
        using var decoder = OnnxLatentDecoder.Open(path, intraOpThreads: 1);
        CollectionAssert.AreEqual(new[] { 3, 4, 4 }, decoder.LatentShape.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 8, 8 }, decoder.ImageShape.ToArray());
        Assert.AreEqual(0.75, decoder.LatentScale);

        float[] scaled = Uniform(5 * 48, 17, 1.5f);
        Tensor expected;
        using var scope = NewDisposeScope();
        using (no_grad())
            expected = vae.Decode(tensor(scaled, [5, 3, 4, 4]).div(0.75)); // diffusion samples are z * scale (Rombach et al. 2022)
        AssertClose(expected, decoder.Decode(scaled, batchSize: 2), "decoder on 5 scaled latents, batches of 2");

        scaled[7] = float.NaN;
        Assert.ThrowsExactly<ArgumentException>(() => decoder.Decode(scaled));
        Assert.ThrowsExactly<ArgumentException>(() => decoder.Decode(scaled.AsSpan(0, 47)));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => OnnxLatentDecoder.Open(Save(AutoencoderOnnxExporter.ExportVaeEncoder(vae), "vae-encoder")));
        StringAssert.Contains(e.Message, "not an autoencoder decoder");
    }

    private static readonly GraphOptimizationLevel[] Levels = [GraphOptimizationLevel.ORT_DISABLE_ALL, GraphOptimizationLevel.ORT_ENABLE_ALL];

    private string Save(OnnxModel model, string name)
    {
        string path = Path.Combine(_dir, $"{name}-{Guid.NewGuid():N}.onnx");
        model.Save(path);
        return path;
    }

    /// <summary>Moves every parameter away from its initialisation (GroupNorm scales included) so every weight matters.</summary>
    private static T Perturb<T>(T model) where T : nn.Module
    {
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            using var noise = randn_like(p);
            p.add_(noise.mul_(name.EndsWith("weight") && p.dim() == 1 ? 0.3 : 0.05));
        }
        model.eval();
        return model;
    }

    private static Dictionary<string, Array> Run(string path, GraphOptimizationLevel level, (string Name, float[] Values, int[] Shape) input)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<float>(input.Values, input.Shape))]);
        return results.ToDictionary(r => r.Name, r => r.ElementType == TensorElementType.Int64
            ? (Array)r.AsTensor<long>().ToArray()
            : r.AsTensor<float>().ToArray());
    }

    private void AssertClose(Tensor reference, Array actual, string what)
    {
        float[] expected = reference.contiguous().data<float>().ToArray();
        var (maxAbs, within, finite) = Compare(expected, (float[])actual);
        TestContext.WriteLine($"{what}: max |ort - torch| = {maxAbs:E2} (max |torch| = {expected.Max(Math.Abs):F3})");
        Assert.IsTrue(finite, $"{what}: no NaN or Inf");
        Assert.IsTrue(within, $"{what}: max abs error {maxAbs:E2} exceeds 1e-4 + 1e-3 |torch|");
    }
}
