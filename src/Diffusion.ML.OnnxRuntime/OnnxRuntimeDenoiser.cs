using Diffusion.ML.Onnx;
using Diffusion.ML.Sampling;
using Microsoft.ML.OnnxRuntime;

namespace Diffusion.ML.OnnxRuntime;

/// <summary>
/// An <see cref="IDenoiser"/> backed by an ONNX Runtime <see cref="InferenceSession"/> on the CPU: every sampler of the
/// core runs on it without libtorch. Holds an unmanaged session: dispose it. Load models only from trusted sources.
/// </summary>
public sealed class OnnxRuntimeDenoiser : IDenoiser, IDisposable
{
    private readonly InferenceSession _session;
    private readonly OnnxDenoiserOptions _options;
    private readonly long[] _sampleShape;
    private readonly string _outputName;
    private readonly string _modelPath;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly RunOptions _runOptions = new();
    private readonly object _bufferLock = new();
    private Buffers? _buffers;

    /// <summary>Opens <paramref name="modelPath"/> and checks that its inputs and output match <paramref name="options"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a loadable ONNX model, or its inputs or outputs do not match the options.</exception>
    public OnnxRuntimeDenoiser(string modelPath, OnnxDenoiserOptions options)
        : this(modelPath, CheckOptions(options), OnnxSessions.Open(modelPath, options.IntraOpThreads, provider: options.ExecutionProvider, deviceId: options.DeviceId))
    {
    }

    /// <summary>Takes ownership of an open session (disposed if the signature does not match).</summary>
    private OnnxRuntimeDenoiser(string modelPath, OnnxDenoiserOptions options, InferenceSession session)
    {
        _options = options;
        _modelPath = modelPath;
        _sampleShape = options.SampleShape.Select(d => (long)d).ToArray();
        _session = session;
        MaxEvaluationBatch = options.MaxEvaluationBatch ?? (options.ExecutionProvider == OnnxExecutionProvider.Cpu ? OnnxDenoiserOptions.CpuEvaluationBatch : int.MaxValue);
        try
        {
            _outputName = CheckSignature(modelPath);
            // A network that learns its variance (Nichol and Dhariwal 2021) outputs twice the channels: prediction, then v.
            int[] outputDims = _session.OutputMetadata[_outputName].Dimensions;
            LearnsVariance = outputDims.Length == 1 + _sampleShape.Length && outputDims[1] == 2 * _sampleShape[0];
            _inputNames = ClassCount > 0
                ? [options.SampleInputName, options.TimestepInputName, options.ClassInputName]
                : [options.SampleInputName, options.TimestepInputName];
            _outputNames = [_outputName];
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a denoiser exported by Diffusion.ML (<c>diffusion-ml export</c>, or <c>DenoiserOnnxExporter</c>): the sample
    /// shape, prediction type, classes and noise schedule come from the file's <see cref="DiffusionModelMetadata"/>.
    /// </summary>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="intraOpThreads">ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose.</param>
    /// <param name="graphOptimization">ONNX Runtime graph optimisation level; null for ONNX Runtime's default (all).</param>
    /// <param name="provider">Where ONNX Runtime runs the model (CUDA needs the GPU build).</param>
    /// <param name="deviceId">The GPU for <see cref="OnnxExecutionProvider.Cuda"/>.</param>
    /// <param name="maxEvaluationBatch">The most samples one run evaluates (<see cref="OnnxDenoiserOptions.MaxEvaluationBatch"/>);
    /// null for the default.</param>
    /// <returns>The denoiser with its metadata; dispose it.</returns>
    /// <exception cref="ArgumentException"><paramref name="maxEvaluationBatch"/> is not positive.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a loadable ONNX model, has no Diffusion.ML metadata, or its
    /// inputs do not match the metadata.</exception>
    public static OnnxDiffusionModel Load(string modelPath, int intraOpThreads = 0, GraphOptimizationLevel? graphOptimization = null,
        OnnxExecutionProvider provider = OnnxExecutionProvider.Cpu, int deviceId = 0, int? maxEvaluationBatch = null)
    {
        CheckMaxEvaluationBatch(maxEvaluationBatch);
        return Load(OnnxSessions.Open(modelPath, intraOpThreads, graphOptimization, provider, deviceId), modelPath, intraOpThreads, provider, deviceId,
            maxEvaluationBatch, Path.GetDirectoryName(Path.GetFullPath(modelPath)));
    }

    /// <summary>
    /// Opens a Diffusion.ML denoiser export held in memory (e.g. <c>OnnxModel.ToByteArray()</c> of a fresh export), as
    /// <see cref="Load(string, int, GraphOptimizationLevel?, OnnxExecutionProvider, int, int?)"/> opens a file.
    /// </summary>
    /// <param name="model">The serialized ONNX model.</param>
    /// <param name="name">What to call the model in error messages.</param>
    /// <param name="intraOpThreads">ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose.</param>
    /// <param name="graphOptimization">ONNX Runtime graph optimisation level; null for ONNX Runtime's default (all).</param>
    /// <param name="provider">Where ONNX Runtime runs the model (CUDA needs the GPU build).</param>
    /// <param name="deviceId">The GPU for <see cref="OnnxExecutionProvider.Cuda"/>.</param>
    /// <param name="maxEvaluationBatch">The most samples one run evaluates (<see cref="OnnxDenoiserOptions.MaxEvaluationBatch"/>);
    /// null for the default.</param>
    /// <returns>The denoiser with its metadata; dispose it.</returns>
    /// <exception cref="ArgumentException"><paramref name="maxEvaluationBatch"/> is not positive.</exception>
    /// <exception cref="InvalidDataException">The bytes are not a loadable ONNX model, have no Diffusion.ML metadata, or its
    /// inputs do not match the metadata.</exception>
    public static OnnxDiffusionModel Load(byte[] model, string name, int intraOpThreads = 0, GraphOptimizationLevel? graphOptimization = null,
        OnnxExecutionProvider provider = OnnxExecutionProvider.Cpu, int deviceId = 0, int? maxEvaluationBatch = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckMaxEvaluationBatch(maxEvaluationBatch);
        return Load(OnnxSessions.Open(model, $"'{name}'", intraOpThreads, graphOptimization, provider, deviceId), name, intraOpThreads, provider, deviceId, maxEvaluationBatch, folder: null);
    }

    /// <summary>Wraps an open session of a Diffusion.ML export (disposed if its metadata or signature is wrong).</summary>
    /// <remarks>A latent model's decoder is opened from <paramref name="folder"/> when first used (null: from memory, no decoder).</remarks>
    private static OnnxDiffusionModel Load(InferenceSession session, string modelPath, int intraOpThreads, OnnxExecutionProvider provider, int deviceId,
        int? maxEvaluationBatch, string? folder)
    {
        DiffusionModelMetadata metadata;
        try
        {
            metadata = DiffusionModelMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap, modelPath);
        }
        catch
        {
            session.Dispose();
            throw;
        }
        var options = new OnnxDenoiserOptions
        {
            SampleShape = metadata.SampleShape,
            PredictionType = metadata.PredictionType,
            ClassCount = metadata.ClassCount,
            SampleInputName = DiffusionModelMetadata.SampleInputName,
            TimestepInputName = DiffusionModelMetadata.TimestepInputName,
            ClassInputName = DiffusionModelMetadata.ClassInputName,
            OutputName = DiffusionModelMetadata.OutputName,
            IntraOpThreads = intraOpThreads,
            ExecutionProvider = provider,
            DeviceId = deviceId,
            MaxEvaluationBatch = maxEvaluationBatch,
        };
        return new OnnxDiffusionModel(new OnnxRuntimeDenoiser(modelPath, options, session), metadata,
            () => folder is null ? null : OpenDecoder(metadata, modelPath, folder, intraOpThreads, provider, deviceId));
    }

    /// <summary>A latent model's decoder, checked to decode exactly its samples; null for a model of images.</summary>
    private static OnnxLatentDecoder? OpenDecoder(DiffusionModelMetadata metadata, string modelPath, string folder, int intraOpThreads,
        OnnxExecutionProvider provider, int deviceId)
    {
        if (metadata.LatentDecoder is not { } name) return null;
        string path = Path.Combine(folder, name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{modelPath}' is a latent diffusion model whose samples are decoded by '{name}', which is not beside it ('{path}'). " +
                "Keep the two files of 'diffusion-ml export' together.", path);
        var decoder = OnnxLatentDecoder.Open(path, intraOpThreads, provider, deviceId);
        if (!decoder.LatentShape.SequenceEqual(metadata.SampleShape) || decoder.LatentScale != metadata.LatentScale)
        {
            decoder.Dispose();
            throw new InvalidDataException($"'{path}' decodes latents [{string.Join(", ", decoder.LatentShape)}] with latent scale {decoder.LatentScale}, but '{modelPath}' " +
                $"samples [{string.Join(", ", metadata.SampleShape)}] at latent scale {metadata.LatentScale}: they are not from the same export. Export the model again.");
        }
        return decoder;
    }

    private static OnnxDenoiserOptions CheckOptions(OnnxDenoiserOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.SampleShape.Count == 0 || options.SampleShape.Any(d => d <= 0))
            throw new ArgumentException($"SampleShape must be non-empty with positive sizes, got [{string.Join(", ", options.SampleShape)}].", nameof(options));
        CheckMaxEvaluationBatch(options.MaxEvaluationBatch, nameof(options));
        return options;
    }

    /// <summary>Checked before a session is opened, so a bad value leaks nothing.</summary>
    private static void CheckMaxEvaluationBatch(int? value, string parameter = "maxEvaluationBatch")
    {
        if (value is <= 0)
            throw new ArgumentException($"MaxEvaluationBatch must be positive or null (the default), got {value}.", parameter);
    }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape => _options.SampleShape;

    /// <inheritdoc />
    public PredictionType PredictionType => _options.PredictionType;

    /// <inheritdoc />
    public int ClassCount => _options.ClassCount;

    /// <inheritdoc />
    /// <remarks>Read from the model: true when its output has twice the input's channels.</remarks>
    public bool LearnsVariance { get; }

    /// <summary>The most samples one ONNX Runtime run evaluates (<see cref="OnnxDenoiserOptions.MaxEvaluationBatch"/>).</summary>
    public int MaxEvaluationBatch { get; }

    /// <inheritdoc />
    /// <remarks>
    /// Evaluates in runs of at most <see cref="MaxEvaluationBatch"/> samples. The inputs and the output live in arrays
    /// pinned as <see cref="OrtValue"/>s and reused while the run size stays the same (every step of a sampling run), so a
    /// call allocates nothing on either heap (a last, shorter run of a batch gets arrays of its own). A concurrent call
    /// from another thread gets buffers of its own.
    /// </remarks>
    public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        var batch = new DenoiserBatch(this, x.Length, timesteps.Length, classLabels.Length, output.Length);
        int d = batch.SampleLength, outputLength = batch.OutputLength, reused = Math.Min(batch.Count, MaxEvaluationBatch);
        foreach (var (start, count) in batch.Slices(MaxEvaluationBatch))
            PredictRun(count, count == reused, x.Slice(start * d, count * d), timesteps.Slice(start, count),
                classLabels.IsEmpty ? classLabels : classLabels.Slice(start, count), output.Slice(start * outputLength, count * outputLength));
    }

    private void PredictRun(int count, bool reuse, ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        if (reuse && Monitor.TryEnter(_bufferLock))
        {
            try
            {
                if (_buffers?.Batch != count)
                {
                    _buffers?.Dispose();
                    _buffers = null;
                    _buffers = new Buffers(count, _sampleShape, ClassCount > 0, LearnsVariance);
                }
                Run(_buffers, x, timesteps, classLabels, output);
            }
            finally
            {
                Monitor.Exit(_bufferLock);
            }
            return;
        }
        using var own = new Buffers(count, _sampleShape, ClassCount > 0, LearnsVariance);
        Run(own, x, timesteps, classLabels, output);
    }

    private void Run(Buffers buffers, ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        x.CopyTo(buffers.Sample);
        timesteps.CopyTo(buffers.Timesteps);
        if (buffers.Labels is { } labels)
            for (int i = 0; i < labels.Length; i++) labels[i] = classLabels.IsEmpty ? ClassCount : classLabels[i];
        try
        {
            _session.Run(_runOptions, _inputNames, buffers.Inputs, _outputNames, buffers.Outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException(
                $"ONNX Runtime could not run '{_modelPath}' on a batch of {buffers.Batch} samples of shape [{string.Join(", ", _sampleShape)}] " +
                $"with output '{_outputName}' of the same shape (a denoiser's prediction has the shape of its input, or twice its channels " +
                $"when it learns its variance): {e.Message}", e);
        }
        buffers.Prediction.CopyTo(output);
    }

    /// <summary>Pinned input and output arrays of one batch size, wrapped as ONNX Runtime values.</summary>
    private sealed class Buffers : IDisposable
    {
        public Buffers(int batch, long[] sampleShape, bool conditional, bool learnsVariance)
        {
            Batch = batch;
            long[] shape = [batch, .. sampleShape];
            long[] outputShape = [batch, learnsVariance ? 2 * sampleShape[0] : sampleShape[0], .. sampleShape.Skip(1)];
            int size = checked((int)shape.Aggregate(1L, (a, b) => a * b));
            Sample = new float[size];
            Prediction = new float[learnsVariance ? 2 * size : size];
            Timesteps = new float[batch];
            Labels = conditional ? new long[batch] : null;
            var inputs = new List<OrtValue>
            {
                OrtValue.CreateTensorValueFromMemory(Sample, shape),
                OrtValue.CreateTensorValueFromMemory(Timesteps, [batch]),
            };
            if (Labels is not null) inputs.Add(OrtValue.CreateTensorValueFromMemory(Labels, [batch]));
            Inputs = inputs;
            Outputs = [OrtValue.CreateTensorValueFromMemory(Prediction, outputShape)];
        }

        public int Batch { get; }
        public float[] Sample { get; }
        public float[] Timesteps { get; }
        public long[]? Labels { get; }
        public float[] Prediction { get; }
        public IReadOnlyCollection<OrtValue> Inputs { get; }
        public IReadOnlyCollection<OrtValue> Outputs { get; }

        public void Dispose()
        {
            foreach (var value in Inputs.Concat(Outputs)) value.Dispose();
        }
    }

    private string CheckSignature(string modelPath)
    {
        var inputs = _session.InputMetadata;
        var required = new List<string> { _options.SampleInputName, _options.TimestepInputName };
        if (ClassCount > 0) required.Add(_options.ClassInputName);
        foreach (string name in required)
            if (!inputs.ContainsKey(name))
                throw new InvalidDataException(
                    $"'{modelPath}' has no input '{name}'. Its inputs are: {string.Join(", ", inputs.Keys)}. Set the input names in OnnxDenoiserOptions.");
        return OnnxSessions.Resolve(_session.OutputMetadata, _options.OutputName, "output", modelPath, "OnnxDenoiserOptions.OutputName");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_bufferLock)
        {
            _buffers?.Dispose();
            _buffers = null;
        }
        _runOptions.Dispose();
        _session.Dispose();
    }
}
