using System.Globalization;
using Diffusion.ML.Onnx.Protobuf;

namespace Diffusion.ML.Onnx;

// Edits of a finished graph, each returning a new model (this one is left unchanged): what a host such as ML.NET's
// OnnxTransformer needs around an exported network (its columns are the graph's input and output names, it has no
// scalar inputs, and it feeds pixels in its own range).
public sealed partial class OnnxModel
{
    /// <summary>
    /// Renames a graph input or output (and every use of it, in subgraphs too): ML.NET's OnnxTransformer binds columns to
    /// the graph's input and output names.
    /// </summary>
    /// <param name="name">The current input or output name.</param>
    /// <param name="newName">The new name; it must not be used in the graph yet.</param>
    /// <returns>The renamed model.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is no input or output, or <paramref name="newName"/> is taken.</exception>
    public OnnxModel WithRenamedValue(string name, string newName)
    {
        ArgumentException.ThrowIfNullOrEmpty(newName);
        RequireInputOrOutput(name);
        if (name == newName) return this;
        var proto = _proto.Clone();
        if (Names(proto.Graph).Contains(newName))
            throw new ArgumentException($"The graph already uses the name '{newName}'; pick another.", nameof(newName));
        Rename(proto.Graph, name, newName);
        return new OnnxModel(proto);
    }

    /// <summary>
    /// Replaces the scalar or tensor input <paramref name="name"/> by a constant (an initializer of the same name), for
    /// settings such as a sampler's step count that a host should not feed per row.
    /// </summary>
    /// <param name="name">A float input.</param>
    /// <param name="values">Its values, as many as its fixed shape holds (1 for a scalar).</param>
    /// <returns>The model without that input.</returns>
    public OnnxModel WithConstantInput(string name, params float[] values) =>
        WithConstant(name, values.Length, TensorProto.Types.DataType.Float, t => t.FloatData.Add(values));

    /// <inheritdoc cref="WithConstantInput(string, float[])"/>
    public OnnxModel WithConstantInput(string name, params long[] values) =>
        WithConstant(name, values.Length, TensorProto.Types.DataType.Int64, t => t.Int64Data.Add(values));

    /// <summary>
    /// Maps a float input through x -&gt; scale x + shift before the graph sees it (e.g. pixels in [0, 255] to [-1, 1] with
    /// scale 2/255 and shift -1). The input keeps its name, type and shape.
    /// </summary>
    /// <param name="name">A float input.</param>
    /// <param name="scale">Factor.</param>
    /// <param name="shift">Offset, added after the factor.</param>
    /// <returns>The edited model.</returns>
    public OnnxModel WithAffineInput(string name, float scale, float shift)
    {
        RequireFloat(_proto.Graph.Input, name, "input");
        var proto = _proto.Clone();
        InsertInputPrologue(proto.Graph, name, "_affine", inner => AffineNodes(proto.Graph, name, inner, scale, shift));
        return new OnnxModel(proto);
    }

    /// <summary>
    /// Declares an input with another element type and casts it to the original one before the graph uses it (e.g. a
    /// UInt32 label column into an int64 class input).
    /// </summary>
    /// <param name="name">An input.</param>
    /// <param name="declared">The element type callers feed.</param>
    /// <returns>The edited model.</returns>
    public OnnxModel WithInputType(string name, OnnxElementType declared)
    {
        var input = _proto.Graph.Input.FirstOrDefault(i => i.Name == name)
            ?? throw new ArgumentException($"The graph has no input '{name}'.", nameof(name));
        int original = input.Type?.TensorType?.ElemType ?? throw new ArgumentException($"Input '{name}' is not a tensor.", nameof(name));
        if (original == (int)declared) return this;
        var proto = _proto.Clone();
        proto.Graph.Input.First(i => i.Name == name).Type.TensorType.ElemType = (int)declared;
        InsertInputPrologue(proto.Graph, name, "_cast", inner =>
        [
            new NodeProto
            {
                OpType = "Cast", Name = inner, Input = { name }, Output = { inner },
                Attribute = { new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = original } },
            },
        ]);
        return new OnnxModel(proto);
    }

    /// <summary>Adds a constant to an int64 input before the graph sees it (e.g. -1 for ML.NET keys 1..K as classes 0..K-1).</summary>
    /// <param name="name">An int64 input.</param>
    /// <param name="offset">The constant.</param>
    /// <returns>The edited model.</returns>
    public OnnxModel WithInputOffset(string name, long offset)
    {
        var input = _proto.Graph.Input.FirstOrDefault(i => i.Name == name)
            ?? throw new ArgumentException($"The graph has no input '{name}'.", nameof(name));
        if (input.Type?.TensorType?.ElemType != (int)TensorProto.Types.DataType.Int64)
            throw new ArgumentException($"The input '{name}' is not an int64 tensor.", nameof(name));
        var proto = _proto.Clone();
        string constant = Fresh(proto.Graph, name + "_offset_value");
        proto.Graph.Initializer.Add(new TensorProto { Name = constant, DataType = (int)TensorProto.Types.DataType.Int64, Int64Data = { offset } });
        InsertInputPrologue(proto.Graph, name, "_offset", inner => [new NodeProto { OpType = "Add", Name = inner, Input = { name, constant }, Output = { inner } }]);
        return new OnnxModel(proto);
    }

    /// <summary>Maps a float output through y -&gt; scale y + shift (e.g. [-1, 1] back to pixels in [0, 255]). The output keeps its name.</summary>
    /// <param name="name">A float output.</param>
    /// <param name="scale">Factor.</param>
    /// <param name="shift">Offset, added after the factor.</param>
    /// <returns>The edited model.</returns>
    public OnnxModel WithAffineOutput(string name, float scale, float shift)
    {
        RequireFloat(_proto.Graph.Output, name, "output");
        if (_proto.Graph.Input.Any(i => i.Name == name) || _proto.Graph.Initializer.Any(i => i.Name == name))
            throw new ArgumentException($"Output '{name}' is a graph input or initializer; it has no producing node to follow.", nameof(name));
        var proto = _proto.Clone();
        string inner = Fresh(proto.Graph, name + "_raw");
        foreach (var node in proto.Graph.Node)
        {
            for (int i = 0; i < node.Output.Count; i++)
                if (node.Output[i] == name) node.Output[i] = inner;
            ReplaceUses(node, name, inner);
        }
        proto.Graph.Node.AddRange(AffineNodes(proto.Graph, inner, name, scale, shift));
        return new OnnxModel(proto);
    }

    /// <summary>
    /// Fixes a symbolic dimension (e.g. "height") to a size in every graph input and output that declares it: ML.NET's
    /// OnnxTransformer accepts one unknown dimension per input (the batch).
    /// </summary>
    /// <param name="dimension">The dimension's symbolic name.</param>
    /// <param name="size">Its size (&gt;= 1).</param>
    /// <returns>The edited model.</returns>
    public OnnxModel WithFixedDimension(string dimension, long size)
    {
        ArgumentException.ThrowIfNullOrEmpty(dimension);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var proto = _proto.Clone();
        var dims = proto.Graph.Input.Concat(proto.Graph.Output)
            .SelectMany(v => v.Type?.TensorType?.Shape?.Dim ?? [])
            .Where(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam && d.DimParam == dimension)
            .ToList();
        if (dims.Count == 0) throw new ArgumentException($"No graph input or output has the symbolic dimension '{dimension}'.", nameof(dimension));
        foreach (var dim in dims) dim.DimValue = size;
        return new OnnxModel(proto);
    }

    /// <summary>
    /// Declares the input with one more trailing axis of size 1, squeezed away before the graph uses it: ML.NET's
    /// OnnxTransformer feeds a scalar column as a <c>[1, 1]</c> tensor where a graph expects <c>[batch]</c>.
    /// </summary>
    /// <param name="name">An input.</param>
    /// <returns>The edited model.</returns>
    public OnnxModel WithTrailingUnitAxis(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!InputNames.Contains(name)) throw new ArgumentException($"The graph has no input '{name}'; its inputs are {string.Join(", ", InputNames)}.", nameof(name));
        if (Opset < 13) throw new InvalidOperationException($"Squeeze with an axes input needs opset 13 or later; the model has opset {Opset}.");
        var proto = _proto.Clone();
        var input = proto.Graph.Input.First(i => i.Name == name);
        var shape = input.Type?.TensorType?.Shape ?? throw new ArgumentException($"Input '{name}' declares no shape.", nameof(name));
        int rank = shape.Dim.Count;
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = 1 });
        string axes = Fresh(proto.Graph, name + "_axes");
        proto.Graph.Initializer.Add(new TensorProto { Name = axes, DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { rank } });
        InsertInputPrologue(proto.Graph, name, "_squeezed", inner => [new NodeProto { OpType = "Squeeze", Name = inner, Input = { name, axes }, Output = { inner } }]);
        return new OnnxModel(proto);
    }

    /// <summary>Returns the model with the metadata entries set (added or replaced).</summary>
    /// <param name="entries">Keys and values.</param>
    /// <returns>The edited model.</returns>
    public OnnxModel WithMetadata(IReadOnlyDictionary<string, string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var proto = _proto.Clone();
        foreach (var (key, value) in entries)
        {
            var existing = proto.MetadataProps.FirstOrDefault(e => e.Key == key);
            if (existing is not null) existing.Value = value;
            else proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        return new OnnxModel(proto);
    }

    private OnnxModel WithConstant(string name, int count, TensorProto.Types.DataType type, Action<TensorProto> fill)
    {
        var input = _proto.Graph.Input.FirstOrDefault(i => i.Name == name)
            ?? throw new ArgumentException($"The graph has no input '{name}'; its inputs are {string.Join(", ", InputNames)}.", nameof(name));
        if (input.Type?.TensorType is not { } tensor || tensor.ElemType != (int)type)
            throw new ArgumentException($"Input '{name}' is not a tensor of {type}.", nameof(name));
        var dims = tensor.Shape?.Dim ?? [];
        if (dims.Any(d => d.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue))
            throw new ArgumentException($"Input '{name}' has a symbolic dimension; only fixed-shape inputs can become constants.", nameof(name));
        long size = dims.Aggregate(1L, (a, d) => a * d.DimValue);
        if (size != count) throw new ArgumentException($"Input '{name}' holds {size} values; {count} were given.", nameof(name));
        var proto = _proto.Clone();
        proto.Graph.Input.Remove(proto.Graph.Input.First(i => i.Name == name));
        var constant = new TensorProto { Name = name, DataType = (int)type };
        constant.Dims.Add(dims.Select(d => d.DimValue));
        fill(constant);
        proto.Graph.Initializer.Add(constant);
        return new OnnxModel(proto);
    }

    /// <summary>
    /// Puts nodes between input <paramref name="name"/> and everything that reads it (nodes, subgraphs, a graph output that
    /// passes it straight through): <paramref name="prologue"/> gets a fresh name and returns nodes that read the input
    /// and write that name; they go first, in order.
    /// </summary>
    private static void InsertInputPrologue(GraphProto graph, string name, string hint, Func<string, IEnumerable<NodeProto>> prologue)
    {
        string inner = Fresh(graph, name + hint);
        foreach (var node in graph.Node) ReplaceUses(node, name, inner);
        foreach (var output in graph.Output.Where(o => o.Name == name)) output.Name = inner;
        var nodes = prologue(inner).ToList();
        for (int i = nodes.Count - 1; i >= 0; i--) graph.Node.Insert(0, nodes[i]);
    }

    private static IEnumerable<NodeProto> AffineNodes(GraphProto graph, string input, string output, float scale, float shift)
    {
        string scaled = Fresh(graph, output + "_scaled"), scaleName = Fresh(graph, output + "_scale"), shiftName = Fresh(graph, output + "_shift");
        graph.Initializer.Add(FloatScalar(scaleName, scale));
        graph.Initializer.Add(FloatScalar(shiftName, shift));
        yield return new NodeProto { OpType = "Mul", Name = scaled, Input = { input, scaleName }, Output = { scaled } };
        yield return new NodeProto { OpType = "Add", Name = output, Input = { scaled, shiftName }, Output = { output } };
    }

    private static TensorProto FloatScalar(string name, float value) =>
        new() { Name = name, DataType = (int)TensorProto.Types.DataType.Float, FloatData = { value } };

    private void RequireInputOrOutput(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!InputNames.Contains(name) && !OutputNames.Contains(name))
            throw new ArgumentException($"The graph has no input or output '{name}'; inputs: {string.Join(", ", InputNames)}; outputs: {string.Join(", ", OutputNames)}.", nameof(name));
    }

    private void RequireFloat(IEnumerable<ValueInfoProto> values, string name, string kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var value = values.FirstOrDefault(v => v.Name == name)
            ?? throw new ArgumentException($"The graph has no {kind} '{name}'.", nameof(name));
        if (value.Type?.TensorType?.ElemType != (int)TensorProto.Types.DataType.Float)
            throw new ArgumentException($"The {kind} '{name}' is not a float tensor.", nameof(name));
    }

    /// <summary>Every value name of the graph and its subgraphs.</summary>
    private static HashSet<string> Names(GraphProto graph)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        void Visit(GraphProto g)
        {
            names.UnionWith(g.Input.Select(v => v.Name));
            names.UnionWith(g.Output.Select(v => v.Name));
            names.UnionWith(g.Initializer.Select(t => t.Name));
            foreach (var node in g.Node)
            {
                names.UnionWith(node.Input);
                names.UnionWith(node.Output);
                foreach (var attribute in node.Attribute.Where(a => a.G is not null)) Visit(attribute.G);
            }
        }
        Visit(graph);
        return names;
    }

    private static string Fresh(GraphProto graph, string hint)
    {
        var names = Names(graph);
        string name = hint;
        for (int i = 1; names.Contains(name); i++) name = hint + "_" + i.ToString(CultureInfo.InvariantCulture);
        return name;
    }

    /// <summary>Replaces <paramref name="name"/> by <paramref name="newName"/> among a node's inputs and in its subgraphs (outer-scope references).</summary>
    private static void ReplaceUses(NodeProto node, string name, string newName)
    {
        for (int i = 0; i < node.Input.Count; i++)
            if (node.Input[i] == name) node.Input[i] = newName;
        foreach (var attribute in node.Attribute.Where(a => a.G is not null)) Rename(attribute.G, name, newName);
    }

    /// <summary>Renames a value everywhere in a graph: inputs, outputs, initializers, node inputs and outputs, subgraphs.</summary>
    private static void Rename(GraphProto graph, string name, string newName)
    {
        foreach (var value in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo).Where(v => v.Name == name)) value.Name = newName;
        foreach (var tensor in graph.Initializer.Where(t => t.Name == name)) tensor.Name = newName;
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Output.Count; i++)
                if (node.Output[i] == name) node.Output[i] = newName;
            ReplaceUses(node, name, newName);
        }
    }
}
