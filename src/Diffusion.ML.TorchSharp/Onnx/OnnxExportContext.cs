using Diffusion.ML.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Onnx;

/// <summary>
/// The graph an export writes into, with helpers that turn TorchSharp layers (Linear, Conv2d, GroupNorm, LayerNorm, Embedding) into
/// ONNX nodes whose initializers are the layers' current parameters. Modules call these from their
/// <see cref="IOnnxExportable"/> implementations.
/// </summary>
public sealed class OnnxExportContext
{
    /// <summary>Wraps a graph builder.</summary>
    /// <param name="graph">The builder to write into.</param>
    public OnnxExportContext(OnnxGraphBuilder graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Graph = graph;
    }

    /// <summary>The underlying graph builder, for the operators that are not layers.</summary>
    public OnnxGraphBuilder Graph { get; }

    /// <summary>Prefixes the names created until disposal with <paramref name="name"/> (see <see cref="OnnxGraphBuilder.Scope"/>).</summary>
    /// <param name="name">Usually the module's field name.</param>
    public IDisposable Scope(string name) => Graph.Scope(name);

    /// <summary>Adds the values of <paramref name="tensor"/> (converted to float32 on the CPU) as an initializer of the same shape.</summary>
    /// <param name="name">Name hint, e.g. "weight".</param>
    /// <param name="tensor">The parameter or buffer.</param>
    /// <returns>The initializer.</returns>
    public OnnxValue Parameter(string name, Tensor tensor) => Graph.AddInitializer(name, Values(tensor), tensor.shape);

    /// <summary><c>Linear</c>: <c>x W^T + b</c> as one Gemm on <c>[batch, in]</c>.</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="x">Input <c>[batch, in_features]</c>.</param>
    /// <param name="scope">The layer's name in the module (used in the graph names).</param>
    public OnnxValue Linear(Linear layer, OnnxValue x, string scope)
    {
        ArgumentNullException.ThrowIfNull(layer);
        using var _ = Scope(scope);
        var weight = Parameter("weight", layer.weight!);
        return Graph.Gemm(x, weight, layer.bias is { } bias ? Parameter("bias", bias) : null, transB: true);
    }

    /// <summary><c>Linear</c> on inputs of any rank (e.g. tokens <c>[batch, T, in]</c>): <c>x W^T + b</c> as MatMul with the
    /// transposed weight, then Add. The initializer keeps PyTorch's <c>[out, in]</c> layout; a Transpose node turns it.</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="x">Input <c>[..., in_features]</c>.</param>
    /// <param name="scope">The layer's name in the module (used in the graph names).</param>
    public OnnxValue LinearLastAxis(Linear layer, OnnxValue x, string scope)
    {
        ArgumentNullException.ThrowIfNull(layer);
        using var _ = Scope(scope);
        var product = Graph.MatMul(x, Graph.Transpose(Parameter("weight", layer.weight!), 1, 0));
        return layer.bias is { } bias ? Graph.Add(product, Parameter("bias", bias)) : product;
    }

    /// <summary><c>LayerNorm</c> over the last axis, with its affine parameters when it has them (a LayerNorm without them
    /// gets unit scale and no bias).</summary>
    /// <param name="layer">The layer; must normalise one axis.</param>
    /// <param name="x">Input <c>[..., features]</c>.</param>
    /// <param name="scope">The layer's name in the module.</param>
    /// <exception cref="NotSupportedException">The layer normalises more than the last axis.</exception>
    public OnnxValue LayerNorm(LayerNorm layer, OnnxValue x, string scope)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.normalized_shape.Length != 1)
            throw new NotSupportedException($"LayerNorm '{scope}' normalises {layer.normalized_shape.Length} axes; only the last axis is exported.");
        using var _ = Scope(scope);
        var features = layer.normalized_shape[0];
        var scale = layer.weight is { } weight ? Parameter("weight", weight) : Graph.Floats(Enumerable.Repeat(1f, (int)features).ToArray());
        var bias = layer.bias is { } b ? Parameter("bias", b) : (OnnxValue?)null;
        return Graph.LayerNormalization(x, scale, bias, (float)layer.eps);
    }

    /// <summary><c>Conv2d</c> with zero padding (the only padding mode supported).</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="x">Input <c>[batch, C, H, W]</c>.</param>
    /// <param name="scope">The layer's name in the module.</param>
    /// <exception cref="NotSupportedException">A padding mode other than zeros, transposed convolutions, or "same" padding.</exception>
    public OnnxValue Conv2d(Conv2d layer, OnnxValue x, string scope)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.transposed) throw new NotSupportedException($"Transposed convolutions ('{scope}') are not exported yet.");
        if (layer.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"Convolution '{scope}' pads with {layer.padding_mode}; only zero padding is exported.");
        if (layer.padding_type is Padding.Same)
            throw new NotSupportedException($"Convolution '{scope}' uses padding 'same'; give explicit padding to export it.");
        long[] kernel = layer.kernel_size;
        long[] padding = layer.padding_type is Padding.Valid || layer.padding is null ? new long[kernel.Length] : layer.padding;
        using var _ = Scope(scope);
        var weight = Parameter("weight", layer.weight!);
        var bias = layer.bias is { } b ? Parameter("bias", b) : (OnnxValue?)null;
        return Graph.Conv(x, weight, bias, kernel, layer.stride, [.. padding, .. padding], layer.dilation, layer.groups);
    }

    /// <summary><c>GroupNorm</c> with its affine parameters (native GroupNormalization or its decomposition, by opset).</summary>
    /// <param name="layer">The layer; must be affine.</param>
    /// <param name="x">Input <c>[batch, C, H, W]</c>.</param>
    /// <param name="scope">The layer's name in the module.</param>
    public OnnxValue GroupNorm(GroupNorm layer, OnnxValue x, string scope)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.weight is null || layer.bias is null) throw new NotSupportedException($"GroupNorm '{scope}' without affine parameters is not exported.");
        using var _ = Scope(scope);
        return Graph.GroupNorm(x, Values(layer.weight), Values(layer.bias), (int)layer.num_groups, (float)layer.eps);
    }

    /// <summary><c>Embedding</c>: rows of the table picked by int64 indices.</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="indices">int64 indices <c>[batch]</c>.</param>
    /// <param name="scope">The layer's name in the module.</param>
    public OnnxValue Embedding(Embedding layer, OnnxValue indices, string scope)
    {
        ArgumentNullException.ThrowIfNull(layer);
        using var _ = Scope(scope);
        return Graph.Gather(Parameter("weight", layer.weight!), indices);
    }

    /// <summary>SiLU: <c>x * sigmoid(x)</c>.</summary>
    /// <param name="x">Input.</param>
    public OnnxValue Silu(OnnxValue x) => Graph.Silu(x);

    /// <summary>The values of a tensor as float32, row-major, copied to the CPU.</summary>
    /// <param name="tensor">Any tensor.</param>
    /// <returns>A new array.</returns>
    public static float[] Values(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return tensor.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
    }
}
