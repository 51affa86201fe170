using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Onnx;
using Microsoft.ML.OnnxRuntime;
using static Diffusion.ML.Onnx.Tests.OnnxTestModels;

namespace Diffusion.ML.Onnx.Tests;

/// <summary>
/// Every exportable network, run in TorchSharp and in ONNX Runtime (graph optimisation off and on) at two input shapes,
/// opsets 17 and 21: |ort - torch| &lt;= 1e-4 + 1e-3 |torch| elementwise, all finite.
/// </summary>
[TestClass]
public sealed class OnnxParityTests
{
    private string _dir = "";

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-onnx-parity").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    [DataRow(17)]
    [DataRow(21)]
    public void MlpMatchesTorch(int opset)
    {
        using var unconditional = Randomize(new MlpDenoiser(new MlpDenoiserOptions { InputDim = 2, HiddenWidth = 32, HiddenLayers = 3 }), 1);
        CheckParity(unconditional, opset, [(5, [5, 2]), (1, [1, 2])], "mlp");
        using var conditional = Randomize(new MlpDenoiser(new MlpDenoiserOptions { InputDim = 3, HiddenWidth = 16, HiddenLayers = 2, ClassCount = 4 }), 2);
        CheckParity(conditional, opset, [(4, [4, 3]), (7, [7, 3])], "mlp-classes");
    }

    [TestMethod]
    [DataRow(17)]
    [DataRow(21)]
    public void UNetWithAttentionAndClassesMatchesTorch(int opset)
    {
        using var net = Randomize(new UNet(AttentionConditional), 3);
        CheckParity(net, opset, [(3, [3, 1, 8, 8]), (1, [1, 1, 16, 16])], "unet-attention");
    }

    [TestMethod]
    [DataRow(17)]
    [DataRow(21)]
    public void UNetWithoutAttentionUnconditionalMatchesTorch(int opset)
    {
        using var net = Randomize(new UNet(PlainUnconditional), 4);
        CheckParity(net, opset, [(2, [2, 2, 8, 8]), (3, [3, 2, 16, 12])], "unet-plain");
    }

    [TestMethod]
    [DataRow(17)]
    [DataRow(21)]
    public void DitWithClassesAndLearnedSigmaMatchesTorch(int opset)
    {
        using var net = Randomize(new Dit(DitConditional), 5);
        CheckParity(net, opset, [(3, [3, 2, 8, 12]), (1, [1, 2, 8, 12])], "dit-classes");
        var operators = DenoiserOnnxExporter.Export(net, new DenoiserOnnxExportOptions { Opset = opset }).OperatorCounts;
        Assert.AreEqual(2 * 2 + 1, operators.GetValueOrDefault("LayerNormalization"), "two per block and the final layer's");
        Assert.AreEqual(opset >= OnnxGraphBuilder.NativeGeluOpset, operators.ContainsKey("Gelu"), "native Gelu from opset 20, Tanh below");
    }

    [TestMethod]
    [DataRow(17)]
    [DataRow(21)]
    public void DitUnconditionalMatchesTorch(int opset)
    {
        using var net = Randomize(new Dit(DitUnconditional), 6);
        CheckParity(net, opset, [(2, [2, 1, 8, 8]), (5, [5, 1, 8, 8])], "dit-plain");
    }

    private void CheckParity(DenoiserNetwork network, int opset, (int Batch, long[] Shape)[] cases, string name)
    {
        string path = Path.Combine(_dir, $"{name}-{opset}.onnx");
        var model = DenoiserOnnxExporter.Export(network, new DenoiserOnnxExportOptions { Opset = opset });
        model.Save(path);
        Assert.AreEqual(opset, model.Opset);
        foreach (var (batch, shape) in cases)
        {
            int count = (int)shape.Aggregate(1L, (a, b) => a * b);
            float[] x = Uniform(count, batch * 7 + opset, 2f);
            float[] t = Uniform(batch, batch + 100, 1f).Select(u => (u + 1) * 499.75f).ToArray();
            t[0] = 0f;
            long[]? labels = network.ClassCount > 0 ? Enumerable.Range(0, batch).Select(i => (long)(i % (network.ClassCount + 1))).ToArray() : null;
            float[] reference = Torch(network, x, shape, t, labels);
            double scale = reference.Max(v => Math.Abs(v));
            Assert.IsGreaterThan(1e-2, scale, "the randomised network should produce non-trivial outputs");
            foreach (var level in new[] { GraphOptimizationLevel.ORT_DISABLE_ALL, GraphOptimizationLevel.ORT_ENABLE_ALL })
            {
                var (maxAbs, within, finite) = Compare(reference, Ort(path, level, x, shape, t, labels));
                TestContext.WriteLine($"{name} opset {opset} [{string.Join("x", shape)}] {level}: max |ort - torch| = {maxAbs:E2} (max |torch| = {scale:F3})");
                Assert.IsTrue(finite, "no NaN or Inf");
                Assert.IsTrue(within, $"{name} opset {opset} [{string.Join("x", shape)}] {level}: max abs error {maxAbs:E2} exceeds 1e-4 + 1e-3 |torch|");
            }
        }
    }
}
