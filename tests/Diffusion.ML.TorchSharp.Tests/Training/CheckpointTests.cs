using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Training;

[TestClass]
public sealed class CheckpointTests
{
    private static readonly DdpmTrainerOptions Options = new() { BatchSize = 8, LearningRate = 1e-3, WarmupSteps = 3, Seed = 11, ClassDropout = 0.3, MinSnrGamma = 5 };

    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    public void InterruptedRunResumesToTheSameWeightsAsAStraightRun()
    {
        string dir = Directory.CreateTempSubdirectory("dml-resume").FullName;
        try
        {
            var data = TinyModels.Images();
            torch.manual_seed(5);
            using var straight = new DdpmTrainer(TinyModels.UNet(), data, Options);
            straight.Train(6);

            torch.manual_seed(5);
            string path = Path.Combine(dir, "run.ckpt");
            using (var first = new DdpmTrainer(TinyModels.UNet(), data, Options))
                first.Train(3, path);
            torch.manual_seed(999); // the global generator state must not matter after a resume
            using var resumed = DdpmTrainer.Resume(path, data);
            Assert.AreEqual(3L, resumed.Step);
            resumed.Train(6);

            AssertSameParameters(straight.Network, resumed.Network);
            AssertSameParameters(straight.Ema.Model, resumed.Ema.Model);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    public void CheckpointRoundTripRestoresWeightsConfigAndSchedule()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dml-{Guid.NewGuid():N}.ckpt");
        try
        {
            var options = Options with { PredictionType = PredictionType.VPrediction };
            using var trainer = new DdpmTrainer(TinyModels.UNet(), TinyModels.Images(), options);
            trainer.Train(2);
            trainer.SaveCheckpoint(path);
            var checkpoint = Checkpoint.Load(path);
            Assert.AreEqual(2L, checkpoint.Manifest.Step);
            Assert.AreEqual(PredictionType.VPrediction, checkpoint.Manifest.Trainer.PredictionType);
            Assert.AreEqual(options, checkpoint.Manifest.Trainer);
            using var ema = checkpoint.LoadNetwork(useEma: true);
            using var raw = checkpoint.LoadNetwork(useEma: false);
            AssertSameParameters(trainer.Ema.Model, ema);
            AssertSameParameters(trainer.Network, raw);
            CollectionAssert.AreEqual(trainer.Schedule.AlphaBar.ToArray(), checkpoint.CreateSchedule().AlphaBar.ToArray());
            Assert.IsFalse(Directory.GetFiles(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}*.tmp").Any(), "no temporary file is left");

            string slim = path + ".inference";
            try
            {
                checkpoint.SaveForInference(slim);
                var small = Checkpoint.Load(slim);
                Assert.IsFalse(small.CanResume);
                Assert.IsTrue(new FileInfo(slim).Length < new FileInfo(path).Length / 2);
                using var fromSmall = small.LoadNetwork();
                AssertSameParameters(trainer.Ema.Model, fromSmall);
                Assert.ThrowsExactly<InvalidOperationException>(() => small.LoadNetwork(useEma: false));
                var ex = Assert.ThrowsExactly<ArgumentException>(() => DdpmTrainer.Resume(slim, TinyModels.Images()));
                StringAssert.Contains(ex.Message, "sampling-only");
            }
            finally { File.Delete(slim); }
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    [DataRow(WeightPrecision.Float16, ScalarType.Float16)]
    [DataRow(WeightPrecision.BFloat16, ScalarType.BFloat16)]
    public void HalfPrecisionCopyLoadsTheRoundedWeightsInFloat32(WeightPrecision precision, ScalarType type)
    {
        string dir = Directory.CreateTempSubdirectory("dml-half").FullName;
        try
        {
            string full = Path.Combine(dir, "full.ckpt"), single = Path.Combine(dir, "float32.ckpt"), half = Path.Combine(dir, "half.ckpt");
            using (var trainer = new DdpmTrainer(TinyModels.UNet(), TinyModels.Images(), Options))
            {
                trainer.Train(2);
                trainer.SaveCheckpoint(full);
            }
            var checkpoint = Checkpoint.Load(full);
            checkpoint.SaveForInference(single);
            checkpoint.SaveForInference(half, precision);
            var loaded = Checkpoint.Load(half);
            Assert.AreEqual(precision, loaded.Manifest.WeightPrecision);
            Assert.AreEqual(2, loaded.Manifest.FormatVersion, "half weights need a reader that knows them");
            Assert.AreEqual(1, Checkpoint.Load(single).Manifest.FormatVersion, "float32 copies stay readable by earlier versions");
            long singleSize = new FileInfo(single).Length, halfSize = new FileInfo(half).Length;
            Assert.IsTrue(halfSize < 0.55 * singleSize, $"{halfSize} bytes against {singleSize}");

            using var reference = checkpoint.LoadNetwork();
            using var widened = loaded.LoadNetwork();
            var expected = reference.named_parameters().ToArray();
            var actual = widened.named_parameters().ToArray();
            Assert.AreEqual(expected.Length, actual.Length);
            int changed = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.AreEqual(expected[i].name, actual[i].name);
                Assert.AreEqual(ScalarType.Float32, actual[i].parameter.dtype);
                using var rounded = expected[i].parameter.to_type(type).to_type(ScalarType.Float32);
                Assert.IsTrue(rounded.eq(actual[i].parameter).all().item<bool>(), $"{expected[i].name} is not the float32 weight rounded to {type}");
                if (!expected[i].parameter.eq(actual[i].parameter).all().item<bool>()) changed++;
            }
            Assert.IsTrue(changed > expected.Length / 2, $"only {changed} of {expected.Length} tensors were rounded");

            // Widening back to float32 is exact: a float32 copy of the half copy holds the same weights.
            string again = Path.Combine(dir, "again.ckpt");
            loaded.SaveForInference(again);
            using (var roundTrip = Checkpoint.Load(again).LoadNetwork()) AssertSameParameters(widened, roundTrip);

            // Sampling from the rounded weights stays close to sampling from the float32 ones.
            var options = new GenerationOptions { Count = 6, BatchSize = 6, NumInferenceSteps = 4, ClassLabels = [0, 1, 2], GuidanceScale = 2, Seed = 3 };
            float[] Sample(DenoiserNetwork network) => new DiffusionPipeline(new TorchSharpDenoiser(network, checkpoint.Manifest.Trainer.PredictionType),
                checkpoint.CreateSchedule()).Generate(new DdimSampler(), options);
            float[] a = Sample(reference), b = Sample(widened);
            double worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
            double tolerance = precision == WeightPrecision.Float16 ? 0.01 : 0.05;
            Assert.IsTrue(worst is > 0 and < 1, $"largest difference {worst}");
            Assert.IsTrue(worst < tolerance, $"largest difference {worst} against {tolerance}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    public void CorruptOrForeignFilesAreRejectedWithTheReason()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dml-{Guid.NewGuid():N}.ckpt");
        try
        {
            using (var trainer = new DdpmTrainer(TinyModels.Mlp(), TinyModels.Points(), Options))
            {
                trainer.Train(1);
                trainer.SaveCheckpoint(path);
            }
            byte[] bytes = File.ReadAllBytes(path);

            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
            var ex = Assert.ThrowsExactly<InvalidDataException>(() => Checkpoint.Load(path));
            StringAssert.Contains(ex.Message, "not a valid Diffusion.ML checkpoint");

            // Flip one byte inside the stored (uncompressed) optimizer state: the SHA-256 check must catch it.
            var tampered = (byte[])bytes.Clone();
            int at = IndexOf(tampered, "optimizer.bin"u8.ToArray()) + 200;
            tampered[at] ^= 0xFF;
            File.WriteAllBytes(path, tampered);
            ex = Assert.ThrowsExactly<InvalidDataException>(() => Checkpoint.Load(path));
            StringAssert.Contains(ex.Message, "SHA-256");

            File.WriteAllText(path, "hello");
            Assert.ThrowsExactly<InvalidDataException>(() => Checkpoint.Load(path));
            Assert.ThrowsExactly<FileNotFoundException>(() => Checkpoint.Load(path + ".missing"));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void ResumingOnOtherDataIsRefused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dml-{Guid.NewGuid():N}.ckpt");
        try
        {
            using (var trainer = new DdpmTrainer(TinyModels.Mlp(), TinyModels.Points(seed: 2), Options))
                trainer.Train(1, path);
            var ex = Assert.ThrowsExactly<ArgumentException>(() => DdpmTrainer.Resume(path, TinyModels.Points(seed: 3)));
            StringAssert.Contains(ex.Message, "different data");
        }
        finally { File.Delete(path); }
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i + needle.Length;
        throw new AssertFailedException("entry name not found");
    }

    internal static void AssertSameParameters(DenoiserNetwork expected, DenoiserNetwork actual)
    {
        var a = expected.named_parameters().ToArray();
        var b = actual.named_parameters().ToArray();
        Assert.AreEqual(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.AreEqual(a[i].name, b[i].name);
            Assert.IsTrue(a[i].parameter.eq(b[i].parameter).all().item<bool>(), $"parameter {a[i].name} differs");
        }
    }
}
