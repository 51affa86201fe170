using Diffusion.ML.TorchSharp.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Evaluation;

[TestClass]
public sealed class FeatureClassifierTests
{
    [TestMethod]
    public void OutputsFeaturesAndLogitsOfTheConfiguredShapes()
    {
        using var network = TinyClassifiers.Create();
        network.eval();
        using var x = rand(5, 1, 8, 8) * 2 - 1;
        var (features, logits) = network.FeaturesAndLogits(x);
        using (features)
        using (logits)
        {
            CollectionAssert.AreEqual(new long[] { 5, 16 }, features.shape);
            CollectionAssert.AreEqual(new long[] { 5, 3 }, logits.shape);
            Assert.IsTrue(features.min().item<float>() >= 0, "features are ReLU outputs");
            using var direct = network.call(x);
            Assert.IsTrue(direct.allclose(logits), "forward returns the logits");
        }
        Assert.ThrowsExactly<ArgumentException>(() => network.Features(rand(5, 1, 9, 8)));
    }

    [TestMethod]
    public void DefaultsAreTheFashionMnistNetworkAndTheConfigRoundTrips()
    {
        var defaults = new FeatureClassifierOptions();
        Assert.AreEqual(28, defaults.ImageSize);
        Assert.AreEqual(128, defaults.FeatureDimension);
        Assert.AreEqual(10, defaults.ClassCount);
        var back = FeatureClassifierOptions.FromJson(TinyClassifiers.Options.ToJson());
        CollectionAssert.AreEqual(TinyClassifiers.Options.StageChannels, back.StageChannels);
        Assert.AreEqual(TinyClassifiers.Options.FeatureDimension, back.FeatureDimension);
        Assert.ThrowsExactly<ArgumentException>(() => new FeatureClassifierOptions { ImageSize = 10 }.Validate(), "10 is not a multiple of 4");
        Assert.ThrowsExactly<ArgumentException>(() => FeatureClassifierOptions.FromJson("{\"classCount\": 1}"));
    }

    [TestMethod]
    public void TrainerLearnsASeparableTaskWithAugmentation()
    {
        using var network = TinyClassifiers.Create();
        var options = new FeatureClassifierTrainerOptions { Epochs = 8, BatchSize = 16, LearningRate = 1e-2, WarmupSteps = 5, Seed = 1 };
        using var trainer = new FeatureClassifierTrainer(network, TinyClassifiers.Stripes(96, seed: 1), options);
        var before = FeatureClassifierTrainer.Evaluate(network, TinyClassifiers.Stripes(60, seed: 2));
        trainer.Train();
        Assert.AreEqual(48L, trainer.TotalSteps);
        var after = FeatureClassifierTrainer.Evaluate(network, TinyClassifiers.Stripes(60, seed: 2));
        Assert.AreEqual(60, after.Count);
        Assert.IsTrue(after.Accuracy >= 0.95, $"held-out accuracy {after.Accuracy:P1} (before training {before.Accuracy:P1}); chance is 33%");
    }

    [TestMethod]
    public void TrainingIsReproducibleFromTheSeed()
    {
        var data = TinyClassifiers.Stripes(48, seed: 4);
        var options = new FeatureClassifierTrainerOptions { Epochs = 1, BatchSize = 16, Seed = 9 };
        double[] Losses()
        {
            using var network = TinyClassifiers.Create(seed: 7);
            using var trainer = new FeatureClassifierTrainer(network, data, options);
            return [trainer.TrainStep(), trainer.TrainStep(), trainer.TrainStep()];
        }
        CollectionAssert.AreEqual(Losses(), Losses());
    }

    [TestMethod]
    public void LearningRateWarmsUpThenFollowsACosineToZero()
    {
        using var network = TinyClassifiers.Create();
        var options = new FeatureClassifierTrainerOptions { Epochs = 10, BatchSize = 16, LearningRate = 0.1, WarmupSteps = 10 };
        using var trainer = new FeatureClassifierTrainer(network, TinyClassifiers.Stripes(48, seed: 1), options);
        Assert.AreEqual(30L, trainer.TotalSteps);
        Assert.AreEqual(0.01, trainer.LearningRateAt(0), 1e-12);
        Assert.AreEqual(0.1, trainer.LearningRateAt(10), 1e-12);
        Assert.AreEqual(0.05, trainer.LearningRateAt(20), 1e-12); // halfway through the decay: cos(pi/2) = 0
        Assert.AreEqual(0.0, trainer.LearningRateAt(30), 1e-12);
    }

    [TestMethod]
    public void TrainerRejectsDataThatDoesNotFit()
    {
        using var network = TinyClassifiers.Create();
        var unlabeled = new Diffusion.ML.Data.ImageDataset(4, 1, 8, 8, new float[256]);
        var wrongSize = new Diffusion.ML.Data.ImageDataset(4, 1, 4, 4, new float[64], [0, 1, 2, 0], 3);
        Assert.ThrowsExactly<ArgumentException>(() => new FeatureClassifierTrainer(network, unlabeled));
        Assert.ThrowsExactly<ArgumentException>(() => new FeatureClassifierTrainer(network, wrongSize));
        Assert.ThrowsExactly<ArgumentException>(() => FeatureClassifierTrainer.Evaluate(network, wrongSize));
    }
}
