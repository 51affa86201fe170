namespace Diffusion.ML.Onnx;

/// <summary>A named tensor of an ONNX graph under construction: a graph input, an initializer or a node output.</summary>
/// <param name="Name">The tensor's unique name in the graph.</param>
public readonly record struct OnnxValue(string Name)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Element types of ONNX tensors used by Diffusion.ML (values of onnx.proto's <c>TensorProto.DataType</c>).</summary>
public enum OnnxElementType
{
    /// <summary>32-bit float.</summary>
    Float = 1,

    /// <summary>8-bit unsigned integer.</summary>
    UInt8 = 2,

    /// <summary>16-bit unsigned integer.</summary>
    UInt16 = 4,

    /// <summary>32-bit signed integer.</summary>
    Int32 = 6,

    /// <summary>64-bit signed integer.</summary>
    Int64 = 7,

    /// <summary>Boolean (a Loop's condition).</summary>
    Bool = 9,

    /// <summary>32-bit unsigned integer (ML.NET's key columns and UInt32 labels).</summary>
    UInt32 = 12,
}

/// <summary>One dimension of a graph input or output: a fixed size or a named symbolic size such as "batch".</summary>
public readonly record struct OnnxDim
{
    private OnnxDim(long? size, string? symbol) => (Size, Symbol) = (size, symbol);

    /// <summary>The fixed size, or null for a symbolic dimension.</summary>
    public long? Size { get; }

    /// <summary>The symbol of a dynamic dimension (e.g. "batch"), or null for a fixed one.</summary>
    public string? Symbol { get; }

    /// <summary>A fixed dimension.</summary>
    /// <param name="size">The size, at least 1.</param>
    public static OnnxDim Fixed(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        return new OnnxDim(size, null);
    }

    /// <summary>A dynamic dimension named <paramref name="symbol"/>; inputs sharing a symbol must agree at run time.</summary>
    /// <param name="symbol">The name, e.g. "batch".</param>
    public static OnnxDim Dynamic(string symbol)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        return new OnnxDim(null, symbol);
    }

    /// <summary>A fixed dimension of <paramref name="size"/>.</summary>
    /// <param name="size">The size.</param>
    public static implicit operator OnnxDim(long size) => Fixed(size);

    /// <summary>A dynamic dimension named <paramref name="symbol"/>.</summary>
    /// <param name="symbol">The name.</param>
    public static implicit operator OnnxDim(string symbol) => Dynamic(symbol);

    /// <inheritdoc />
    public override string ToString() => Symbol ?? Size!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
