using Diffusion.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Reads image and label columns of an <see cref="IDataView"/> for training, with the schema checks every component
/// shares: a known-size vector of <see cref="float"/> (ML.NET's <c>ExtractPixels</c>, or any float vector), in CHW order.
/// </summary>
internal static class ImageColumns
{
    /// <summary>
    /// The image shape [C, H, W] of a column: <paramref name="declared"/> if given (checked against the size), else the
    /// vector's own dimensions when they are [C, H, W] or [1, C, H, W], else a square single-channel image.
    /// </summary>
    public static int[] ResolveShape(DataViewSchema schema, string columnName, int[]? declared, string optionName)
    {
        var type = RequireFloatVector(schema, columnName);
        int size = type.Size;
        if (declared is not null)
        {
            if (declared.Length != 3 || declared.Any(d => d < 1))
                throw new ArgumentException($"{optionName} must be [channels, height, width] with positive sizes; got [{string.Join(", ", declared)}].");
            if (declared.Aggregate(1, (a, b) => a * b) != size)
                throw new ArgumentException($"{optionName} [{string.Join(", ", declared)}] holds {declared.Aggregate(1, (a, b) => a * b)} values, " +
                    $"but column '{columnName}' has vectors of {size}.");
            return declared;
        }
        var dims = type.Dimensions;
        if (dims.Length == 3) return [dims[0], dims[1], dims[2]];
        if (dims.Length == 4 && dims[0] == 1) return [dims[1], dims[2], dims[3]];
        int side = (int)Math.Round(Math.Sqrt(size));
        if (side * side == size) return [1, side, side];
        throw new ArgumentException($"Column '{columnName}' has vectors of {size} values, which is not a square single-channel image; " +
            $"set {optionName} to [channels, height, width].");
    }

    /// <summary>The column as a known-size float vector, or a clear error naming what it is instead.</summary>
    public static VectorDataViewType RequireFloatVector(DataViewSchema schema, string columnName)
    {
        ArgumentException.ThrowIfNullOrEmpty(columnName);
        var column = schema.GetColumnOrNull(columnName)
            ?? throw new ArgumentException($"The input has no column '{columnName}'; its columns are {string.Join(", ", schema.Select(c => $"'{c.Name}'"))}.");
        if (column.Type is not VectorDataViewType { ItemType: var item } vector || item != NumberDataViewType.Single || !vector.IsKnownSize)
            throw new ArgumentException($"Column '{columnName}' must be a known-size vector of Single (e.g. from ExtractPixels); it is {column.Type}. " +
                "Convert it with ConvertType or ExtractPixels first.");
        return vector;
    }

    /// <summary>
    /// Checks a label column: a key type (classes 0..K-1 from keys 1..K) or an integer type (classes 0..max). Returns the
    /// class count the column declares (the key count), or null for plain integers.
    /// </summary>
    public static int? RequireLabel(DataViewSchema schema, string columnName)
    {
        var column = schema.GetColumnOrNull(columnName)
            ?? throw new ArgumentException($"The label column '{columnName}' is missing; the input's columns are {string.Join(", ", schema.Select(c => $"'{c.Name}'"))}. " +
                "Name an existing column, or pass labelColumnName: null for an unconditional model.");
        return column.Type switch
        {
            KeyDataViewType key when key.Count is > 0 and <= int.MaxValue => (int)key.Count,
            NumberDataViewType n when n == NumberDataViewType.Int32 || n == NumberDataViewType.UInt32 || n == NumberDataViewType.Int64
                || n == NumberDataViewType.UInt16 || n == NumberDataViewType.Byte => null,
            _ => throw new ArgumentException($"The label column '{columnName}' must be a key type (MapValueToKey) or an integer type; it is {column.Type}."),
        };
    }

    /// <summary>
    /// Reads every row into an <see cref="ImageDataset"/> in [-1, 1]: pixels through <paramref name="range"/>, labels as
    /// classes 0..K-1. Rows with NaN or infinite pixels, missing keys or negative labels are refused by row number.
    /// </summary>
    public static ImageDataset Read(IDataView data, string columnName, int[] shape, PixelRange range, string? labelColumnName,
        CancellationToken cancellationToken = default)
    {
        int size = shape[0] * shape[1] * shape[2];
        int? keyCount = labelColumnName is null ? null : RequireLabel(data.Schema, labelColumnName);
        var image = data.Schema[columnName];
        var columns = labelColumnName is null ? new[] { image } : new[] { image, data.Schema[labelColumnName] };
        var pixels = new List<float>();
        var labels = labelColumnName is null ? null : new List<int>();
        float scale = range.ToModelScale, shift = range.ToModelShift;
        using var cursor = data.GetRowCursor(columns);
        var getImage = cursor.GetGetter<VBuffer<float>>(image);
        var getLabel = labelColumnName is null ? null : LabelGetter(cursor, data.Schema[labelColumnName]);
        var buffer = default(VBuffer<float>);
        long row = 0;
        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            getImage(ref buffer);
            if (buffer.Length != size)
                throw new InvalidDataException($"Row {row} of column '{columnName}' has {buffer.Length} values; {size} expected.");
            int start = pixels.Count;
            foreach (float v in buffer.DenseValues())
            {
                if (!float.IsFinite(v))
                    throw new InvalidDataException($"Row {row} of column '{columnName}' holds {v} at element {pixels.Count - start}; remove or repair that row.");
                pixels.Add(v * scale + shift);
            }
            if (getLabel is not null)
            {
                long label = getLabel();
                if (label < 0 || label >= int.MaxValue)
                    throw new InvalidDataException($"Row {row} of label column '{labelColumnName}' is {(label < 0 && keyCount is not null ? "a missing key" : label.ToString())}; labels must be classes 0, 1, ...");
                labels!.Add((int)label);
            }
            row++;
        }
        if (row == 0) throw new ArgumentException($"The input has no rows; Fit needs training images in column '{columnName}'.");
        int[]? labelArray = labels?.ToArray();
        int classCount = labelArray is null ? 0 : Math.Max(keyCount ?? 0, labelArray.Max() + 1);
        return new ImageDataset((int)row, shape[0], shape[1], shape[2], pixels.ToArray(), labelArray, classCount);
    }

    /// <summary>A label getter returning the class: key k -&gt; k - 1 (so a missing key, 0, gives -1), integers as they are.</summary>
    private static Func<long> LabelGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        switch (column.Type)
        {
            case KeyDataViewType { RawType: var raw } when raw == typeof(uint):
            {
                var get = cursor.GetGetter<uint>(column);
                uint v = 0;
                return () => { get(ref v); return (long)v - 1; };
            }
            case KeyDataViewType:
                throw new ArgumentException($"The label column '{column.Name}' is a key of {column.Type.RawType.Name}; use UInt32 keys (MapValueToKey's default).");
            default:
                return Integer(cursor, column);
        }
    }

    private static Func<long> Integer(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var type = column.Type.RawType;
        if (type == typeof(int)) { var g = cursor.GetGetter<int>(column); int v = 0; return () => { g(ref v); return v; }; }
        if (type == typeof(uint)) { var g = cursor.GetGetter<uint>(column); uint v = 0; return () => { g(ref v); return v; }; }
        if (type == typeof(long)) { var g = cursor.GetGetter<long>(column); long v = 0; return () => { g(ref v); return v; }; }
        if (type == typeof(ushort)) { var g = cursor.GetGetter<ushort>(column); ushort v = 0; return () => { g(ref v); return v; }; }
        { var g = cursor.GetGetter<byte>(column); byte v = 0; return () => { g(ref v); return v; }; }
    }
}
