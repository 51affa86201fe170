using Diffusion.ML.Evaluation;

namespace Diffusion.ML.Core.Tests.Evaluation;

[TestClass]
public sealed class SampleQualityTests
{
    /// <summary>A linear "network": features = W x, logits = the first 3 features; independent of batching by construction.</summary>
    private sealed class LinearExtractor(int inputLength, int featureDimension) : IFeatureExtractor
    {
        private readonly float[] _weights = Enumerable.Range(0, inputLength * featureDimension).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        public int Calls { get; private set; }
        public string Name => "linear";
        public IReadOnlyList<int> InputShape => [1, 1, inputLength];
        public int FeatureDimension => featureDimension;
        public int ClassCount => 3;

        public void Extract(ReadOnlySpan<float> images, Span<float> features, Span<float> logits)
        {
            Calls++;
            int n = images.Length / inputLength;
            for (int b = 0; b < n; b++)
            for (int f = 0; f < featureDimension; f++)
            {
                float sum = 0;
                for (int i = 0; i < inputLength; i++)
                    sum += _weights[f * inputLength + i] * images[b * inputLength + i];
                features[b * featureDimension + f] = sum;
                if (f < 3) logits[b * 3 + f] = sum;
            }
        }
    }

    [TestMethod]
    public void FeaturesDoNotDependOnTheBatchSize()
    {
        var random = new Random(3);
        var images = Enumerable.Range(0, 37 * 6).Select(_ => (float)(2 * random.NextDouble() - 1)).ToArray();
        var extractor = new LinearExtractor(6, 4);
        var whole = ExtractedFeatures.Compute(extractor, images, batchSize: 64);
        var pieces = ExtractedFeatures.Compute(extractor, images, batchSize: 5);
        Assert.AreEqual(1 + 8, extractor.Calls);
        Assert.AreEqual(37, pieces.Count);
        for (int i = 0; i < 37; i++)
            CollectionAssert.AreEqual(whole.Features[i], pieces.Features[i]);
        CollectionAssert.AreEqual(whole.Logits, pieces.Logits);
        CollectionAssert.AreEqual(whole.Statistics.Mean, pieces.Statistics.Mean);
    }

    [TestMethod]
    public void ASetAgainstItselfScoresPerfectly()
    {
        var random = new Random(4);
        var images = Enumerable.Range(0, 300 * 6).Select(_ => (float)(2 * random.NextDouble() - 1)).ToArray();
        var features = ExtractedFeatures.Compute(new LinearExtractor(6, 4), images);
        int[] predicted = features.PredictedClasses();
        var result = SampleQuality.Evaluate(features, features, predicted, new SampleQualityOptions { KidSubsets = 5, KidSubsetSize = 100 });
        Assert.AreEqual(0, result.Fid, 1e-9);
        Assert.AreEqual(1.0, result.Precision);
        Assert.AreEqual(1.0, result.Recall);
        Assert.AreEqual(1.0, result.ClassAgreement);
        Assert.AreEqual(300, result.PredictedClassCounts!.Sum());
        for (int c = 0; c < 3; c++)
            Assert.AreEqual(predicted.Count(p => p == c), result.PredictedClassCounts![c]);
        Assert.IsTrue(result.InceptionScoreMean is >= 1 and <= 3, $"IS {result.InceptionScoreMean} must lie in [1, C]");
    }

    [TestMethod]
    public void MismatchedInputsAreRefused()
    {
        var images = Enumerable.Range(0, 20 * 6).Select(i => MathF.Cos(i)).ToArray();
        var features = ExtractedFeatures.Compute(new LinearExtractor(6, 4), images);
        Assert.ThrowsExactly<ArgumentException>(() => ExtractedFeatures.Compute(new LinearExtractor(6, 4), images.AsSpan(0, 13)));
        Assert.ThrowsExactly<ArgumentException>(() => ExtractedFeatures.Compute(new LinearExtractor(6, 4), []));
        Assert.ThrowsExactly<ArgumentException>(() => SampleQuality.Evaluate(features, features, new int[3]));
    }
}
