using Diffusion.ML.Sampling;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet;

/// <summary>
/// N sample requests, computed as the cursor advances (memory does not grow with N): "Index" (Int64), "Seed" (Int64),
/// for a class-conditional model "Label" (Int64 class, cycling through the requested classes), and "Noise" (the starting
/// noise x_T of sample i: a function of (seed, i) alone, the same stream the library's samplers and <c>generate</c> jobs
/// draw, so the sampler's output for a row never depends on N, the batch or the other rows).
/// </summary>
internal sealed class SampleRequestDataView : IDataView
{
    private readonly long _count, _seed;
    private readonly int[]? _classes;
    private readonly int _size;

    public SampleRequestDataView(long count, long seed, int[]? classes, int noiseSize, string noiseColumnName, string labelColumnName)
    {
        if (count < 1) throw new ArgumentException($"Ask for at least one sample; got {count}.", nameof(count));
        if (noiseSize < 1) throw new ArgumentException($"The noise size must be positive; got {noiseSize}.", nameof(noiseSize));
        if (classes is { Length: 0 }) throw new ArgumentException("Give at least one class, or null for an unconditional model.", nameof(classes));
        if (classes is not null && classes.Any(c => c < 0)) throw new ArgumentException("Classes are 0-based and non-negative.", nameof(classes));
        _count = count;
        _seed = seed;
        _classes = classes;
        _size = noiseSize;
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Index", NumberDataViewType.Int64);
        builder.AddColumn("Seed", NumberDataViewType.Int64);
        if (classes is not null) builder.AddColumn(labelColumnName, NumberDataViewType.Int64);
        builder.AddColumn(noiseColumnName, new VectorDataViewType(NumberDataViewType.Single, noiseSize));
        Schema = builder.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(SampleRequestDataView parent, IEnumerable<DataViewSchema.Column> active) : DataViewRowCursor
    {
        private readonly HashSet<int> _active = active.Select(c => c.Index).ToHashSet();
        private long _position = -1;

        public override DataViewSchema Schema => parent.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext() => ++_position < parent._count;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column)) throw new InvalidOperationException($"Column '{column.Name}' was not requested from the cursor.");
            Delegate getter = column.Name switch
            {
                "Index" => (ValueGetter<long>)((ref long v) => v = _position),
                "Seed" => (ValueGetter<long>)((ref long v) => v = parent._seed),
                _ when column.Type is VectorDataViewType => (ValueGetter<VBuffer<float>>)Noise,
                _ => (ValueGetter<long>)((ref long v) => v = parent._classes![(int)(_position % parent._classes.Length)]),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }

        private void Noise(ref VBuffer<float> value)
        {
            var editor = VBufferEditor.Create(ref value, parent._size);
            new SampleNoise(parent._seed, _position).FillStandardNormal(editor.Values);
            value = editor.Commit();
        }
    }
}
