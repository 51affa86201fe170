using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>Measures an autoencoder on held-out images: reconstruction MSE, the ELBO (VAE), codebook usage and perplexity (VQ-VAE).</summary>
public static class AutoencoderEvaluator
{
    private const long EvaluationStreamTag = 0x0E7A1;

    /// <summary>Evaluates <paramref name="model"/> on every image of <paramref name="data"/> (in eval mode, restored afterwards).</summary>
    /// <param name="model">The autoencoder.</param>
    /// <param name="data">Test images of the model's image shape.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="seed">Seed of the VAE's posterior samples.</param>
    /// <param name="device">Device of the model (default CPU).</param>
    public static AutoencoderEvaluation Evaluate(ImageAutoencoder model, ImageDataset data, int batchSize = 256, long seed = 0, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        LatentCodec.CheckDataset(data, model.ImageShape, nameof(data));
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            double squaredError = 0;
            var terms = new Dictionary<string, double>();
            var counts = model is VqVae vq ? new double[vq.Options.CodebookSize] : null;
            for (int start = 0, batch = 0; start < data.Count; start += batchSize, batch++)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, data.Count - start);
                var x = tensor(data.Pixels.AsSpan(start * data.ImageLength, n * data.ImageLength).ToArray(), [n, .. model.ImageShape], device: device ?? CPU);
                squaredError += (model.call(x) - x).square().sum().item<float>();
                var loss = model.Loss(x, new SampleNoise(seed ^ EvaluationStreamTag, batch));
                foreach (var (name, value) in loss.Terms) terms[name] = terms.GetValueOrDefault(name) + value.item<float>() * (double)n;
                if (counts is not null)
                {
                    var batchCounts = ((VqVae)model).CodeCounts(x).cpu().data<float>().ToArray();
                    for (int i = 0; i < counts.Length; i++) counts[i] += batchCounts[i];
                }
            }
            foreach (var name in terms.Keys.ToArray()) terms[name] /= data.Count;
            double? negElbo = model is VariationalAutoencoder ? terms["neg_elbo"] : null;
            return new AutoencoderEvaluation
            {
                Count = data.Count,
                Mse = squaredError / ((double)data.Count * data.ImageLength),
                Terms = terms,
                NegativeElbo = negElbo,
                NatsPerDim = negElbo / data.ImageLength,
                BitsPerDim = negElbo / data.ImageLength / Math.Log(2),
                CodebookUsage = counts is null ? null : CodebookStatistics.Usage(counts),
                Perplexity = counts is null ? null : CodebookStatistics.Perplexity(counts),
            };
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
