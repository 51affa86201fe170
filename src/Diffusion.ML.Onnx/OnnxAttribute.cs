using Diffusion.ML.Onnx.Protobuf;
using Google.Protobuf;

namespace Diffusion.ML.Onnx;

/// <summary>A node attribute (name and value), e.g. <c>OnnxAttribute.Ints("strides", 2, 2)</c>.</summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(AttributeProto proto) => Proto = proto;

    /// <summary>The attribute's name.</summary>
    public string Name => Proto.Name;

    internal AttributeProto Proto { get; }

    /// <summary>An integer attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">Value.</param>
    public static OnnxAttribute Int(string name, long value)
        => new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });

    /// <summary>A float attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">Value.</param>
    public static OnnxAttribute Float(string name, float value)
        => new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });

    /// <summary>A string attribute (UTF-8).</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">Value.</param>
    public static OnnxAttribute String(string name, string value)
        => new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) });

    /// <summary>An integer-list attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="values">Values.</param>
    public static OnnxAttribute Ints(string name, params long[] values)
    {
        var proto = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        proto.Ints.AddRange(values);
        return new OnnxAttribute(proto);
    }

    /// <summary>A graph attribute (a control-flow operator's body).</summary>
    internal static OnnxAttribute Graph(string name, GraphProto graph)
        => new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = graph });

    /// <summary>A float-list attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="values">Values.</param>
    public static OnnxAttribute Floats(string name, params float[] values)
    {
        var proto = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        proto.Floats.AddRange(values);
        return new OnnxAttribute(proto);
    }
}
