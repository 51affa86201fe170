using Google.Protobuf;

namespace Diffusion.ML.OnnxRuntime.Tests;

/// <summary>
/// Writes minimal ONNX models field by field (onnx.proto field numbers) with Google.Protobuf's CodedOutputStream, so the
/// ONNX Runtime layer can be tested before the exporter exists.
/// </summary>
internal static class TinyOnnx
{
    /// <summary>A model whose output "eps" [B, D] is Identity(x); other inputs (float [B]) are declared but unused.</summary>
    public static byte[] IdentityModel(int dimension, params string[] extraFloatInputs) => Model(
        [("Identity", ["x"], ["eps"])],
        [("x", [dimension]), .. extraFloatInputs.Select(name => (name, Array.Empty<int>()))],
        [("eps", [dimension])]);

    /// <summary>
    /// A model of one graph: nodes (op_type, inputs, outputs; no attributes), float inputs and outputs whose first
    /// dimension is the symbolic "batch" followed by <c>Dims</c> (a non-positive size is written as a symbolic dimension).
    /// </summary>
    public static byte[] Model((string Op, string[] Inputs, string[] Outputs)[] nodes, (string Name, int[] Dims)[] inputs, (string Name, int[] Dims)[] outputs)
    {
        var graph = new List<byte[]>();
        foreach (var (op, nodeInputs, nodeOutputs) in nodes)                   // NodeProto: input 1, output 2, op_type 4
            graph.Add(Field(1, Message([.. nodeInputs.Select(i => Str(1, i)), .. nodeOutputs.Select(o => Str(2, o)), Str(4, op)])));
        graph.Add(Str(2, "tiny"));                                             // GraphProto.name
        foreach (var (name, dims) in inputs) graph.Add(Field(11, ValueInfo(name, dims)));   // GraphProto.input
        foreach (var (name, dims) in outputs) graph.Add(Field(12, ValueInfo(name, dims)));  // GraphProto.output
        return Message(
            Int(1, 8),                                                          // ModelProto.ir_version
            Field(8, Message(Str(1, ""), Int(2, 17))),                          // opset_import: default domain, opset 17
            Field(7, Message([.. graph])));                                     // ModelProto.graph
    }

    // ValueInfoProto{name, type: TypeProto{tensor_type: {elem_type FLOAT, shape [batch, ...dims]}}}
    private static byte[] ValueInfo(string name, int[] dims)
    {
        var shape = new List<byte[]> { Field(1, Str(2, "batch")) };
        for (int i = 0; i < dims.Length; i++)
            shape.Add(Field(1, dims[i] > 0 ? Int(1, dims[i]) : Str(2, $"d{i}")));
        var tensor = Message(Int(1, 1), Field(2, Message([.. shape])));
        return Message(Str(1, name), Field(2, Message(Field(1, tensor))));
    }

    private static byte[] Message(params byte[][] fields) => fields.SelectMany(f => f).ToArray();

    private static byte[] Field(int number, byte[] message) => Encode(o => { o.WriteTag(number, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(message)); });

    private static byte[] Str(int number, string value) => Encode(o => { o.WriteTag(number, WireFormat.WireType.LengthDelimited); o.WriteString(value); });

    private static byte[] Int(int number, long value) => Encode(o => { o.WriteTag(number, WireFormat.WireType.Varint); o.WriteInt64(value); });

    private static byte[] Encode(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        using (var output = new CodedOutputStream(ms, leaveOpen: true)) write(output);
        return ms.ToArray();
    }
}
