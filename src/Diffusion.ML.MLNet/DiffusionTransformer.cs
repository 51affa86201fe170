using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Base of the transformers our estimators return. Each is made of ML.NET's own transformers (an <c>OnnxTransformer</c>
/// over the exported network, with type conversions around it), so a pipeline containing it saves with
/// <c>mlContext.Model.Save</c> like any other: an external assembly cannot write its own model format, since ML.NET's
/// <see cref="ModelSaveContext"/> has no public members (docs/mlnet.md). After <c>mlContext.Model.Load</c> the same
/// parts come back as those ML.NET transformers and give identical outputs; the typed properties (shapes, scales) are
/// available on the transformer that <c>Fit</c> returned.
/// </summary>
public abstract class DiffusionTransformer : ITransformer
{
    private protected DiffusionTransformer(ITransformer inner) => Inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>The ML.NET transformer (or chain) this one is made of, and saves as.</summary>
    private protected ITransformer Inner { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => Inner.IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return Inner.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return Inner.GetRowToRowMapper(inputSchema);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input.Schema);
        return Inner.Transform(input);
    }

    /// <summary>Saves the ML.NET transformers this one is made of.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => Inner.Save(ctx);

    /// <summary>Throws a clear <see cref="ArgumentException"/> when the input lacks a column or has the wrong type or size.</summary>
    private protected abstract void CheckInput(DataViewSchema inputSchema);
}
