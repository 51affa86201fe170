using Diffusion.ML.TorchSharp.Tests.Native;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Training;

[TestClass]
public sealed class ScalarSafeAdamWTests
{
    private const double Lr = 0.01, Beta1 = 0.8, Beta2 = 0.95, Eps = 1e-3, WeightDecay = 0.1;

    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    public void StepsFollowAdamWWithDecoupledWeightDecay()
    {
        // Loshchilov and Hutter 2019, Algorithm 2 as PyTorch implements it, computed here in doubles.
        double[] theta = [0.5, -1.25, 2.0], m = new double[3], v = new double[3];
        var parameter = new Parameter(tensor(theta.Select(x => (float)x).ToArray()));
        using var optimizer = new ScalarSafe.AdamW([parameter], Lr, Beta1, Beta2, Eps, WeightDecay);
        for (int t = 1; t <= 6; t++)
        {
            double[] g = [Math.Sin(t), 0.1 * t - 0.3, t % 2 == 0 ? 1e-4 : -2.0];
            parameter.grad = tensor(g.Select(x => (float)x).ToArray());
            optimizer.step();
            for (int i = 0; i < 3; i++)
            {
                theta[i] *= 1 - Lr * WeightDecay;
                m[i] = Beta1 * m[i] + (1 - Beta1) * g[i];
                v[i] = Beta2 * v[i] + (1 - Beta2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.Pow(Beta1, t)), vHat = v[i] / (1 - Math.Pow(Beta2, t));
                theta[i] -= Lr * mHat / (Math.Sqrt(vHat) + Eps);
            }
            var actual = parameter.data<float>().ToArray();
            for (int i = 0; i < 3; i++) Assert.AreEqual(theta[i], actual[i], 1e-5, $"step {t}, element {i}");
        }
        }

    [TestMethod]
    public void TakesTorchSharpsStepsAndReadsItsSavedState()
    {
        // The same trajectory as TorchSharp's AdamW, and its optimizer state (what old checkpoints hold) continues here.
        var reference = new Parameter(tensor(new[] { 0.3f, -0.7f }));
        var safe = new Parameter(tensor(new[] { 0.3f, -0.7f }));
        using var torchSharps = optim.AdamW([reference], Lr, Beta1, Beta2, Eps, WeightDecay);
        using var ours = new ScalarSafe.AdamW([safe], Lr, Beta1, Beta2, Eps, WeightDecay);
        for (int t = 1; t <= 3; t++)
        {
            reference.grad = tensor(new[] { (float)t, -0.5f });
            safe.grad = tensor(new[] { (float)t, -0.5f });
            torchSharps.step();
            ours.step();
            CollectionAssert.AreEqual(reference.data<float>().ToArray(), safe.data<float>().ToArray(), $"step {t}");
        }

        var resumed = new Parameter(reference.detach().clone());
        using var continued = new ScalarSafe.AdamW([resumed], Lr, Beta1, Beta2, Eps, WeightDecay);
        using (var stream = new MemoryStream())
        {
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) torchSharps.save_state_dict(writer);
            stream.Position = 0;
            using var reader = new BinaryReader(stream);
            continued.load_state_dict(reader);
        }
        reference.grad = tensor(new[] { -1f, 2f });
        resumed.grad = tensor(new[] { -1f, 2f });
        torchSharps.step();
        continued.step();
        CollectionAssert.AreEqual(reference.data<float>().ToArray(), resumed.data<float>().ToArray());
    }

    [TestMethod]
    public void GarbageCollectionsDuringStepsChangeNothing()
    {
        // TorchSharp's own AdamW fails this within a few steps ("Expected false to be true ... toFloat"): its
        // implicitly converted scalars are finalized by collections started on another thread during the native call.
        float[] quiet = Train(collecting: false);
        float[] collected = Train(collecting: true);
        CollectionAssert.AreEqual(quiet, collected);
    }

    private static float[] Train(bool collecting)
    {
        var parameters = Enumerable.Range(0, 200).Select(i => new Parameter(full(4, 0.01f * i))).ToArray();
        using var optimizer = new ScalarSafe.AdamW(parameters, Lr, Beta1, Beta2, Eps, WeightDecay);
        using (collecting ? new CollectingThread() : null)
        {
            for (int step = 0; step < 60; step++)
            {
                using var scope = NewDisposeScope();
                foreach (var p in parameters) p.grad = sin(p.detach());
                optimizer.step();
            }
        }
        return [.. parameters.SelectMany(p => p.data<float>().ToArray())];
    }
}
