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

    /// <summary>eps = x + x: the closed form 2x checks every call, whatever buffers it ran in.</summary>
    private string DoublingModel() => Write("double.onnx", TinyOnnx.Model([("Add", ["x", "x"], ["eps"])], [("x", [3]), ("t", [])], [("eps", [3])]));

    private static float[] Ramp(int length, float start) => Enumerable.Range(0, length).Select(i => start + 0.25f * i).ToArray();

    [TestMethod]
    public void ReusedBuffersFollowChangesOfTheBatchSize()
    {
        using var onnx = new OnnxRuntimeDenoiser(DoublingModel(), new OnnxDenoiserOptions { SampleShape = [3] });
        foreach (int batch in new[] { 3, 5, 3, 1, 3 })
        {
            float[] x = Ramp(3 * batch, batch), output = new float[x.Length];
            onnx.Predict(x, new float[batch], [], output);
            CollectionAssert.AreEqual(x.Select(v => 2 * v).ToArray(), output, $"batch {batch}");
        }
    }

    [TestMethod]
    public void BatchesAreEvaluatedInRunsOfAtMostMaxEvaluationBatch()
    {
        using (var onCpu = new OnnxRuntimeDenoiser(DoublingModel(), new OnnxDenoiserOptions { SampleShape = [3] }))
            Assert.AreEqual(OnnxDenoiserOptions.CpuEvaluationBatch, onCpu.MaxEvaluationBatch);
        using var onnx = new OnnxRuntimeDenoiser(DoublingModel(), new OnnxDenoiserOptions { SampleShape = [3], MaxEvaluationBatch = 3 });
        foreach (int batch in new[] { 7, 3, 2, 7 }) // runs of 3, 3 and 1; one of 3; one of 2
        {
            float[] x = Ramp(3 * batch, batch), output = new float[x.Length];
            onnx.Predict(x, new float[batch], [], output);
            CollectionAssert.AreEqual(x.Select(v => 2 * v).ToArray(), output, $"batch {batch}");
        }
        Assert.ThrowsExactly<ArgumentException>(() => new OnnxRuntimeDenoiser(DoublingModel(), new OnnxDenoiserOptions { SampleShape = [3], MaxEvaluationBatch = 0 }));
        var e = Assert.ThrowsExactly<ArgumentException>(() => onnx.Predict(new float[8], new float[3], [], new float[9]));
        StringAssert.Contains(e.Message, "need 9");
    }

    [TestMethod]
    public void ConcurrentCallsDoNotShareBuffers()
    {
        using var onnx = new OnnxRuntimeDenoiser(DoublingModel(), new OnnxDenoiserOptions { SampleShape = [3], IntraOpThreads = 1 });
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, thread =>
        {
            for (int call = 0; call < 50; call++)
            {
                float[] x = Ramp(6, 100 * thread + call), output = new float[6];
                onnx.Predict(x, new float[2], [], output);
                if (!x.Select(v => 2 * v).SequenceEqual(output)) failures.Add($"thread {thread}, call {call}");
            }
        });
        Assert.IsEmpty(failures, string.Join("; ", failures.Take(5)));
    }

    [TestMethod]
    public void AnOutputOfAnotherShapeThanTheInputIsAClearError()
    {
        string path = Write("wrong-output.onnx", TinyOnnx.Model([("Identity", ["t"], ["eps"])], [("x", [3]), ("t", [])], [("eps", [])]));
        using var onnx = new OnnxRuntimeDenoiser(path, new OnnxDenoiserOptions { SampleShape = [3] });
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => onnx.Predict(new float[6], new float[2], [], new float[6]));
        StringAssert.Contains(ex.Message, "same shape");
    }

    [TestMethod]
    public void TheCudaProviderInTheCpuBuildIsAClearError()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new OnnxRuntimeDenoiser(DoublingModel(),
            new OnnxDenoiserOptions { SampleShape = [3], ExecutionProvider = OnnxExecutionProvider.Cuda }));
        StringAssert.Contains(ex.Message, "-p:OnnxRuntimeBackend=cuda");
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
