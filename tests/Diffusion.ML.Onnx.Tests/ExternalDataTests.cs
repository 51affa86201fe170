using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.TorchSharp.Onnx;
using Microsoft.ML.OnnxRuntime;
using static Diffusion.ML.Onnx.Tests.OnnxTestModels;

namespace Diffusion.ML.Onnx.Tests;

/// <summary>Weights in an external data file (the format of models over 2 GiB): the same outputs, atomic replacement, clear errors.</summary>
[TestClass]
public sealed class ExternalDataTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-onnx-external").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void ExternalWeightsGiveTheSameOutputsAndOldDataFilesGo()
    {
        float[] x = Enumerable.Range(0, 2 * 64).Select(i => (float)Math.Sin(i)).ToArray();
        float[] t = [10, 700];
        long[] labels = [1, 3];
        string inline = Path.Combine(_dir, "inline.onnx"), external = Path.Combine(_dir, "external.onnx");
        using (var net = SmoothUNet(AttentionConditional, 5))
        {
            var model = DenoiserOnnxExporter.Export(net);
            model.Save(inline);
            string data = model.SaveWithExternalData(external);
            Assert.IsTrue(File.Exists(data));
            Assert.IsLessThan(new FileInfo(inline).Length / 10, new FileInfo(external).Length, "the weights left the .onnx file");
            Assert.IsGreaterThan(new FileInfo(inline).Length * 9 / 10, new FileInfo(data).Length);
        }
        float[] expected = Ort(inline, GraphOptimizationLevel.ORT_ENABLE_ALL, x, [2, 1, 8, 8], t, labels);
        CollectionAssert.AreEqual(expected, Ort(external, GraphOptimizationLevel.ORT_ENABLE_ALL, x, [2, 1, 8, 8], t, labels));

        using (var other = SmoothUNet(AttentionConditional, 6))
            DenoiserOnnxExporter.Export(other).SaveWithExternalData(external); // new weights: a new data file replaces the old
        Assert.HasCount(1, Directory.GetFiles(_dir, "external.onnx.*.data"));
        CollectionAssert.AreNotEqual(expected, Ort(external, GraphOptimizationLevel.ORT_ENABLE_ALL, x, [2, 1, 8, 8], t, labels));
    }

    [TestMethod]
    public void ATruncatedDataFileIsAClearError()
    {
        string path = Path.Combine(_dir, "model.onnx");
        string data;
        using (var net = SmoothUNet(AttentionConditional, 5))
            data = DenoiserOnnxExporter.Export(net).SaveWithExternalData(path);
        using (var stream = new FileStream(data, FileMode.Open)) stream.SetLength(stream.Length / 2);
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => OnnxRuntimeDenoiser.Load(path, intraOpThreads: 1));
        StringAssert.Contains(ex.Message, "could not be loaded");
    }
}
