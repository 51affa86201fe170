using Diffusion.ML.Onnx;
using Microsoft.ML;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Turns an exported graph into an ML.NET <c>OnnxTransformer</c>: the graph's input and output names become column
/// names, symbolic image dimensions become fixed (OnnxTransformer allows one unknown dimension, the batch), and the
/// ONNX bytes travel inside the transformer, so <c>mlContext.Model.Save</c> stores them in the model zip.
/// </summary>
internal static class OnnxGraphs
{
    /// <summary>Fixes every symbolic dimension of <paramref name="input"/> after the batch to the sizes of <paramref name="shape"/>.</summary>
    public static OnnxModel FixSampleDimensions(OnnxModel model, string input, IReadOnlyList<int> shape)
    {
        var dims = model.InputShape(input);
        if (dims.Count != shape.Count + 1)
            throw new InvalidOperationException($"Graph input '{input}' has rank {dims.Count}; a batch axis and [{string.Join(", ", shape)}] were expected.");
        for (int i = 1; i < dims.Count; i++)
            if (!long.TryParse(dims[i], out _)) model = model.WithFixedDimension(dims[i], shape[i - 1]);
        return model;
    }

    /// <summary>Renames graph values to column names: pairs of (graph name, column name).</summary>
    public static OnnxModel Bind(OnnxModel model, params (string Graph, string Column)[] names)
    {
        var columns = names.Select(n => n.Column).ToArray();
        if (columns.Distinct(StringComparer.Ordinal).Count() != columns.Length)
            throw new ArgumentException($"The component's input and output columns must differ; got {string.Join(", ", columns.Select(c => $"'{c}'"))}.");
        // Two passes through temporary names, so a column may take a name another graph value had.
        var temporary = names.Select((n, i) => (n.Graph, Temp: $"__dml_column_{i}", n.Column)).ToArray();
        foreach (var (graph, temp, _) in temporary) model = model.WithRenamedValue(graph, temp);
        foreach (var (_, temp, column) in temporary) model = model.WithRenamedValue(temp, column);
        return model;
    }

    /// <summary>An OnnxTransformer over <paramref name="model"/> reading its inputs from, and writing its outputs to, the columns of the same names.</summary>
    public static ITransformer Apply(MLContext mlContext, OnnxModel model, IDataView input, string[] outputColumns) =>
        Estimator(mlContext, model, outputColumns).Fit(input);

    /// <summary>
    /// The estimator of <see cref="Apply"/>, for pipelines fitted later. The device is the MLContext's
    /// (<c>GpuDeviceId</c>, <c>FallbackToCpu</c>), which ML.NET applies when no device is passed here.
    /// </summary>
    public static IEstimator<ITransformer> Estimator(MLContext mlContext, OnnxModel model, string[] outputColumns)
    {
        var bytes = new MemoryStream(model.ToByteArray());
        return mlContext.Transforms.ApplyOnnxModel(outputColumns, model.InputNames.ToArray(), bytes);
    }
}
