using System.Reflection;
using Diffusion.ML.Data;
using Diffusion.ML.Onnx.Protobuf;
using Google.Protobuf;

namespace Diffusion.ML.Onnx;

/// <summary>
/// An ONNX model in memory: written by <see cref="OnnxGraphBuilder.Build"/> or read back with <see cref="Load"/> to inspect
/// its opset, operators, inputs, outputs and metadata. Reading needs no ONNX Runtime.
/// </summary>
public sealed partial class OnnxModel
{
    /// <summary>The <c>producer_name</c> Diffusion.ML writes.</summary>
    public const string Producer = "Diffusion.ML";

    private readonly ModelProto _proto;

    internal OnnxModel(ModelProto proto) => _proto = proto;

    /// <summary>The version of this library, written as <c>producer_version</c> and in the exporter metadata.</summary>
    public static string ProducerVersionString { get; } =
        typeof(OnnxModel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(OnnxModel).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    /// <summary>The ONNX IR version.</summary>
    public long IrVersion => _proto.IrVersion;

    /// <summary>The opset of the default domain (0 if the model imports none).</summary>
    public int Opset => (int)(_proto.OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")?.Version ?? 0);

    /// <summary>The producer name, e.g. "Diffusion.ML".</summary>
    public string ProducerName => _proto.ProducerName;

    /// <summary>The producer version.</summary>
    public string ProducerVersion => _proto.ProducerVersion;

    /// <summary>The metadata properties (<c>metadata_props</c>).</summary>
    public IReadOnlyDictionary<string, string> Metadata
    {
        get
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in _proto.MetadataProps) map[entry.Key] = entry.Value;
            return map;
        }
    }

    /// <summary>Names of the graph inputs, in order.</summary>
    public IReadOnlyList<string> InputNames => _proto.Graph.Input.Select(i => i.Name).ToArray();

    /// <summary>Names of the graph outputs, in order.</summary>
    public IReadOnlyList<string> OutputNames => _proto.Graph.Output.Select(o => o.Name).ToArray();

    /// <summary>Number of nodes per operator type, e.g. <c>{"Conv": 12, ...}</c>.</summary>
    public IReadOnlyDictionary<string, int> OperatorCounts
        => _proto.Graph.Node.GroupBy(n => n.OpType, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>Number of nodes.</summary>
    public int NodeCount => _proto.Graph.Node.Count;

    /// <summary>Number of float32 values held by the initializers (the weights, plus a few constants).</summary>
    public long FloatInitializerValues => _proto.Graph.Initializer
        .Where(t => t.DataType == (int)TensorProto.Types.DataType.Float)
        .Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b));

    /// <summary>Number of elements of each initializer, by name (weights are named after the module tree, e.g.
    /// <c>encoder.0.0.conv1.weight</c>; shared constants start with <c>const_</c>).</summary>
    public IReadOnlyDictionary<string, long> InitializerSizes
        => _proto.Graph.Initializer.ToDictionary(t => t.Name, t => t.Dims.Aggregate(1L, (a, b) => a * b), StringComparer.Ordinal);

    /// <summary>The symbolic or fixed dimensions of a graph input, e.g. ["batch", "1", "28", "28"].</summary>
    /// <param name="name">The input's name.</param>
    /// <exception cref="KeyNotFoundException">No such input.</exception>
    public IReadOnlyList<string> InputShape(string name)
    {
        var input = _proto.Graph.Input.FirstOrDefault(i => i.Name == name) ?? throw new KeyNotFoundException($"The model has no input '{name}'.");
        return input.Type?.TensorType?.Shape?.Dim
            .Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .ToArray() ?? [];
    }

    /// <summary>The serialized model (protobuf bytes).</summary>
    public byte[] ToByteArray() => _proto.ToByteArray();

    /// <summary>Writes the serialized model to <paramref name="stream"/>.</summary>
    /// <param name="stream">A writable stream.</param>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _proto.WriteTo(stream);
    }

    /// <summary>
    /// Writes the model to <paramref name="path"/> atomically (temporary file, then rename). A model whose weights exceed
    /// <see cref="OnnxGraphBuilder.MaxInitializerBytes"/> (protobuf's 2 GiB limit) is written with external data
    /// (<see cref="SaveWithExternalData"/>).
    /// </summary>
    /// <param name="path">The .onnx file.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (_proto.Graph.Initializer.Sum(t => (long)t.RawData.Length) > OnnxGraphBuilder.MaxInitializerBytes) SaveWithExternalData(path);
        else AtomicFile.Write(path, WriteTo);
    }

    /// <summary>
    /// Writes the model with its larger weights in an external data file (the ONNX external-data format: each tensor's
    /// <c>location</c>, <c>offset</c> and <c>length</c>, offsets aligned to 4 KiB so runtimes can map the file), named
    /// <c>{model file}.{hash}.data</c> after its content: the data file is renamed into place before the model that points
    /// to it, so an interrupted save leaves the old pair intact; data files of earlier saves are removed afterwards.
    /// </summary>
    /// <param name="path">The .onnx file; the data file goes beside it.</param>
    /// <param name="minimumBytes">Tensors of at least this many bytes go to the data file; smaller ones stay inline.</param>
    /// <returns>The data file's path.</returns>
    public string SaveWithExternalData(string path, long minimumBytes = 1024)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(minimumBytes);
        var proto = _proto.Clone();
        var external = proto.Graph.Initializer.Where(t => t.RawData.Length > 0 && t.RawData.Length >= minimumBytes).ToList();
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var tensor in external) hash.AppendData(tensor.RawData.Span);
        string fileName = Path.GetFileName(Path.GetFullPath(path));
        string dataName = $"{fileName}.{Convert.ToHexStringLower(hash.GetHashAndReset())[..16]}.data";
        string dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, dataName);
        const int alignment = 4096;
        AtomicFile.Write(dataPath, stream =>
        {
            long offset = 0;
            foreach (var tensor in external)
            {
                long padding = (alignment - offset % alignment) % alignment;
                stream.Write(new byte[padding]);
                offset += padding;
                stream.Write(tensor.RawData.Span);
                tensor.DataLocation = TensorProto.Types.DataLocation.External;
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                offset += tensor.RawData.Length;
                tensor.ClearRawData();
            }
        });
        AtomicFile.Write(path, proto.WriteTo);
        foreach (string stale in Directory.EnumerateFiles(Path.GetDirectoryName(dataPath)!, $"{fileName}.*.data"))
            if (!Path.GetFileName(stale).Equals(dataName, StringComparison.Ordinal)) File.Delete(stale);
        return dataPath;
    }

    /// <summary>Reads an ONNX file (any producer) for inspection.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <returns>The model.</returns>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable ONNX model (truncated, damaged, or another format).</exception>
    public static OnnxModel Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses serialized ONNX bytes.</summary>
    /// <param name="bytes">The protobuf bytes of a ModelProto.</param>
    /// <param name="source">A name for messages (e.g. the file path).</param>
    /// <returns>The model.</returns>
    /// <exception cref="InvalidDataException">The bytes are not a readable ONNX model.</exception>
    public static OnnxModel Parse(byte[] bytes, string source = "the data")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{source}' is not a valid ONNX model ({e.Message}); the file is truncated, damaged or of another format.", e);
        }
        if (proto.Graph is null || proto.IrVersion <= 0 || proto.OpsetImport.Count == 0)
            throw new InvalidDataException($"'{source}' is not a valid ONNX model: it has no graph, IR version or opset; the file is truncated, damaged or of another format.");
        return new OnnxModel(proto);
    }
}
