using Microsoft.ML;

namespace Diffusion.ML.MLNet;

/// <summary>An estimator whose ML.NET estimator depends on the input schema (e.g. the noise graph's dimension); it trains nothing.</summary>
internal sealed class SchemaBoundEstimator(Func<DataViewSchema, IEstimator<ITransformer>> create, Func<SchemaShape, SchemaShape> outputSchema)
    : IEstimator<ITransformer>
{
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return create(input.Schema).Fit(input);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => outputSchema(inputSchema);
}
