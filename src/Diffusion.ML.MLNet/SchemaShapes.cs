using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Schema propagation for estimators whose transformer exists only after training. <see cref="SchemaShape.Column"/> has
/// no public constructor, so the added column is described through a <c>CustomMapping</c> estimator's output schema
/// definition; that estimator is only asked for its schema, never fitted.
/// </summary>
internal static class SchemaShapes
{
    private sealed class NoInput;

    private sealed class AddedVector
    {
        public float[] Value { get; set; } = [];
    }

    private sealed class AddedInt64
    {
        public long Value { get; set; }
    }

    /// <summary>
    /// The input shape plus a float vector column <paramref name="outputColumn"/> of <paramref name="size"/> values
    /// (-1: not known until Fit), after checking that <paramref name="requiredColumns"/> are present.
    /// </summary>
    public static SchemaShape WithFloatVector(MLContext mlContext, SchemaShape inputSchema, string outputColumn, int size, params string[] requiredColumns)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        foreach (string required in requiredColumns)
            if (!inputSchema.Any(c => c.Name == required))
                throw new ArgumentException($"The input has no column '{required}'; its columns are {string.Join(", ", inputSchema.Select(c => $"'{c.Name}'"))}.");
        var definition = SchemaDefinition.Create(typeof(AddedVector));
        definition[0].ColumnName = outputColumn;
        definition[0].ColumnType = size > 0 ? new VectorDataViewType(NumberDataViewType.Single, size) : new VectorDataViewType(NumberDataViewType.Single);
        return mlContext.Transforms.CustomMapping<NoInput, AddedVector>((_, _) => { }, contractName: null, outputSchemaDefinition: definition)
            .GetOutputSchema(inputSchema);
    }

    /// <summary>The input shape plus an Int64 column.</summary>
    public static SchemaShape WithInt64(MLContext mlContext, SchemaShape inputSchema, string outputColumn)
    {
        var definition = SchemaDefinition.Create(typeof(AddedInt64));
        definition[0].ColumnName = outputColumn;
        return mlContext.Transforms.CustomMapping<NoInput, AddedInt64>((_, _) => { }, contractName: null, outputSchemaDefinition: definition)
            .GetOutputSchema(inputSchema);
    }
}
