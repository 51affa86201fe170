using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Sampling;

/// <summary>
/// An <see cref="IDenoiser"/> backed by a TorchSharp <see cref="DenoiserNetwork"/>, evaluated in inference mode; its exact
/// vector-Jacobian products (<see cref="IVectorJacobianDenoiser"/>) come from TorchSharp's autograd.
/// </summary>
public sealed class TorchSharpDenoiser : IVectorJacobianDenoiser
{
    private readonly long[] _sampleShape;

    /// <summary>Wraps a network (put it in eval mode on the device first; <see cref="Training.Checkpoint.LoadNetwork"/> does).</summary>
    /// <param name="network">The trained network.</param>
    /// <param name="predictionType">What the network was trained to predict.</param>
    /// <param name="device">Device the network lives on (default CPU).</param>
    public TorchSharpDenoiser(DenoiserNetwork network, PredictionType predictionType, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        Network = network ?? throw new ArgumentNullException(nameof(network));
        PredictionType = predictionType;
        Device = device ?? CPU;
        _sampleShape = network.SampleShape;
        SampleShape = _sampleShape.Select(d => (int)d).ToArray();
        _maxEvaluationBatch = DefaultMaxEvaluationBatch(Device);
    }

    /// <summary>The default <see cref="MaxEvaluationBatch"/> on <paramref name="device"/>: <see cref="TorchSharpRuntime.CpuBatchSize"/> on the CPU, unlimited on a GPU.</summary>
    public static int DefaultMaxEvaluationBatch(Device device) => device.type == DeviceType.CPU ? TorchSharpRuntime.CpuBatchSize : int.MaxValue;

    private int _maxEvaluationBatch;

    /// <summary>
    /// The most samples one network call evaluates: <see cref="Predict"/> evaluates a bigger batch in consecutive calls
    /// of at most this many samples, which gives the same predictions (up to float rounding of batched kernels).
    /// Default <see cref="TorchSharpRuntime.CpuBatchSize"/> on the CPU, unlimited on a GPU.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int MaxEvaluationBatch
    {
        get => _maxEvaluationBatch;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxEvaluationBatch = value;
        }
    }

    /// <summary>The wrapped network.</summary>
    public DenoiserNetwork Network { get; }

    /// <summary>The device inputs are moved to.</summary>
    public Device Device { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape { get; }

    /// <inheritdoc />
    public PredictionType PredictionType { get; }

    /// <inheritdoc />
    public int ClassCount => Network.ClassCount;

    /// <inheritdoc />
    public bool LearnsVariance => Network.LearnsVariance;

    /// <inheritdoc />
    /// <remarks>Evaluates in calls of at most <see cref="MaxEvaluationBatch"/> samples.</remarks>
    public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        var batch = new DenoiserBatch(this, x.Length, timesteps.Length, classLabels.Length, output.Length);
        int d = batch.SampleLength, outputLength = batch.OutputLength;
        foreach (var (start, count) in batch.Slices(MaxEvaluationBatch))
        {
            using var scope = NewDisposeScope();
            using var mode = inference_mode();
            (Tensor xt, Tensor t, Tensor? y) = Inputs(x.Slice(start * d, count * d), timesteps.Slice(start, count),
                classLabels.IsEmpty ? classLabels : classLabels.Slice(start, count));
            var prediction = Network.call(xt, t, y).to(CPU).contiguous();
            prediction.data<float>().CopyTo(output.Slice(start * outputLength, count * outputLength));
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// One forward and one backward pass through the network: eps = c_out F(x, t) + c_x x with the network output F, then
    /// torch.autograd.grad of sum(eps * v) with respect to x. Only x's gradient is computed; the parameters' gradients are
    /// neither computed nor accumulated.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The network is in training mode (call <c>eval()</c> first: dropout would make the Jacobian random).</exception>
    public void PredictNoiseAndVectorJacobianProduct(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<double> alphaBars,
        ReadOnlySpan<int> classLabels, ReadOnlySpan<float> probes, Span<float> eps, Span<float> vectorJacobianProducts)
    {
        int batch = timesteps.Length, d = SampleShape.Aggregate(1, (a, b) => a * b);
        if (x.Length != batch * d)
            throw new ArgumentException($"x has {x.Length} values; {batch} timesteps of samples of {d} values need {batch * d}.", nameof(x));
        if (alphaBars.Length != batch) throw new ArgumentException($"{alphaBars.Length} alpha-bars for {batch} timesteps.", nameof(alphaBars));
        if (probes.Length != x.Length)
            throw new ArgumentException($"The probes have {probes.Length} values; one probe per row of x needs {x.Length}.", nameof(probes));
        if (eps.Length != x.Length) throw new ArgumentException($"eps has room for {eps.Length} values, not {x.Length}.", nameof(eps));
        if (vectorJacobianProducts.Length != x.Length)
            throw new ArgumentException($"vectorJacobianProducts has room for {vectorJacobianProducts.Length} values, not {x.Length}.", nameof(vectorJacobianProducts));
        if (Network.training) throw new InvalidOperationException("The network is in training mode; call eval() before taking its Jacobian.");

        var outputScale = new float[batch];
        var inputScale = new float[batch];
        for (int b = 0; b < batch; b++)
        {
            if (!(alphaBars[b] >= 0 && alphaBars[b] <= 1)) throw new ArgumentOutOfRangeException(nameof(alphaBars), alphaBars[b], $"Alpha-bar of row {b} is outside [0, 1].");
            double a = Math.Sqrt(alphaBars[b]), s = Math.Sqrt(1 - alphaBars[b]);
            // eps = c_out F + c_x x from x_t = a x_0 + s eps (Ho et al. 2020, eq. 4) and v = a eps - s x_0 (Salimans and Ho 2022, sec. 4)
            (double cOut, double cX) = PredictionType switch
            {
                PredictionType.Epsilon => (1.0, 0.0),
                PredictionType.Sample => s == 0 ? (0.0, 0.0) : (-a / s, 1 / s), // as ModelOutputs: eps = 0 where s = 0
                PredictionType.VPrediction => (a, s),
                _ => throw new InvalidOperationException($"Unknown prediction type {PredictionType}."),
            };
            outputScale[b] = (float)cOut;
            inputScale[b] = (float)cX;
        }

        using var scope = NewDisposeScope();
        using var gradients = enable_grad();
        (Tensor xt, Tensor t, Tensor? y) = Inputs(x, timesteps, classLabels);
        xt.requires_grad_(true);
        long[] shape = [batch, .. _sampleShape], rowShape = [batch, .. _sampleShape.Select(_ => 1L)];
        var output = Network.call(xt, t, y);
        var prediction = LearnsVariance ? output.reshape(batch, 2 * d).narrow(1, 0, d).reshape(shape) : output; // row: prediction, then variance values
        var noise = tensor(outputScale, device: Device).reshape(rowShape) * prediction + tensor(inputScale, device: Device).reshape(rowShape) * xt;
        var v = tensor(probes.ToArray(), shape, device: Device);
        var product = autograd.grad([(noise * v).sum()], [xt])[0]; // v^T d eps / d x, row by row (rows are independent)
        noise.detach().to(CPU).contiguous().data<float>().CopyTo(eps);
        product.to(CPU).contiguous().data<float>().CopyTo(vectorJacobianProducts);
    }

    /// <summary>The network's inputs on <see cref="Device"/>: x shaped [B, ...SampleShape], timesteps [B] and labels [B] (or null); they belong to the current dispose scope.</summary>
    private (Tensor X, Tensor T, Tensor? Labels) Inputs(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels)
    {
        int batch = timesteps.Length;
        long[] shape = [batch, .. _sampleShape];
        var xt = tensor(x.ToArray(), shape, device: Device);
        var t = tensor(timesteps.ToArray(), device: Device);
        Tensor? y = null;
        if (ClassCount > 0 && !classLabels.IsEmpty)
        {
            var labels = new long[classLabels.Length];
            for (int i = 0; i < labels.Length; i++) labels[i] = classLabels[i];
            y = tensor(labels, device: Device);
        }
        return (xt, t, y);
    }
}
