using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Sampling;

/// <summary>
/// Classifier guidance (Dhariwal and Nichol 2021, sec. 4, Alg. 2): wraps any <see cref="IDenoiser"/> and shifts its noise
/// prediction by the gradient of a classifier of noisy images, eps' = eps - s sqrt(1 - abar_t) grad_x log p(y | x_t, t),
/// so every sampler of the core steers towards class y. The gradient comes from TorchSharp's autograd, so the classifier
/// is a TorchSharp function; the wrapped denoiser can be any backend. Rows with the null class (label = ClassCount, e.g.
/// the unconditional half of classifier-free guidance) are not guided.
/// </summary>
public sealed class ClassifierGuidedDenoiser : IDenoiser
{
    private readonly IDenoiser _denoiser;
    private readonly NoiseSchedule _schedule;
    private readonly Func<Tensor, Tensor, Tensor> _classifier;
    private readonly long[] _sampleShape;

    /// <summary>Creates the guided denoiser.</summary>
    /// <param name="denoiser">The model to guide (conditional or unconditional).</param>
    /// <param name="schedule">The schedule the model was trained with (for alpha-bar at t).</param>
    /// <param name="classifier">
    /// Logits of the noisy-image classifier: (x_t [B, ...sample shape], t [B] float timesteps) -> [B, classCount]. It must be
    /// differentiable in x_t (TorchSharp operations only).
    /// </param>
    /// <param name="classCount">The classifier's number of classes; the labels of the generation options select among them.</param>
    /// <param name="scale">The guidance scale s (the paper uses 1 to 10). Default 1.</param>
    /// <param name="device">The device the classifier runs on (default CPU).</param>
    /// <exception cref="ArgumentException">A conditional denoiser whose class count differs from the classifier's.</exception>
    public ClassifierGuidedDenoiser(IDenoiser denoiser, NoiseSchedule schedule, Func<Tensor, Tensor, Tensor> classifier, int classCount,
        double scale = 1, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        _denoiser = denoiser ?? throw new ArgumentNullException(nameof(denoiser));
        _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        _classifier = classifier ?? throw new ArgumentNullException(nameof(classifier));
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        if (denoiser.ClassCount > 0 && denoiser.ClassCount != classCount)
            throw new ArgumentException($"The denoiser has {denoiser.ClassCount} classes and the classifier {classCount}; their labels must agree.", nameof(classCount));
        if (!double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "The guidance scale must be finite.");
        ClassCount = classCount;
        Scale = scale;
        Device = device ?? CPU;
        _sampleShape = denoiser.SampleShape.Select(d => (long)d).ToArray();
    }

    /// <summary>The guidance scale s.</summary>
    public double Scale { get; }

    /// <summary>The device the classifier runs on.</summary>
    public Device Device { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape => _denoiser.SampleShape;

    /// <inheritdoc />
    public PredictionType PredictionType => _denoiser.PredictionType;

    /// <inheritdoc />
    public int ClassCount { get; }

    /// <inheritdoc />
    /// <remarks>The guidance shifts the mean only; the variance values pass through.</remarks>
    public bool LearnsVariance => _denoiser.LearnsVariance;

    /// <inheritdoc />
    public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        _denoiser.Predict(x, timesteps, _denoiser.ClassCount > 0 ? classLabels : ReadOnlySpan<int>.Empty, output);
        if (classLabels.IsEmpty || Scale == 0) return;
        int batch = timesteps.Length, d = x.Length / batch, stride = LearnsVariance ? 2 * d : d; // output row: prediction (then v)
        float[] gradient = LogProbabilityGradient(x, timesteps, classLabels);
        for (int b = 0; b < batch; b++)
        {
            if (classLabels[b] == ClassCount) continue; // the null class is not guided
            double abar = _schedule.InterpolatedAlphaBar(timesteps[b]), a = Math.Sqrt(abar), s = Math.Sqrt(1 - abar);
            for (int i = b * d; i < (b + 1) * d; i++)
            {
                int o = b * stride + i - b * d;
                double eps = PredictionType switch // the model output as a noise prediction (Ho et al. 2020 eq. 4; Salimans and Ho 2022)
                {
                    PredictionType.Epsilon => output[o],
                    PredictionType.VPrediction => a * output[o] + s * x[i],
                    _ => (x[i] - a * output[o]) / s,
                };
                eps -= Scale * s * gradient[i]; // Dhariwal and Nichol 2021, eq. 14 / Alg. 2: eps - sqrt(1 - abar) s grad log p(y | x_t)
                output[o] = (float)(PredictionType switch
                {
                    PredictionType.Epsilon => eps,
                    PredictionType.VPrediction => (eps - s * x[i]) / a,
                    _ => (x[i] - s * eps) / a,
                });
            }
        }
    }

    /// <summary>grad_x log softmax(classifier(x, t))[y] for each row (null-class rows get label 0; they are skipped by the caller).</summary>
    private float[] LogProbabilityGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        int batch = timesteps.Length;
        var xt = tensor(x.ToArray(), [batch, .. _sampleShape], device: Device).requires_grad_(true);
        var t = tensor(timesteps.ToArray(), device: Device);
        var labels = new long[batch];
        for (int b = 0; b < batch; b++)
        {
            if (classLabels[b] < 0 || classLabels[b] > ClassCount)
                throw new ArgumentException($"Class label {classLabels[b]} of row {b} is outside [0, {ClassCount}] ({ClassCount} = null class).", nameof(classLabels));
            labels[b] = classLabels[b] == ClassCount ? 0 : classLabels[b];
        }
        var logits = _classifier(xt, t);
        if (logits.shape.Length != 2 || logits.shape[0] != batch || logits.shape[1] != ClassCount)
            throw new InvalidOperationException($"The classifier returned logits of shape [{string.Join(", ", logits.shape)}]; [{batch}, {ClassCount}] was expected.");
        var selected = nn.functional.log_softmax(logits, 1).gather(1, tensor(labels, device: Device).unsqueeze(1)).sum();
        var gradient = autograd.grad([selected], [xt])[0];
        return gradient.to(CPU).contiguous().data<float>().ToArray();
    }
}
