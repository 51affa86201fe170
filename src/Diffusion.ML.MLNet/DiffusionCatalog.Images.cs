using System.Globalization;
using Diffusion.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Diffusion.ML.MLNet;

public sealed partial class DiffusionCatalog
{
    /// <summary>
    /// Writes the images of a column as PNG files, one per row, reading the view once. The column is either a
    /// known-size float vector (CHW, 1 or 3 channels: what the decoders and samplers write, or ExtractPixels) or an
    /// ML.NET image (<c>MLImage</c>, from LoadImages or ConvertToImage). Every file appears complete or not at all
    /// (temporary file + rename); an existing file of the same name is replaced. PNG encoding is deterministic, so equal
    /// pixels give byte-identical files.
    /// </summary>
    /// <param name="data">The rows to save.</param>
    /// <param name="outputFolder">The folder to write into (created if missing).</param>
    /// <param name="imageColumnName">The image column.</param>
    /// <param name="options">Pixel range, shape, file naming; null takes the defaults.</param>
    /// <returns>The written files, in row order.</returns>
    /// <exception cref="ArgumentException">The column is missing or not an image, or the shape or options are invalid.</exception>
    /// <example>
    /// <code>
    /// IDataView generated = generator.Transform(ml.Diffusion().SampleRequests(denoiser, count: 16, seed: 42));
    /// ml.Diffusion().SaveImages(generated, "samples", "Image", new ImageSaveOptions { IndexColumnName = "Index" });
    /// </code>
    /// </example>
    public IReadOnlyList<string> SaveImages(IDataView data, string outputFolder, string imageColumnName = "Image", ImageSaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentException.ThrowIfNullOrEmpty(outputFolder);
        options ??= new ImageSaveOptions();
        options.PixelRange.Validate(nameof(ImageSaveOptions.PixelRange));
        var column = data.Schema.GetColumnOrNull(imageColumnName)
            ?? throw new ArgumentException($"The input has no column '{imageColumnName}'; its columns are {string.Join(", ", data.Schema.Select(c => $"'{c.Name}'"))}.", nameof(imageColumnName));
        var index = options.IndexColumnName is { } indexName ? IndexColumn(data.Schema, indexName) : (DataViewSchema.Column?)null;
        var read = column.Type is ImageDataViewType ? ImageReader(column) : PixelReader(data.Schema, column, options);

        Directory.CreateDirectory(outputFolder);
        var written = new List<string>();
        using var cursor = data.GetRowCursor(index is { } i ? [column, i] : [column]);
        var getIndex = index is { } ic ? IndexGetter(cursor, ic) : null;
        var write = read(cursor);
        long row = 0;
        while (cursor.MoveNext())
        {
            long number = getIndex?.Invoke() ?? row;
            string path = Path.Combine(outputFolder, options.FileNamePrefix + number.ToString("D6", CultureInfo.InvariantCulture) + ".png");
            write(path, row);
            written.Add(path);
            row++;
        }
        return written;
    }

    /// <summary>A writer of one row's float-vector image, mapped from the pixel range to [-1, 1] for <see cref="PngWriter"/>.</summary>
    private static Func<DataViewRowCursor, Action<string, long>> PixelReader(DataViewSchema schema, DataViewSchema.Column column, ImageSaveOptions options)
    {
        int[] shape = ImageColumns.ResolveShape(schema, column.Name, options.ImageShape, nameof(ImageSaveOptions.ImageShape));
        if (shape[0] is not (1 or 3))
            throw new ArgumentException($"Column '{column.Name}' holds {shape[0]}-channel samples; PNG files take 1 or 3 channels. Decode latents to images first (VaeDecoder).");
        float scale = options.PixelRange.ToModelScale, shift = options.PixelRange.ToModelShift;
        return cursor =>
        {
            var get = cursor.GetGetter<VBuffer<float>>(column);
            var buffer = default(VBuffer<float>);
            var pixels = new float[shape[0] * shape[1] * shape[2]];
            return (path, row) =>
            {
                get(ref buffer);
                buffer.CopyTo(pixels);
                for (int k = 0; k < pixels.Length; k++) pixels[k] = pixels[k] * scale + shift;
                PngWriter.SaveImage(path, pixels, shape[0], shape[1], shape[2]);
            };
        };
    }

    /// <summary>A writer of one row's <c>MLImage</c> as an RGB PNG (its alpha channel is dropped).</summary>
    private static Func<DataViewRowCursor, Action<string, long>> ImageReader(DataViewSchema.Column column) => cursor =>
    {
        var get = cursor.GetGetter<MLImage>(column);
        MLImage image = null!; // ML.NET's getter fills it (null for a file LoadImages could not read)
        return (path, row) =>
        {
            get(ref image);
            if (image is null || image.Width == 0 || image.Height == 0)
                throw new InvalidDataException($"Row {row} of column '{column.Name}' has no image (a file LoadImages could not read?).");
            PngWriter.SaveImage(path, ToChw(image), 3, image.Height, image.Width);
        };
    };

    /// <summary>The image's RGB values as CHW floats in [-1, 1].</summary>
    private static float[] ToChw(MLImage image) => image.PixelFormat switch
    {
        MLPixelFormat.Rgba32 or MLPixelFormat.Bgra32 => ImageFileDecoder.FromPixels(image.Pixels, image.Width, image.Height, 4 * image.Width,
            blueFirst: image.PixelFormat == MLPixelFormat.Bgra32, channels: 3),
        var f => throw new InvalidDataException($"Images of pixel format {f} cannot be saved; use Rgba32 or Bgra32 images."),
    };

    private static DataViewSchema.Column IndexColumn(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentException($"The index column '{name}' is missing; the input's columns are {string.Join(", ", schema.Select(c => $"'{c.Name}'"))}. " +
                "Set IndexColumnName to null to number files by row.");
        if (column.Type != NumberDataViewType.Int64 && column.Type != NumberDataViewType.Int32)
            throw new ArgumentException($"The index column '{name}' must be Int64 or Int32; it is {column.Type}.");
        return column;
    }

    private static Func<long> IndexGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        if (column.Type == NumberDataViewType.Int32)
        {
            var get32 = cursor.GetGetter<int>(column);
            int v32 = 0;
            return () => { get32(ref v32); return v32; };
        }
        var get = cursor.GetGetter<long>(column);
        long v = 0;
        return () => { get(ref v); return v; };
    }
}
