using System.Runtime.InteropServices;
using Diffusion.ML.Onnx.Protobuf;
using Google.Protobuf;

namespace Diffusion.ML.Onnx;

/// <summary>
/// Builds one ONNX graph node by node: graph inputs and outputs, initializers from float or int64 arrays, and helpers for
/// the operators Diffusion.ML's networks need. Names are made unique automatically and prefixed with the current
/// <see cref="Scope"/>, so exported graphs read like the module tree. Not thread-safe.
/// </summary>
/// <remarks>
/// Supported opsets are <see cref="MinOpset"/> to <see cref="MaxOpset"/> of the default domain. Helpers adapt to the opset
/// where the operator changed (e.g. <see cref="Split"/>), and <see cref="GroupNorm"/> uses the native
/// <c>GroupNormalization</c> from opset <see cref="NativeGroupNormalizationOpset"/> (per-channel scale and bias, PyTorch's
/// semantics) and an InstanceNormalization decomposition below it.
/// </remarks>
public sealed class OnnxGraphBuilder
{
    /// <summary>The opset used when none is given: 17 (ONNX Runtime 1.14 and later).</summary>
    public const int DefaultOpset = 17;

    /// <summary>The oldest opset the helpers support.</summary>
    public const int MinOpset = 17;

    /// <summary>The newest opset the helpers support.</summary>
    public const int MaxOpset = 21;

    /// <summary>First opset whose <c>GroupNormalization</c> takes per-channel scale and bias (opset 18's is per group).</summary>
    public const int NativeGroupNormalizationOpset = 21;

    /// <summary>First opset with a <c>Gelu</c> operator (with the <c>approximate="tanh"</c> attribute).</summary>
    public const int NativeGeluOpset = 20;

    /// <summary>
    /// Largest total size of the initializers kept inside one .onnx file (protobuf messages are limited to 2 GiB); above it
    /// <see cref="OnnxModel.Save"/> writes them to an external data file beside the model.
    /// </summary>
    public const long MaxInitializerBytes = int.MaxValue - (64L << 20);

    private readonly GraphProto _graph;
    private GraphProto _target; // where nodes go: the main graph, or the body of the Loop being built
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly List<string> _scopes = [];
    private readonly Dictionary<string, OnnxValue> _constants = new(StringComparer.Ordinal);
    private long _initializerBytes;

    /// <summary>Starts an empty graph.</summary>
    /// <param name="opset">Opset of the default ONNX domain, <see cref="MinOpset"/> to <see cref="MaxOpset"/>.</param>
    /// <param name="graphName">Name of the graph.</param>
    /// <exception cref="ArgumentOutOfRangeException">The opset is not supported.</exception>
    public OnnxGraphBuilder(int opset = DefaultOpset, string graphName = "main")
    {
        if (opset is < MinOpset or > MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(opset), opset, $"Supported ONNX opsets are {MinOpset} to {MaxOpset}; got {opset}.");
        Opset = opset;
        _graph = new GraphProto { Name = graphName };
        _target = _graph;
    }

    /// <summary>The opset of the default domain the graph is written for.</summary>
    public int Opset { get; }

    /// <summary>The IR version written with <see cref="Opset"/> (8 for opsets 17-18, 9 for 19-20, 10 for 21).</summary>
    public long IrVersion => Opset switch { <= 18 => 8, <= 20 => 9, _ => 10 };

    /// <summary>Number of nodes added so far.</summary>
    public int NodeCount => _graph.Node.Count;

    /// <summary>Total bytes of the initializers added so far.</summary>
    public long InitializerBytes => _initializerBytes;

    /// <summary>
    /// Prefixes the names of the nodes and initializers created until the returned object is disposed with
    /// <paramref name="name"/> (nested scopes are joined with dots), e.g. <c>encoder.0.norm1.weight</c>.
    /// </summary>
    /// <param name="name">The scope, usually a module's field name or index.</param>
    /// <returns>Dispose it to leave the scope.</returns>
    public IDisposable Scope(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _scopes.Add(name);
        int depth = _scopes.Count;
        return new ScopeExit(this, depth);
    }

    /// <summary>A name not used yet in the graph: the scoped <paramref name="hint"/>, with a numeric suffix if taken.</summary>
    /// <param name="hint">The wanted name, without the scope.</param>
    /// <returns>The reserved name.</returns>
    public string UniqueName(string hint)
    {
        string name = _scopes.Count == 0 ? hint : $"{string.Join('.', _scopes)}.{hint}";
        if (_names.Add(name)) return name;
        for (int i = 1; ; i++)
        {
            string candidate = $"{name}_{i}";
            if (_names.Add(candidate)) return candidate;
        }
    }

    /// <summary>Declares a graph input of exactly <paramref name="name"/> (not scoped).</summary>
    /// <param name="name">Input name, e.g. "x".</param>
    /// <param name="type">Element type.</param>
    /// <param name="shape">Dimensions, fixed or symbolic ("batch").</param>
    /// <returns>The input value.</returns>
    /// <exception cref="ArgumentException">The name is already used.</exception>
    public OnnxValue AddInput(string name, OnnxElementType type, params OnnxDim[] shape)
    {
        Reserve(name);
        _graph.Input.Add(ValueInfo(name, type, shape));
        return new OnnxValue(name);
    }

    /// <summary>
    /// Declares <paramref name="value"/> as a graph output named <paramref name="name"/> (an Identity node renames it if
    /// needed).
    /// </summary>
    /// <param name="value">The value to output.</param>
    /// <param name="name">Output name, e.g. "out".</param>
    /// <param name="type">Element type.</param>
    /// <param name="shape">Dimensions, fixed or symbolic.</param>
    /// <exception cref="ArgumentException">The name is already used by another value.</exception>
    public void AddOutput(OnnxValue value, string name, OnnxElementType type, params OnnxDim[] shape)
    {
        if (value.Name != name)
        {
            Reserve(name);
            AddNode("Identity", [value], [name], []);
        }
        _graph.Output.Add(ValueInfo(name, type, shape));
    }

    /// <summary>Adds a float32 initializer (a constant tensor, typically a weight) stored as raw little-endian bytes.</summary>
    /// <param name="name">Name hint (scoped and made unique).</param>
    /// <param name="values">Values in row-major order; their count must equal the product of <paramref name="dims"/>.</param>
    /// <param name="dims">Shape; empty for a scalar.</param>
    /// <returns>The initializer.</returns>
    /// <exception cref="ArgumentException">The value count does not match the shape.</exception>
    public OnnxValue AddInitializer(string name, ReadOnlySpan<float> values, params long[] dims)
        => AddRawInitializer(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values), values.Length, dims);

    /// <summary>Adds an int64 initializer stored as raw little-endian bytes.</summary>
    /// <param name="name">Name hint (scoped and made unique).</param>
    /// <param name="values">Values in row-major order; their count must equal the product of <paramref name="dims"/>.</param>
    /// <param name="dims">Shape; empty for a scalar.</param>
    /// <returns>The initializer.</returns>
    /// <exception cref="ArgumentException">The value count does not match the shape.</exception>
    public OnnxValue AddInitializer(string name, ReadOnlySpan<long> values, params long[] dims)
        => AddRawInitializer(name, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values), values.Length, dims);

    /// <summary>A 1-D int64 constant (shared between nodes that use the same values), e.g. axes or shapes.</summary>
    /// <param name="values">The values.</param>
    /// <returns>The constant.</returns>
    public OnnxValue Int64s(params long[] values)
        => Shared($"i64[{string.Join(',', values)}]", () => AddUnscopedInitializer("const_i64", values, [values.Length]));

    /// <summary>A scalar int64 constant (shared), e.g. a Gather index that drops the axis.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The constant.</returns>
    public OnnxValue Int64Scalar(long value)
        => Shared($"i64({value})", () => AddUnscopedInitializer("const_i64", [value], []));

    /// <summary>A scalar float32 constant (shared), e.g. an attention scale.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The constant.</returns>
    public OnnxValue FloatScalar(float value)
        => Shared($"f32({BitConverter.SingleToInt32Bits(value)})", () => AddUnscopedFloat("const_f32", [value], []));

    /// <summary>A 1-D float32 constant (shared), e.g. Resize scales.</summary>
    /// <param name="values">The values.</param>
    /// <returns>The constant.</returns>
    public OnnxValue Floats(params float[] values)
        => Shared($"f32[{string.Join(',', values.Select(BitConverter.SingleToInt32Bits))}]", () => AddUnscopedFloat("const_f32", values, [values.Length]));

    /// <summary>Adds a node with one output.</summary>
    /// <param name="opType">Operator, e.g. "Conv".</param>
    /// <param name="inputs">Inputs in the operator's order; null marks an omitted optional input.</param>
    /// <param name="attributes">Attributes.</param>
    /// <returns>The node's output.</returns>
    public OnnxValue Node(string opType, IReadOnlyList<OnnxValue?> inputs, params OnnxAttribute[] attributes)
        => Node(opType, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs.</summary>
    /// <param name="opType">Operator, e.g. "Split".</param>
    /// <param name="inputs">Inputs in the operator's order; null marks an omitted optional input.</param>
    /// <param name="outputCount">Number of outputs.</param>
    /// <param name="attributes">Attributes.</param>
    /// <returns>The node's outputs.</returns>
    public IReadOnlyList<OnnxValue> Node(string opType, IReadOnlyList<OnnxValue?> inputs, int outputCount, params OnnxAttribute[] attributes)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputCount);
        string baseName = UniqueName(opType);
        var outputs = new string[outputCount];
        outputs[0] = baseName;
        for (int i = 1; i < outputCount; i++) outputs[i] = UniqueName($"{opType}:{i}");
        AddNode(opType, inputs, outputs, attributes, baseName);
        return outputs.Select(o => new OnnxValue(o)).ToArray();
    }

    // ---- control flow ------------------------------------------------------------------------------------------------

    /// <summary>A loop-carried value of <see cref="Loop"/>: its value before the first iteration, element type and shape.</summary>
    public readonly record struct LoopState(OnnxValue Initial, OnnxElementType Type, OnnxDim[] Shape);

    /// <summary>
    /// ONNX <c>Loop</c> run <paramref name="tripCount"/> times (int64 scalar) over loop-carried values: <paramref name="body"/>
    /// receives the iteration number (int64 scalar) and the current values and returns the next ones, built with this
    /// builder (its nodes go into the loop body; weights and constants stay in the main graph, which the body may read).
    /// </summary>
    /// <param name="tripCount">int64 scalar: the number of iterations.</param>
    /// <param name="states">The loop-carried values.</param>
    /// <param name="body">(iteration, current values) -&gt; next values, one per state, of the same types and shapes.</param>
    /// <returns>The values after the last iteration.</returns>
    public IReadOnlyList<OnnxValue> Loop(OnnxValue tripCount, IReadOnlyList<LoopState> states, Func<OnnxValue, IReadOnlyList<OnnxValue>, IReadOnlyList<OnnxValue>> body)
    {
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(body);
        if (_target != _graph) throw new InvalidOperationException("Nested loops are not supported.");
        var graph = new GraphProto { Name = UniqueName("loop_body") };
        string iteration = UniqueName("loop_iteration"), conditionIn = UniqueName("loop_condition");
        graph.Input.Add(ValueInfo(iteration, OnnxElementType.Int64, []));
        graph.Input.Add(ValueInfo(conditionIn, OnnxElementType.Bool, []));
        var current = states.Select(s =>
        {
            string name = UniqueName("loop_state");
            graph.Input.Add(ValueInfo(name, s.Type, s.Shape));
            return new OnnxValue(name);
        }).ToArray();
        _target = graph;
        try
        {
            var next = body(new OnnxValue(iteration), current);
            if (next.Count != states.Count)
                throw new ArgumentException($"The loop body returned {next.Count} values for {states.Count} loop-carried states.", nameof(body));
            graph.Output.Add(ValueInfo(Identity(new OnnxValue(conditionIn)).Name, OnnxElementType.Bool, []));
            for (int i = 0; i < next.Count; i++)
                graph.Output.Add(ValueInfo(Identity(next[i]).Name, states[i].Type, states[i].Shape)); // a fresh name per output
        }
        finally
        {
            _target = _graph;
        }
        var always = Shared("bool(true)", () => Unscoped(() => AddRawInitializer("const_true", TensorProto.Types.DataType.Bool, [1], 1, [])));
        return Node("Loop", [tripCount, always, .. states.Select(s => (OnnxValue?)s.Initial)], states.Count, OnnxAttribute.Graph("body", graph));
    }

    // ---- element-wise --------------------------------------------------------------------------------------------

    /// <summary><c>a + b</c> with NumPy broadcasting.</summary>
    public OnnxValue Add(OnnxValue a, OnnxValue b) => Node("Add", [a, b]);

    /// <summary><c>a - b</c> with NumPy broadcasting.</summary>
    public OnnxValue Sub(OnnxValue a, OnnxValue b) => Node("Sub", [a, b]);

    /// <summary><c>a * b</c> with NumPy broadcasting.</summary>
    public OnnxValue Mul(OnnxValue a, OnnxValue b) => Node("Mul", [a, b]);

    /// <summary><c>a / b</c> with NumPy broadcasting.</summary>
    public OnnxValue Div(OnnxValue a, OnnxValue b) => Node("Div", [a, b]);

    /// <summary>Logistic sigmoid.</summary>
    public OnnxValue Sigmoid(OnnxValue x) => Node("Sigmoid", [x]);

    /// <summary>SiLU (swish): <c>x * Sigmoid(x)</c>.</summary>
    public OnnxValue Silu(OnnxValue x)
    {
        using var _ = Scope("silu");
        return Mul(x, Sigmoid(x));
    }

    /// <summary>Element-wise hyperbolic tangent.</summary>
    public OnnxValue Tanh(OnnxValue x) => Node("Tanh", [x]);

    /// <summary>
    /// GELU in the tanh approximation, PyTorch's <c>gelu(approximate="tanh")</c>:
    /// <c>0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))</c> (Hendrycks and Gimpel 2016, Sec. 2). From opset
    /// <see cref="NativeGeluOpset"/> one <c>Gelu</c> node, below it written with Mul, Add and Tanh.
    /// </summary>
    /// <param name="x">Input.</param>
    public OnnxValue GeluTanh(OnnxValue x)
    {
        if (Opset >= NativeGeluOpset) return Node("Gelu", [x], OnnxAttribute.String("approximate", "tanh"));
        using var _ = Scope("gelu");
        var cubic = Mul(Mul(Mul(x, x), x), FloatScalar(0.044715f));
        var inner = Mul(Add(x, cubic), FloatScalar((float)Math.Sqrt(2.0 / Math.PI)));
        return Mul(Mul(x, FloatScalar(0.5f)), Add(Tanh(inner), FloatScalar(1f)));
    }

    /// <summary>Element-wise sine.</summary>
    public OnnxValue Sin(OnnxValue x) => Node("Sin", [x]);

    /// <summary>Element-wise cosine.</summary>
    public OnnxValue Cos(OnnxValue x) => Node("Cos", [x]);

    /// <summary>Element-wise type conversion.</summary>
    /// <param name="x">Input.</param>
    /// <param name="to">Target type.</param>
    public OnnxValue Cast(OnnxValue x, OnnxElementType to) => Node("Cast", [x], OnnxAttribute.Int("to", (long)to));

    /// <summary>Passes its input through.</summary>
    public OnnxValue Identity(OnnxValue x) => Node("Identity", [x]);

    // ---- linear algebra ------------------------------------------------------------------------------------------

    /// <summary>NumPy-style matrix product (batched over leading dimensions).</summary>
    public OnnxValue MatMul(OnnxValue a, OnnxValue b) => Node("MatMul", [a, b]);

    /// <summary><c>alpha * A' B' + beta * C</c> on 2-D inputs (A' = A or its transpose, likewise B').</summary>
    /// <param name="a">Left matrix.</param>
    /// <param name="b">Right matrix.</param>
    /// <param name="c">Optional bias, broadcast to the result.</param>
    /// <param name="transA">Transpose <paramref name="a"/>.</param>
    /// <param name="transB">Transpose <paramref name="b"/> (true for PyTorch's Linear weight [out, in]).</param>
    public OnnxValue Gemm(OnnxValue a, OnnxValue b, OnnxValue? c = null, bool transA = false, bool transB = false)
    {
        var attributes = new List<OnnxAttribute>();
        if (transA) attributes.Add(OnnxAttribute.Int("transA", 1));
        if (transB) attributes.Add(OnnxAttribute.Int("transB", 1));
        return Node("Gemm", c is null ? [a, b] : [a, b, c], [.. attributes]);
    }

    /// <summary>2-D (or N-D) convolution with explicit zero padding.</summary>
    /// <param name="x">Input [N, C, ...spatial].</param>
    /// <param name="weight">Kernel [M, C/group, ...kernel].</param>
    /// <param name="bias">Optional bias [M].</param>
    /// <param name="kernelShape">Kernel size per spatial axis.</param>
    /// <param name="strides">Stride per spatial axis.</param>
    /// <param name="pads">Padding: all the begins, then all the ends (ONNX order), e.g. [top, left, bottom, right].</param>
    /// <param name="dilations">Dilation per spatial axis.</param>
    /// <param name="group">Number of groups.</param>
    public OnnxValue Conv(OnnxValue x, OnnxValue weight, OnnxValue? bias, long[] kernelShape, long[] strides, long[] pads, long[] dilations, long group = 1)
        => Node("Conv", bias is null ? [x, weight] : [x, weight, bias],
            OnnxAttribute.Ints("kernel_shape", kernelShape), OnnxAttribute.Ints("strides", strides),
            OnnxAttribute.Ints("pads", pads), OnnxAttribute.Ints("dilations", dilations), OnnxAttribute.Int("group", group));

    // ---- shapes --------------------------------------------------------------------------------------------------

    /// <summary>The shape of <paramref name="x"/> as a 1-D int64 tensor.</summary>
    public OnnxValue Shape(OnnxValue x) => Node("Shape", [x]);

    /// <summary>Reshapes to <paramref name="shape"/> (0 copies the input's dimension, -1 is inferred).</summary>
    /// <param name="x">Input.</param>
    /// <param name="shape">Target shape.</param>
    public OnnxValue Reshape(OnnxValue x, params long[] shape) => Node("Reshape", [x, Int64s(shape)]);

    /// <summary>Reshapes to a shape computed in the graph (a 1-D int64 tensor, e.g. from <see cref="Shape"/>).</summary>
    /// <param name="x">Input.</param>
    /// <param name="shape">Target shape tensor.</param>
    public OnnxValue Reshape(OnnxValue x, OnnxValue shape) => Node("Reshape", [x, shape]);

    /// <summary>Permutes the axes.</summary>
    /// <param name="x">Input.</param>
    /// <param name="perm">Output axis i is input axis perm[i].</param>
    public OnnxValue Transpose(OnnxValue x, params long[] perm) => Node("Transpose", [x], OnnxAttribute.Ints("perm", perm));

    /// <summary>Inserts size-1 axes.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axes">Positions of the new axes in the output.</param>
    public OnnxValue Unsqueeze(OnnxValue x, params long[] axes) => Node("Unsqueeze", [x, Int64s(axes)]);

    /// <summary>Removes size-1 axes.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axes">Axes to remove.</param>
    public OnnxValue Squeeze(OnnxValue x, params long[] axes) => Node("Squeeze", [x, Int64s(axes)]);

    /// <summary>Concatenates along <paramref name="axis"/>.</summary>
    /// <param name="axis">The axis.</param>
    /// <param name="inputs">Two or more tensors.</param>
    public OnnxValue Concat(long axis, params OnnxValue[] inputs)
        => Node("Concat", inputs.Select(v => (OnnxValue?)v).ToArray(), OnnxAttribute.Int("axis", axis));

    /// <summary>Takes entries of <paramref name="data"/> along <paramref name="axis"/> (an embedding lookup on axis 0).</summary>
    /// <param name="data">The table.</param>
    /// <param name="indices">int64 indices; a scalar index drops the axis.</param>
    /// <param name="axis">The axis.</param>
    public OnnxValue Gather(OnnxValue data, OnnxValue indices, long axis = 0)
        => Node("Gather", [data, indices], OnnxAttribute.Int("axis", axis));

    /// <summary>Slices <c>[starts, ends)</c> along <paramref name="axes"/> with step 1.</summary>
    /// <param name="x">Input.</param>
    /// <param name="starts">Start per axis.</param>
    /// <param name="ends">End per axis (exclusive; long.MaxValue for "to the end").</param>
    /// <param name="axes">The axes.</param>
    public OnnxValue Slice(OnnxValue x, long[] starts, long[] ends, long[] axes)
        => Node("Slice", [x, Int64s(starts), Int64s(ends), Int64s(axes)]);

    /// <summary>Splits <paramref name="x"/> into <paramref name="count"/> equal parts along <paramref name="axis"/>.</summary>
    /// <param name="x">Input; its size along the axis must be divisible by <paramref name="count"/>.</param>
    /// <param name="axis">The axis.</param>
    /// <param name="count">Number of parts.</param>
    public IReadOnlyList<OnnxValue> Split(OnnxValue x, long axis, int count)
        => Opset >= 18
            ? Node("Split", [x], count, OnnxAttribute.Int("axis", axis), OnnxAttribute.Int("num_outputs", count))
            : Node("Split", [x], count, OnnxAttribute.Int("axis", axis));

    // ---- normalisation, attention, resampling --------------------------------------------------------------------

    /// <summary>Softmax along one axis.</summary>
    /// <param name="x">Input.</param>
    /// <param name="axis">The axis (default the last).</param>
    public OnnxValue Softmax(OnnxValue x, long axis = -1) => Node("Softmax", [x], OnnxAttribute.Int("axis", axis));

    /// <summary>
    /// Scaled dot-product attention per head, <c>softmax(Q K^T / sqrt(d)) V</c> (Vaswani et al. 2017, eq. 1), on
    /// <c>[batch, heads, tokens, d]</c> queries, keys and values.
    /// </summary>
    /// <param name="q">Queries <c>[B, heads, T, d]</c>.</param>
    /// <param name="k">Keys <c>[B, heads, T, d]</c>.</param>
    /// <param name="v">Values <c>[B, heads, T, d]</c>.</param>
    /// <param name="headDim">d, for the scale <c>1 / sqrt(d)</c>.</param>
    /// <returns><c>[B, heads, T, d]</c>.</returns>
    public OnnxValue ScaledDotProductAttention(OnnxValue q, OnnxValue k, OnnxValue v, long headDim)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        var scores = Mul(MatMul(q, Transpose(k, 0, 1, 3, 2)), FloatScalar((float)(1.0 / Math.Sqrt(headDim))));
        return MatMul(Softmax(scores, -1), v);
    }

    /// <summary>
    /// Layer normalisation (opset 17 <c>LayerNormalization</c>, PyTorch's <c>LayerNorm</c>; Ba et al. 2016): normalise over
    /// the axes from <paramref name="axis"/> on, then <c>scale * y + bias</c>.
    /// </summary>
    /// <param name="x">Input.</param>
    /// <param name="scale">Scale shaped like the normalised axes (ones for a LayerNorm without affine parameters).</param>
    /// <param name="bias">Optional bias shaped like <paramref name="scale"/>.</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="axis">First normalised axis (default the last).</param>
    public OnnxValue LayerNormalization(OnnxValue x, OnnxValue scale, OnnxValue? bias, float epsilon, long axis = -1)
        => Node("LayerNormalization", bias is null ? [x, scale] : [x, scale, bias],
            OnnxAttribute.Float("epsilon", epsilon), OnnxAttribute.Int("axis", axis));

    /// <summary>Instance normalisation: per (sample, channel), over the remaining axes, then <c>scale * y + bias</c>.</summary>
    /// <param name="x">Input [N, C, ...].</param>
    /// <param name="scale">Scale [C].</param>
    /// <param name="bias">Bias [C].</param>
    /// <param name="epsilon">Added to the variance.</param>
    public OnnxValue InstanceNormalization(OnnxValue x, OnnxValue scale, OnnxValue bias, float epsilon)
        => Node("InstanceNormalization", [x, scale, bias], OnnxAttribute.Float("epsilon", epsilon));

    /// <summary>
    /// PyTorch's <c>GroupNorm</c>: normalise each group of <c>C / groups</c> channels per sample, then scale and shift
    /// per channel. From opset <see cref="NativeGroupNormalizationOpset"/> this is one <c>GroupNormalization</c> node;
    /// below it <c>Reshape [N, G, -1] -&gt; InstanceNormalization -&gt; Reshape back -&gt; Mul -&gt; Add</c>.
    /// </summary>
    /// <param name="x">Input [N, C, ...spatial].</param>
    /// <param name="weight">Per-channel scale, C values.</param>
    /// <param name="bias">Per-channel shift, C values.</param>
    /// <param name="groups">Number of groups; C must be divisible by it.</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="spatialRank">Number of spatial axes of <paramref name="x"/> (2 for images).</param>
    /// <returns>The normalised tensor, shaped like <paramref name="x"/>.</returns>
    public OnnxValue GroupNorm(OnnxValue x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int groups, float epsilon, int spatialRank = 2)
    {
        int channels = weight.Length;
        if (bias.Length != channels) throw new ArgumentException($"GroupNorm weight has {channels} values but bias has {bias.Length}.", nameof(bias));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groups);
        if (channels % groups != 0) throw new ArgumentException($"GroupNorm channels ({channels}) are not divisible by the groups ({groups}).", nameof(groups));
        if (Opset >= NativeGroupNormalizationOpset)
        {
            return Node("GroupNormalization", [x, AddInitializer("weight", weight, channels), AddInitializer("bias", bias, channels)],
                OnnxAttribute.Float("epsilon", epsilon), OnnxAttribute.Int("num_groups", groups));
        }
        var perChannel = new long[1 + spatialRank];
        Array.Fill(perChannel, 1L);
        perChannel[0] = channels;
        var grouped = Reshape(x, 0, groups, -1);
        var ones = Enumerable.Repeat(1f, groups).ToArray();
        var normalised = InstanceNormalization(grouped, Floats(ones), Floats(new float[groups]), epsilon);
        var restored = Reshape(normalised, Shape(x));
        var scaled = Mul(restored, AddInitializer("weight", weight, perChannel));
        return Add(scaled, AddInitializer("bias", bias, perChannel));
    }

    /// <summary>Nearest-neighbour resize by integer <paramref name="scales"/>, matching PyTorch's <c>interpolate(mode="nearest")</c>
    /// (source index = floor(destination / scale)).</summary>
    /// <param name="x">Input.</param>
    /// <param name="scales">One scale per axis of <paramref name="x"/>, e.g. [1, 1, 2, 2].</param>
    public OnnxValue ResizeNearest(OnnxValue x, params float[] scales)
        => Node("Resize", [x, null, Floats(scales)],
            OnnxAttribute.String("mode", "nearest"),
            OnnxAttribute.String("coordinate_transformation_mode", "asymmetric"),
            OnnxAttribute.String("nearest_mode", "floor"));

    /// <summary>Finishes the graph into a model with optional metadata properties.</summary>
    /// <param name="metadata">Key/value pairs stored in <c>ModelProto.metadata_props</c>; null for none.</param>
    /// <param name="docString">Free text stored in <c>ModelProto.doc_string</c>; null for none.</param>
    /// <returns>The model (a snapshot: later changes to the builder do not affect it).</returns>
    /// <exception cref="InvalidOperationException">The graph has no outputs.</exception>
    public OnnxModel Build(IReadOnlyDictionary<string, string>? metadata = null, string? docString = null)
    {
        if (_graph.Output.Count == 0) throw new InvalidOperationException("The graph has no outputs; call AddOutput first.");
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = OnnxModel.Producer,
            ProducerVersion = OnnxModel.ProducerVersionString,
            Graph = _graph.Clone(),
        };
        if (docString is not null) model.DocString = docString;
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        if (metadata is not null)
            foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return new OnnxModel(model);
    }

    private OnnxValue Shared(string key, Func<OnnxValue> create)
    {
        if (!_constants.TryGetValue(key, out var value)) _constants[key] = value = create();
        return value;
    }

    private OnnxValue AddUnscopedInitializer(string hint, long[] values, long[] dims)
        => Unscoped(() => AddInitializer(hint, values, dims));

    private OnnxValue AddUnscopedFloat(string hint, float[] values, long[] dims)
        => Unscoped(() => AddInitializer(hint, values, dims));

    private OnnxValue Unscoped(Func<OnnxValue> create)
    {
        var saved = _scopes.ToArray();
        _scopes.Clear();
        try
        {
            return create();
        }
        finally
        {
            _scopes.AddRange(saved);
        }
    }

    private OnnxValue AddRawInitializer(string hint, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, int count, long[] dims)
    {
        long expected = 1;
        foreach (long d in dims)
        {
            if (d < 0) throw new ArgumentException($"Initializer '{hint}' has a negative dimension: [{string.Join(", ", dims)}].", nameof(dims));
            expected *= d;
        }
        if (expected != count)
            throw new ArgumentException($"Initializer '{hint}' has {count} values; its shape [{string.Join(", ", dims)}] needs {expected}.", nameof(dims));
        string name = UniqueName(hint);
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        _initializerBytes += bytes.Length;
        return new OnnxValue(name);
    }

    private void AddNode(string opType, IReadOnlyList<OnnxValue?> inputs, string[] outputs, OnnxAttribute[] attributes, string? name = null)
    {
        var node = new NodeProto { OpType = opType, Name = name ?? UniqueName($"{opType}_node") };
        // Omitted optional inputs are written as "" (allowed anywhere); trailing ones are simply left out.
        int last = inputs.Count - 1;
        while (last >= 0 && inputs[last] is null) last--;
        for (int i = 0; i <= last; i++) node.Input.Add(inputs[i]?.Name ?? "");
        node.Output.AddRange(outputs);
        foreach (var attribute in attributes) node.Attribute.Add(attribute.Proto.Clone());
        _target.Node.Add(node);
    }

    private void Reserve(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_names.Add(name)) throw new ArgumentException($"The name '{name}' is already used in the graph.", nameof(name));
    }

    private static ValueInfoProto ValueInfo(string name, OnnxElementType type, OnnxDim[] shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (var dim in shape)
            tensorShape.Dim.Add(dim.Symbol is { } symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = dim.Size!.Value });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } },
        };
    }

    private sealed class ScopeExit(OnnxGraphBuilder owner, int depth) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            if (owner._scopes.Count != depth)
                throw new InvalidOperationException("ONNX builder scopes must be left in the reverse order they were entered.");
            owner._scopes.RemoveAt(depth - 1);
        }
    }
}
