using System.Buffers.Binary;

namespace Diffusion.ML.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian int32 magic
/// number, big-endian int32 dimensions, then unsigned bytes. Files may be gzip-compressed or raw.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an IDX images file (unsigned bytes, 3 dimensions N x H x W): 0x00000803 = 2051.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX labels file (unsigned bytes, 1 dimension N): 0x00000801 = 2049.</summary>
    public const int LabelsMagic = 0x00000801;

    private const int ImagesHeaderLength = 16;
    private const int LabelsHeaderLength = 8;

    /// <summary>Reads an IDX images file (e.g. train-images-idx3-ubyte.gz).</summary>
    /// <exception cref="InvalidDataException">The file is not an IDX images file or is truncated.</exception>
    public static IdxImages ReadImages(string path)
    {
        using Stream stream = DataFile.OpenRead(path);
        Span<byte> header = stackalloc byte[ImagesHeaderLength];
        ReadHeader(stream, header, path, ImagesMagic);
        int count = ReadDimension(header, 1, path, "image count");
        int height = ReadDimension(header, 2, path, "row count");
        int width = ReadDimension(header, 3, path, "column count");
        if (height == 0 || width == 0)
        {
            throw new InvalidDataException($"'{path}' declares images of {height}x{width} pixels; an IDX images file needs at least 1x1.");
        }

        long length = (long)count * height * width;
        if (length > Array.MaxLength)
        {
            throw new InvalidDataException(
                $"'{path}' declares {count} images of {height}x{width} pixels ({length} bytes), more than one array can hold; the header is probably corrupt.");
        }

        byte[] pixels = ReadBody(stream, (int)length, path, $"{count} images of {height}x{width} pixels", ImagesHeaderLength);
        return new IdxImages(count, height, width, pixels);
    }

    /// <summary>Reads an IDX labels file (e.g. train-labels-idx1-ubyte.gz) and returns one byte per label.</summary>
    /// <exception cref="InvalidDataException">The file is not an IDX labels file or is truncated.</exception>
    public static byte[] ReadLabels(string path)
    {
        using Stream stream = DataFile.OpenRead(path);
        Span<byte> header = stackalloc byte[LabelsHeaderLength];
        ReadHeader(stream, header, path, LabelsMagic);
        int count = ReadDimension(header, 1, path, "label count");
        return ReadBody(stream, count, path, $"{count} labels", LabelsHeaderLength);
    }

    /// <summary>
    /// Loads an IDX images file, and optionally its labels file, as an <see cref="ImageDataset"/> of 1 x H x W images
    /// with intensities mapped to [-1, 1] as x / 127.5 - 1.
    /// </summary>
    /// <param name="imagesPath">The IDX images file.</param>
    /// <param name="labelsPath">The matching IDX labels file, or null for an unlabeled data set.</param>
    /// <param name="classNames">Class names indexed by label; when null the class count is the largest label + 1.</param>
    /// <exception cref="InvalidDataException">A file is malformed, the counts differ, or a label has no class name.</exception>
    public static ImageDataset LoadDataset(string imagesPath, string? labelsPath = null, IReadOnlyList<string>? classNames = null)
    {
        if (labelsPath is null && classNames is not null)
        {
            throw new ArgumentException("Class names were given without a labels file; pass labelsPath as well.", nameof(classNames));
        }

        IdxImages images = ReadImages(imagesPath);
        float[] pixels = new float[images.Pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = PixelScale.FromByte(images.Pixels[i]);
        }

        if (labelsPath is null)
        {
            return new ImageDataset(images.Count, 1, images.Height, images.Width, pixels);
        }

        byte[] rawLabels = ReadLabels(labelsPath);
        if (rawLabels.Length != images.Count)
        {
            throw new InvalidDataException(
                $"'{imagesPath}' has {images.Count} images but '{labelsPath}' has {rawLabels.Length} labels; "
                + "use the images and labels files of the same split (e.g. both train-* or both t10k-*).");
        }

        int[] labels = Array.ConvertAll(rawLabels, label => (int)label);
        int classCount = classNames?.Count ?? (labels.Length == 0 ? 1 : labels.Max() + 1);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classCount)
            {
                throw new InvalidDataException(
                    $"'{labelsPath}' has label {labels[i]} at index {i}, but {classCount} class names were given (valid labels 0..{classCount - 1}); "
                    + "pass the class names of this data set, or none to take the class count from the labels.");
            }
        }

        return new ImageDataset(images.Count, 1, images.Height, images.Width, pixels, labels, classCount, classNames);
    }

    private static void ReadHeader(Stream stream, Span<byte> header, string path, int expectedMagic)
    {
        int read = DataFile.ReadUpTo(stream, header, path);
        if (read >= 4)
        {
            CheckMagic(BinaryPrimitives.ReadInt32BigEndian(header), expectedMagic, path);
        }

        if (read < header.Length)
        {
            throw new InvalidDataException(
                $"'{path}' is truncated: an IDX {Kind(expectedMagic)} header is {header.Length} bytes but the file has only {read}. Re-download the file.");
        }
    }

    private static void CheckMagic(int found, int expected, string path)
    {
        if (found == expected)
        {
            return;
        }

        string hint = found == (expected == ImagesMagic ? LabelsMagic : ImagesMagic)
            ? $"That is the magic number of an IDX {Kind(found)} file: were the images and labels paths swapped?"
            : $"The file is not an IDX {Kind(expected)} file (MNIST-style *-{(expected == ImagesMagic ? "images-idx3" : "labels-idx1")}-ubyte or .gz); check the path.";
        throw new InvalidDataException(
            $"'{path}' has magic number {found} (0x{found:X8}) but an IDX {Kind(expected)} file starts with {expected} (0x{expected:X8}). {hint}");
    }

    private static int ReadDimension(ReadOnlySpan<byte> header, int index, string path, string name)
    {
        int value = BinaryPrimitives.ReadInt32BigEndian(header.Slice(index * 4, 4));
        if (value < 0)
        {
            throw new InvalidDataException($"'{path}' declares a negative {name} ({value}); the header is corrupt.");
        }

        return value;
    }

    private static byte[] ReadBody(Stream stream, int length, string path, string contents, int headerLength)
    {
        byte[] body = new byte[length];
        int read = DataFile.ReadUpTo(stream, body, path);
        if (read < length)
        {
            throw new InvalidDataException(
                $"'{path}' is truncated: the header declares {contents}, so {length} bytes were expected after the {headerLength}-byte header, "
                + $"but only {read} were found. Re-download the file.");
        }

        return body;
    }

    private static string Kind(int magic) => magic == ImagesMagic ? "images" : "labels";
}
