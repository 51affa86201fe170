using Diffusion.ML.Randomness;
using Diffusion.ML.Schedules;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>AddNoise in ML.NET: equal to the C# reference per row, independent of row order, saved and loaded; denoiser schema errors.</summary>
[TestClass]
public sealed class NoiseSchedulerTests
{
    [TestMethod]
    public void AddNoiseEqualsTheReferenceAndSurvivesSaveAndLoad()
    {
        var ml = new MLContext();
        var rows = TestData.Rows(10);
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Diffusion().AddNoise("Pixels", new NoiseSchedulerOptions { Seed = 9, MaxTimestep = 499 }).Fit(data);
        var output = model.Transform(data);
        var noisy = TestData.Column(output, "Noisy");
        var timesteps = output.GetColumn<long[]>("Timestep").Select(t => t.Single()).ToArray();

        // Reference: the documented per-row draw keyed by the row's content.
        var reference = new SeededForwardNoising(new NoiseSchedule(new NoiseScheduleOptions()), 9, 0, 499);
        var expected = new float[10 * 64];
        var expectedT = new long[10];
        reference.ApplyBatch(rows.SelectMany(r => r.Pixels).ToArray(), 64, [], expected, expectedT, new float[10 * 64]);
        CollectionAssert.AreEqual(expectedT, timesteps);
        VaeEstimatorTests.AssertClose(expected, noisy.SelectMany(v => v).ToArray(), 1e-3, "x_t (pixel units, |x| <= 255)");
        Assert.IsTrue(timesteps.All(t => t is >= 0 and <= 499));

        // Row order does not matter (content keys), and the saved model reproduces the draw.
        var reversed = ml.Data.LoadFromEnumerable(Enumerable.Reverse(rows).ToList());
        var reversedNoisy = TestData.Column(model.Transform(reversed), "Noisy").Reverse().ToArray();
        for (int i = 0; i < 10; i++) CollectionAssert.AreEqual(noisy[i], reversedNoisy[i]);
        string zip = Path.Combine(Path.GetTempPath(), $"dml-addnoise-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, zip);
            var loaded = new MLContext().Model.Load(zip, out _);
            var again = TestData.Column(loaded.Transform(data), "Noisy");
            for (int i = 0; i < 10; i++) CollectionAssert.AreEqual(noisy[i], again[i]);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [TestMethod]
    public void TheDenoiserTrainerNamesAMissingOrWrongLabelColumn()
    {
        var ml = new MLContext();
        var data = TestData.Images(ml, 8);
        var options = new DenoiserTrainerEstimator.Options { Steps = 1, PixelRange = PixelRange.Bytes };
        var missing = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainDenoiser("Pixels", "Class", options).Fit(data));
        StringAssert.Contains(missing.Message, "label column 'Class' is missing");
        var wrong = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainDenoiser("Pixels", "Pixels", options).Fit(data));
        StringAssert.Contains(wrong.Message, "must be a key type");
    }
}
