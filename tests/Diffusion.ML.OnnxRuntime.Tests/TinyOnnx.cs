using Google.Protobuf;

namespace Diffusion.ML.OnnxRuntime.Tests;

/// <summary>
/// Writes minimal ONNX models field by field (onnx.proto field numbers) with Google.Protobuf's CodedOutputStream, so the
/// ONNX Runtime layer can be tested before the exporter exists.
/// </summary>
internal static class TinyOnnx
{
    /// <summary>A model whose output "eps" [B, D] is Identity(x); other inputs (float [B]) are declared but unused.</summary>
    public static byte[] IdentityModel(int dimension, params string[] extraFloatInputs)
    {
        var graph = new List<byte[]>
        {
            Field(1, Message(Str(1, "x"), Str(2, "eps"), Str(4, "Identity"))),  // NodeProto: input, output, op_type
            Str(2, "identity-denoiser"),                                        // GraphProto.name
            Field(11, ValueInfo("x", dimension)),                               // GraphProto.input
        };
        foreach (string name in extraFloatInputs) graph.Add(Field(11, ValueInfo(name, null)));
        graph.Add(Field(12, ValueInfo("eps", dimension)));                      // GraphProto.output
        return Message(
            Int(1, 8),                                                          // ModelProto.ir_version
            Field(8, Message(Str(1, ""), Int(2, 17))),                          // opset_import: default domain, opset 17
            Field(7, Message([.. graph])));                                     // ModelProto.graph
    }

    // ValueInfoProto{name, type: TypeProto{tensor_type: {elem_type FLOAT, shape [batch] or [batch, dimension]}}}
    private static byte[] ValueInfo(string name, int? dimension)
    {
        var dims = new List<byte[]> { Field(1, Str(2, "batch")) };
        if (dimension is { } d) dims.Add(Field(1, Int(1, d)));
        var tensor = Message(Int(1, 1), Field(2, Message([.. dims])));
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
