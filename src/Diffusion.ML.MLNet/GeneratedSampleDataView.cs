using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet;

/// <summary>
/// N generated samples as rows, computed batch by batch as a cursor reads them: the index, the seed, the class (for a
/// class-conditional model) and the sample, which the library's <see cref="DiffusionPipeline"/> computes with any sampler
/// from the sample's own noise stream (seed, global index), exactly as the <c>generate</c> job does, so a row never depends
/// on N, the batch size or the other rows. A cursor opens the denoiser only when it first reads a sample, holds one batch
/// of samples at a time, and releases the denoiser (e.g. an ONNX Runtime session) when it is disposed.
/// </summary>
internal sealed class GeneratedSampleDataView : IDataView
{
    private enum Role { Index, Seed, Label, Sample }

    private readonly Func<IDenoiser> _open;
    private readonly bool _ownsDenoiser;
    private readonly NoiseSchedule _schedule;
    private readonly ISampler _sampler;
    private readonly GenerationOptions _template;
    private readonly long _count, _firstIndex, _seed;
    private readonly int _batchSize, _sampleSize;
    private readonly int[]? _classes;
    private readonly PixelRange? _outputRange;
    private readonly Role[] _roles;

    /// <summary>Creates the view; the options must have been validated against the model.</summary>
    /// <param name="open">Gives the denoiser for one cursor.</param>
    /// <param name="ownsDenoiser">Whether a cursor disposes the denoiser <paramref name="open"/> gave it.</param>
    /// <param name="sampleShape">The model's sample shape.</param>
    /// <param name="classCount">The model's classes (0: unconditional).</param>
    /// <param name="schedule">The training noise schedule.</param>
    /// <param name="options">The validated options (copied).</param>
    /// <param name="outputRange">Range the model's [-1, 1] is mapped onto; null writes the model's values.</param>
    /// <param name="clipSample">Whether the sampler clips x0 to [-1, 1] (pixels yes, latents no: <see cref="GenerationViewOptions.ClipSample"/>).</param>
    public GeneratedSampleDataView(Func<IDenoiser> open, bool ownsDenoiser, IReadOnlyList<int> sampleShape, int classCount, NoiseSchedule schedule,
        GenerationViewOptions options, PixelRange? outputRange, bool clipSample)
    {
        _open = open;
        _ownsDenoiser = ownsDenoiser;
        _schedule = schedule;
        _sampler = Samplers.Create(options.Sampler, options.SamplerSettings);
        _count = options.Count;
        _firstIndex = options.FirstIndex;
        _seed = options.Seed;
        _batchSize = (int)Math.Min(options.BatchSize, options.Count);
        _sampleSize = sampleShape.Aggregate(1, (a, b) => a * b);
        _classes = classCount == 0 ? null : (options.Classes ?? Enumerable.Range(0, classCount).ToArray()).ToArray();
        _outputRange = outputRange;
        _template = new GenerationOptions
        {
            Seed = options.Seed, NumInferenceSteps = options.Steps, ClassLabels = _classes, GuidanceScale = options.GuidanceScale,
            ClipSample = clipSample,
        };

        var builder = new DataViewSchema.Builder();
        var roles = new List<Role>();
        void Add(string name, DataViewType type, Role role)
        {
            builder.AddColumn(name, type);
            roles.Add(role);
        }
        Add(options.IndexColumnName, NumberDataViewType.Int64, Role.Index);
        Add(options.SeedColumnName, NumberDataViewType.Int64, Role.Seed);
        if (_classes is not null) Add(options.LabelColumnName, NumberDataViewType.Int64, Role.Label);
        Add(options.OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, sampleShape.ToArray()), Role.Sample);
        Schema = builder.ToSchema();
        _roles = roles.ToArray();
    }

    /// <inheritdoc />
    public bool CanShuffle => false;

    /// <inheritdoc />
    public DataViewSchema Schema { get; }

    /// <inheritdoc />
    public long? GetRowCount() => _count;

    /// <inheritdoc />
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this, columnsNeeded);

    /// <inheritdoc />
    /// <remarks>One cursor: the batches inside it are what runs the model efficiently.</remarks>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly GeneratedSampleDataView _view;
        private readonly bool[] _active;
        private long _position = -1;
        private IDenoiser? _denoiser;
        private DiffusionPipeline? _pipeline;
        private float[] _samples = [];
        private long _batchStart = -1;

        public Cursor(GeneratedSampleDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            _view = view;
            _active = new bool[view.Schema.Count];
            foreach (var column in columnsNeeded) _active[column.Index] = true;
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext() => _position < _view._count && ++_position < _view._count;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)(_view._firstIndex + Row()), 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column)) throw new InvalidOperationException($"Column '{column.Name}' was not requested from the cursor; pass it in columnsNeeded.");
            Delegate getter = _view._roles[column.Index] switch
            {
                Role.Index => (ValueGetter<long>)((ref long v) => v = _view._firstIndex + Row()),
                Role.Seed => (ValueGetter<long>)((ref long v) => v = _view._seed),
                // The class of global sample i, as the sampler (and the generate job) assigns it.
                Role.Label => (ValueGetter<long>)((ref long v) => v = _view._classes![(int)((_view._firstIndex + Row()) % _view._classes.Length)]),
                _ => (ValueGetter<VBuffer<float>>)Sample,
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }

        private long Row() => _position >= 0 && _position < _view._count
            ? _position
            : throw new InvalidOperationException("The cursor is not on a row; call MoveNext and read while it returns true.");

        private void Sample(ref VBuffer<float> value)
        {
            long row = Row();
            long start = row - row % _view._batchSize;
            if (start != _batchStart) Generate(start);
            int size = _view._sampleSize;
            var editor = VBufferEditor.Create(ref value, size);
            _samples.AsSpan((int)(row - start) * size, size).CopyTo(editor.Values);
            value = editor.Commit();
        }

        /// <summary>Samples of rows [start, start + batch): one pipeline call of one batch, the generate job's per-batch call.</summary>
        private void Generate(long start)
        {
            var view = _view;
            _denoiser ??= view._open();
            _pipeline ??= new DiffusionPipeline(_denoiser, view._schedule);
            int count = (int)Math.Min(view._batchSize, view._count - start);
            _samples = _pipeline.Generate(view._sampler, view._template with { FirstIndex = view._firstIndex + start, Count = count, BatchSize = count });
            if (view._outputRange is { } range)
            {
                float scale = range.FromModelScale, shift = range.FromModelShift;
                for (int i = 0; i < _samples.Length; i++) _samples[i] = _samples[i] * scale + shift;
            }
            _batchStart = start;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && _view._ownsDenoiser) (_denoiser as IDisposable)?.Dispose();
            _denoiser = null;
            _pipeline = null;
            _samples = [];
            base.Dispose(disposing);
        }
    }
}
