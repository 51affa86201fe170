using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.OnnxRuntime.Tests;

[TestClass]
public sealed class OnnxRuntimeDenoiserTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-onnx").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [TestMethod]
    public void SamplingOnOnnxRuntimeEqualsTheSameFunctionInCSharp()
    {
        string path = Write("identity.onnx", TinyOnnx.IdentityModel(2, "t"));
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        using var onnx = new OnnxRuntimeDenoiser(path, new OnnxDenoiserOptions { SampleShape = [2] });
        var reference = new DelegateDenoiser([2], PredictionType.Epsilon, (x, t, labels, output) => x.CopyTo(output));
        var options = new GenerationOptions { Count = 7, BatchSize = 3, NumInferenceSteps = 10, Seed = 5 };
        float[] a = new DiffusionPipeline(onnx, schedule).Generate(new DdimSampler(eta: 1), options);
        float[] b = new DiffusionPipeline(reference, schedule).Generate(new DdimSampler(eta: 1), options);
        CollectionAssert.AreEqual(b, a);
    }

    [TestMethod]
    public void MismatchedOrBrokenModelsSayWhatIsWrong()
    {
        string noTimestep = Write("no-t.onnx", TinyOnnx.IdentityModel(2));
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => new OnnxRuntimeDenoiser(noTimestep, new OnnxDenoiserOptions { SampleShape = [2] }));
        StringAssert.Contains(ex.Message, "has no input 't'");

        string ok = Write("identity.onnx", TinyOnnx.IdentityModel(2, "t"));
        ex = Assert.ThrowsExactly<InvalidDataException>(() => new OnnxRuntimeDenoiser(ok, new OnnxDenoiserOptions { SampleShape = [2], ClassCount = 3 }));
        StringAssert.Contains(ex.Message, "class_labels");

        string corrupt = Write("corrupt.onnx", [1, 2, 3, 4, 5]);
        ex = Assert.ThrowsExactly<InvalidDataException>(() => new OnnxRuntimeDenoiser(corrupt, new OnnxDenoiserOptions { SampleShape = [2] }));
        StringAssert.Contains(ex.Message, "could not be loaded");
        Assert.ThrowsExactly<FileNotFoundException>(() => new OnnxRuntimeDenoiser(Path.Combine(_dir, "missing.onnx"), new OnnxDenoiserOptions { SampleShape = [2] }));
    }
}
