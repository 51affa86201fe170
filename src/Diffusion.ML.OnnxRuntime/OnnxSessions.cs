using Microsoft.ML.OnnxRuntime;

namespace Diffusion.ML.OnnxRuntime;

/// <summary>Opening ONNX files and naming their inputs and outputs, with errors that say what to fix.</summary>
internal static class OnnxSessions
{
    /// <summary>Opens an inference session on <paramref name="modelPath"/> with the execution provider asked for.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a loadable ONNX model.</exception>
    /// <exception cref="ArgumentException">The execution provider is not in this build of ONNX Runtime.</exception>
    public static InferenceSession Open(string modelPath, int intraOpThreads, GraphOptimizationLevel? graphOptimization = null,
        OnnxExecutionProvider provider = OnnxExecutionProvider.Cpu, int deviceId = 0)
    {
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"ONNX model '{modelPath}' does not exist.", modelPath);
        return Create(options => new InferenceSession(modelPath, options), $"'{modelPath}'", intraOpThreads, graphOptimization, provider, deviceId);
    }

    /// <summary>Opens an inference session on a serialized model held in memory (<paramref name="source"/> names it in messages).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a loadable ONNX model.</exception>
    /// <exception cref="ArgumentException">The execution provider is not in this build of ONNX Runtime.</exception>
    public static InferenceSession Open(byte[] model, string source, int intraOpThreads, GraphOptimizationLevel? graphOptimization = null,
        OnnxExecutionProvider provider = OnnxExecutionProvider.Cpu, int deviceId = 0) =>
        Create(options => new InferenceSession(model, options), source, intraOpThreads, graphOptimization, provider, deviceId);

    private static InferenceSession Create(Func<SessionOptions, InferenceSession> create, string source, int intraOpThreads,
        GraphOptimizationLevel? graphOptimization, OnnxExecutionProvider provider, int deviceId)
    {
        using var sessionOptions = new SessionOptions { IntraOpNumThreads = intraOpThreads };
        if (graphOptimization is { } level) sessionOptions.GraphOptimizationLevel = level;
        if (provider == OnnxExecutionProvider.Cuda)
        {
            try
            {
                sessionOptions.AppendExecutionProvider_CUDA(deviceId);
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                throw new ArgumentException(
                    $"ONNX Runtime's CUDA execution provider is not available ({e.Message.Trim()}). This build references the CPU package; " +
                    "build with -p:OnnxRuntimeBackend=cuda (Microsoft.ML.OnnxRuntime.Gpu) on a machine with CUDA and cuDNN, see docs/gpu.md.", e);
            }
        }
        try
        {
            return create(sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{source} could not be loaded as an ONNX model: {e.Message}", e);
        }
    }

    /// <summary>
    /// Returns <paramref name="name"/> if the model has such an entry, or the only entry when <paramref name="name"/> is null.
    /// </summary>
    /// <param name="entries">The session's input or output metadata.</param>
    /// <param name="name">The requested name, or null.</param>
    /// <param name="kind">"input" or "output", for messages.</param>
    /// <param name="modelPath">The file, for messages.</param>
    /// <param name="optionName">The option that sets the name, for messages.</param>
    /// <exception cref="InvalidDataException">No entry of that name, or several entries and no name.</exception>
    public static string Resolve(IReadOnlyDictionary<string, NodeMetadata> entries, string? name, string kind, string modelPath, string optionName)
    {
        if (name is not null)
        {
            if (!entries.ContainsKey(name))
                throw new InvalidDataException($"'{modelPath}' has no {kind} '{name}'. Its {kind}s are: {string.Join(", ", entries.Keys)}. Set {optionName}.");
            return name;
        }
        if (entries.Count != 1)
            throw new InvalidDataException($"'{modelPath}' has {entries.Count} {kind}s ({string.Join(", ", entries.Keys)}); name the one to use in {optionName}.");
        return entries.Keys.Single();
    }
}
