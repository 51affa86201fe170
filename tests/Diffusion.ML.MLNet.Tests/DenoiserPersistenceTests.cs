using Diffusion.ML.TorchSharp.Modules;
using Microsoft.ML;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>The denoiser transformer in a chain with ML.NET's own transforms, saved and loaded in a fresh context.</summary>
[TestClass]
public sealed class DenoiserPersistenceTests
{
    [TestMethod]
    public void AChainWithMLNetTransformsAddNoiseAndTheDenoiserSavesAndLoadsWithIdenticalPredictions()
    {
        var ml = new MLContext();
        var images = TestData.Images(ml, 24);
        string folder = Directory.CreateTempSubdirectory("dml-mlnet-denoiser").FullName;
        try
        {
            // Labels become keys and pixels are rescaled to [0, 1] by ML.NET's own transforms.
            var chain = ml.Transforms.Conversion.MapValueToKey("Class", "Label")
                .Append(ml.Transforms.NormalizeMinMax("Unit", "Pixels", fixZero: false))
                .Append(ml.Diffusion().AddNoise("Unit", new NoiseSchedulerOptions { Seed = 4 }))
                .Append(ml.Diffusion().TrainDenoiser("Unit", "Class", new DenoiserTrainerEstimator.Options
                {
                    Steps = 2, BatchSize = 8, WarmupSteps = 1, PixelRange = PixelRange.Unit, Architecture = DenoiserArchitecture.Dit,
                    Dit = new DitOptions { PatchSize = 4, HiddenSize = 16, Depth = 1, Heads = 2, FrequencyEmbeddingSize = 16 },
                }));
            var model = chain.Fit(images);
            Assert.AreEqual(3, model.LastTransformer.ClassCount);
            float[][] predictions = TestData.Column(model.Transform(images), "Prediction");

            string zip = Path.Combine(folder, "denoiser.zip");
            ml.Model.Save(model, images.Schema, zip);
            var loaded = new MLContext().Model.Load(zip, out var schema);
            CollectionAssert.AreEqual(images.Schema.Select(c => c.Name).ToArray(), schema.Select(c => c.Name).ToArray());
            float[][] again = TestData.Column(loaded.Transform(images), "Prediction");
            Assert.AreEqual(24, again.Length);
            for (int i = 0; i < 24; i++) CollectionAssert.AreEqual(predictions[i], again[i], $"row {i}");
            Assert.IsTrue(predictions.SelectMany(p => p).Any(v => v != 0), "the predictions are not all zero");

            // Without the noisy columns (a chain with no AddNoise before the trainer) the error says what to add.
            var missing = Assert.Throws<ArgumentException>(() => model.LastTransformer.Transform(images));
            StringAssert.Contains(missing.Message, "Put AddNoise before TrainDenoiser");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
