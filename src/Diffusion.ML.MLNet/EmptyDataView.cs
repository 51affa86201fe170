using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet;

/// <summary>
/// A data view with a schema and no rows: ML.NET's estimators are fitted on a schema only (type conversions, ONNX
/// scoring), and a transformer is built before the data it will see exists (e.g. a denoiser for noisy rows, after
/// training on clean ones).
/// </summary>
internal sealed class EmptyDataView(DataViewSchema schema) : IDataView
{
    public static EmptyDataView Of(params (string Name, DataViewType Type)[] columns)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var (name, type) in columns) builder.AddColumn(name, type);
        return new EmptyDataView(builder.ToSchema());
    }

    public bool CanShuffle => true;

    public DataViewSchema Schema { get; } = schema;

    public long? GetRowCount() => 0;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(Schema);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(Schema)];

    private sealed class Cursor(DataViewSchema schema) : DataViewRowCursor
    {
        public override DataViewSchema Schema { get; } = schema;

        public override long Position => -1;

        public override long Batch => 0;

        public override bool MoveNext() => false;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            throw new InvalidOperationException("An empty data view has no rows to read.");

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            throw new InvalidOperationException("An empty data view has no rows to read.");
    }
}
