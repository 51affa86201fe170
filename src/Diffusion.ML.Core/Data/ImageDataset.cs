namespace Diffusion.ML.Data;

/// <summary>
/// An in-memory set of equally sized images stored as one N x C x H x W float array with values in [-1, 1],
/// optionally with an integer class label per image.
/// </summary>
public sealed class ImageDataset
{
    /// <summary>Creates a data set over existing pixel and label arrays (the arrays are used as given, not copied).</summary>
    /// <param name="count">Number of images N.</param>
    /// <param name="channels">Channels per image C (1 for grayscale, 3 for RGB).</param>
    /// <param name="height">Image height H in pixels.</param>
    /// <param name="width">Image width W in pixels.</param>
    /// <param name="pixels">Pixel values, layout N x C x H x W, scaled to [-1, 1]; length must be N*C*H*W.</param>
    /// <param name="labels">One label per image in 0..<paramref name="classCount"/>-1, or null for an unlabeled set.</param>
    /// <param name="classCount">Number of classes; must be at least 1 when labels are given and 0 otherwise.</param>
    /// <param name="classNames">Optional class names, one per class; only allowed together with labels.</param>
    public ImageDataset(
        int count,
        int channels,
        int height,
        int width,
        float[] pixels,
        int[]? labels = null,
        int classCount = 0,
        IReadOnlyList<string>? classNames = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegative(classCount);

        long expectedLength = (long)count * channels * height * width;
        if (pixels.LongLength != expectedLength)
        {
            throw new ArgumentException(
                $"Pixel array has {pixels.LongLength} values but {count} images of {channels}x{height}x{width} need {expectedLength}.",
                nameof(pixels));
        }

        if (labels is null)
        {
            if (classCount != 0 || classNames is not null)
            {
                throw new ArgumentException(
                    "An unlabeled data set must have classCount 0 and no class names; pass labels to make it labeled.",
                    nameof(labels));
            }
        }
        else
        {
            ValidateLabels(labels, count, classCount, classNames);
        }

        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        Pixels = pixels;
        Labels = labels;
        ClassCount = classCount;
        ClassNames = classNames is null ? null : Array.AsReadOnly(classNames.ToArray());
    }

    /// <summary>Number of images N.</summary>
    public int Count { get; }

    /// <summary>Channels per image C (1 for grayscale, 3 for RGB).</summary>
    public int Channels { get; }

    /// <summary>Image height H in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width W in pixels.</summary>
    public int Width { get; }

    /// <summary>Number of floats in one image, C*H*W.</summary>
    public int ImageLength => Channels * Height * Width;

    /// <summary>All pixel values, layout N x C x H x W, scaled to [-1, 1].</summary>
    public float[] Pixels { get; }

    /// <summary>One class label per image, or null when the data set is unlabeled.</summary>
    public int[]? Labels { get; }

    /// <summary>Number of classes, or 0 when the data set is unlabeled.</summary>
    public int ClassCount { get; }

    /// <summary>Class names indexed by label, or null when none were given.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Returns the C x H x W pixels of the image at <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> GetImage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.AsSpan(index * ImageLength, ImageLength);
    }

    /// <summary>A new data set of the images (and labels) at <paramref name="indices"/>, in that order; class names are kept.</summary>
    /// <param name="indices">Image indices, each in 0..Count-1; repeats are allowed.</param>
    public ImageDataset Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int[] chosen = [.. indices];
        var pixels = new float[(long)chosen.Length * ImageLength];
        CopyBatch(chosen, pixels);
        int[]? labels = Labels is null ? null : Array.ConvertAll(chosen, i => Labels[i]);
        return new ImageDataset(chosen.Length, Channels, Height, Width, pixels, labels, ClassCount, ClassNames);
    }

    /// <summary>Copies the images at <paramref name="indices"/> one after another into <paramref name="pixels"/>.</summary>
    /// <param name="indices">Image indices, each in 0..Count-1; repeats are allowed.</param>
    /// <param name="pixels">Destination of at least indices.Length*C*H*W floats, filled as B x C x H x W.</param>
    public void CopyBatch(ReadOnlySpan<int> indices, Span<float> pixels)
    {
        int imageLength = ImageLength;
        long needed = (long)indices.Length * imageLength;
        if (pixels.Length < needed)
        {
            throw new ArgumentException(
                $"Destination holds {pixels.Length} floats but {indices.Length} images of {Channels}x{Height}x{Width} need {needed}.",
                nameof(pixels));
        }

        for (int i = 0; i < indices.Length; i++)
        {
            GetImage(indices[i]).CopyTo(pixels.Slice(i * imageLength, imageLength));
        }
    }

    /// <summary>Copies the images and labels at <paramref name="indices"/> into the destinations, in order.</summary>
    /// <param name="indices">Image indices, each in 0..Count-1; repeats are allowed.</param>
    /// <param name="pixels">Destination of at least indices.Length*C*H*W floats, filled as B x C x H x W.</param>
    /// <param name="labels">Destination of at least indices.Length labels.</param>
    /// <exception cref="InvalidOperationException">The data set has no labels.</exception>
    public void CopyBatch(ReadOnlySpan<int> indices, Span<float> pixels, Span<int> labels)
    {
        if (Labels is null)
        {
            throw new InvalidOperationException("This data set has no labels; use the CopyBatch overload without a label destination.");
        }

        if (labels.Length < indices.Length)
        {
            throw new ArgumentException(
                $"Label destination holds {labels.Length} values but the batch has {indices.Length} images.", nameof(labels));
        }

        CopyBatch(indices, pixels);
        for (int i = 0; i < indices.Length; i++)
        {
            labels[i] = Labels[indices[i]];
        }
    }

    private static void ValidateLabels(int[] labels, int count, int classCount, IReadOnlyList<string>? classNames)
    {
        if (labels.Length != count)
        {
            throw new ArgumentException($"There are {labels.Length} labels but {count} images; give exactly one label per image.", nameof(labels));
        }

        if (classCount < 1)
        {
            throw new ArgumentException("A labeled data set needs classCount of at least 1.", nameof(classCount));
        }

        if (classNames is not null && classNames.Count != classCount)
        {
            throw new ArgumentException($"There are {classNames.Count} class names but classCount is {classCount}; give one name per class.", nameof(classNames));
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classCount)
            {
                throw new ArgumentException($"Label {labels[i]} of image {i} is outside 0..{classCount - 1} for {classCount} classes.", nameof(labels));
            }
        }
    }
}
