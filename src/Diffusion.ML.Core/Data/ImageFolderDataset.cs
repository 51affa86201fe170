using System.Collections;

namespace Diffusion.ML.Data;

/// <summary>
/// A folder of PNG/JPEG images read lazily, laid out like torchvision's ImageFolder: when the root has subfolders,
/// each subfolder (sorted by ordinal name) is a class and its images, searched recursively, get that class's index as label;
/// otherwise the images directly in the root form an unlabeled set.
/// </summary>
/// <remarks>
/// The file list is taken when the object is created; each image is decoded only when enumeration reaches it.
/// All images must have the same size: the requested size, or else the size of the first image.
/// </remarks>
public sealed class ImageFolderDataset : IEnumerable<LabeledImage>
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    private readonly string[] files;
    private readonly int[]? fileLabels;
    private readonly int? requestedWidth;
    private readonly int? requestedHeight;

    /// <summary>Lists the images under <paramref name="root"/>.</summary>
    /// <param name="root">The folder: either class subfolders of images, or images directly.</param>
    /// <param name="grayscale">True for 1 channel (luma), false for 3 channels (RGB).</param>
    /// <param name="width">Required image width, or null to take it from the first image; give together with height.</param>
    /// <param name="height">Required image height, or null to take it from the first image; give together with width.</param>
    /// <param name="searchPattern">A file-name pattern (<c>*</c> and <c>?</c> wildcards) the images must match, e.g. <c>sample_*.png</c>.</param>
    /// <exception cref="DirectoryNotFoundException">The root folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no PNG/JPEG files.</exception>
    public ImageFolderDataset(string root, bool grayscale = false, int? width = null, int? height = null, string searchPattern = "*")
    {
        ArgumentNullException.ThrowIfNull(root);
        if (width.HasValue != height.HasValue)
        {
            throw new ArgumentException("Give both width and height, or neither.", width.HasValue ? nameof(height) : nameof(width));
        }

        if (width < 1 || height < 1)
        {
            throw new ArgumentOutOfRangeException(width < 1 ? nameof(width) : nameof(height), "The requested image size must be at least 1x1.");
        }

        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Image folder '{Path.GetFullPath(root)}' does not exist.");
        }

        Root = root;
        Channels = grayscale ? 1 : 3;
        requestedWidth = width;
        requestedHeight = height;

        string[] classFolders = Directory.GetDirectories(root);
        Array.Sort(classFolders, StringComparer.Ordinal);
        if (classFolders.Length == 0)
        {
            files = ListImages(root, searchPattern, SearchOption.TopDirectoryOnly);
            ClassNames = [];
        }
        else
        {
            var labeledFiles = new List<string>();
            var labels = new List<int>();
            for (int label = 0; label < classFolders.Length; label++)
            {
                string[] classFiles = ListImages(classFolders[label], searchPattern, SearchOption.AllDirectories);
                labeledFiles.AddRange(classFiles);
                labels.AddRange(Enumerable.Repeat(label, classFiles.Length));
            }

            files = [.. labeledFiles];
            fileLabels = [.. labels];
            ClassNames = Array.AsReadOnly(Array.ConvertAll(classFolders, folder => Path.GetFileName(folder)));
        }

        if (files.Length == 0)
        {
            throw new InvalidDataException(
                $"No .png/.jpg/.jpeg files{(searchPattern == "*" ? "" : $" matching '{searchPattern}'")} found in '{Path.GetFullPath(root)}'{(classFolders.Length > 0 ? " or its class subfolders" : "")}.");
        }
    }

    /// <summary>The root folder.</summary>
    public string Root { get; }

    /// <summary>Channels per image: 1 for grayscale, 3 for RGB.</summary>
    public int Channels { get; }

    /// <summary>True when the root has class subfolders and images carry labels.</summary>
    public bool IsLabeled => fileLabels is not null;

    /// <summary>Class names (subfolder names) indexed by label; empty when unlabeled.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The image files in enumeration order.</summary>
    public IReadOnlyList<string> Files => files;

    /// <summary>Number of image files.</summary>
    public int Count => files.Length;

    /// <summary>Decodes the images one at a time, in <see cref="Files"/> order.</summary>
    /// <exception cref="InvalidDataException">An image cannot be decoded or its size differs.</exception>
    public IEnumerator<LabeledImage> GetEnumerator()
    {
        string? referenceFile = null;
        int? expectedWidth = requestedWidth, expectedHeight = requestedHeight;
        for (int i = 0; i < files.Length; i++)
        {
            float[] pixels = ImageFileDecoder.Decode(files[i], Channels, out int width, out int height);
            if (expectedWidth is null || expectedHeight is null)
            {
                (referenceFile, expectedWidth, expectedHeight) = (files[i], width, height);
            }
            else if (width != expectedWidth || height != expectedHeight)
            {
                string reference = referenceFile is null ? "the requested size is" : $"'{referenceFile}' is";
                throw new InvalidDataException(
                    $"'{files[i]}' is {width}x{height} pixels but {reference} {expectedWidth}x{expectedHeight}; "
                    + "all images in an image folder must have the same size, so resize them first.");
            }

            yield return new LabeledImage(files[i], fileLabels?[i], Channels, height, width, pixels);
        }
    }

    /// <inheritdoc />
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Decodes every image into one in-memory <see cref="ImageDataset"/>; meant for small folders.</summary>
    /// <exception cref="InvalidDataException">An image cannot be decoded or its size differs.</exception>
    public ImageDataset ToDataset()
    {
        float[]? pixels = null;
        int[]? labels = IsLabeled ? new int[Count] : null;
        int index = 0, height = 0, width = 0;
        foreach (LabeledImage image in this)
        {
            pixels ??= new float[checked(Count * image.Pixels.Length)];
            image.Pixels.CopyTo(pixels, index * image.Pixels.Length);
            if (labels is not null)
            {
                labels[index] = image.Label!.Value;
            }

            (height, width) = (image.Height, image.Width);
            index++;
        }

        return IsLabeled
            ? new ImageDataset(Count, Channels, height, width, pixels!, labels, ClassNames.Count, ClassNames)
            : new ImageDataset(Count, Channels, height, width, pixels!);
    }

    private static string[] ListImages(string folder, string searchPattern, SearchOption searchOption)
    {
        string[] images = [.. Directory.EnumerateFiles(folder, searchPattern, searchOption)
            .Where(file => Extensions.Contains(Path.GetExtension(file), StringComparer.OrdinalIgnoreCase))];
        Array.Sort(images, StringComparer.Ordinal);
        return images;
    }
}
