namespace Diffusion.ML.Data;

/// <summary>
/// Loads Fashion-MNIST (Zalando, 28x28 grayscale clothing images in 10 classes) from its four IDX .gz files.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package dataset-fashion-mnist installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, indexed by label 0..9.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = Array.AsReadOnly(new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    });

    /// <summary>
    /// Loads the training split (60000 images, files train-*) or the test split (10000 images, files t10k-*)
    /// from {train,t10k}-images-idx3-ubyte.gz and {train,t10k}-labels-idx1-ubyte.gz in <paramref name="directory"/>.
    /// </summary>
    /// <param name="directory">The folder holding the files; null means <see cref="DefaultDirectory"/>.</param>
    /// <param name="train">True for the training split, false for the test split.</param>
    /// <exception cref="FileNotFoundException">A file is missing; the message says where to get it.</exception>
    public static ImageDataset Load(string? directory = null, bool train = true)
    {
        directory ??= DefaultDirectory;
        string prefix = train ? "train" : "t10k";
        string imagesPath = Path.Combine(directory, $"{prefix}-images-idx3-ubyte.gz");
        string labelsPath = Path.Combine(directory, $"{prefix}-labels-idx1-ubyte.gz");
        string[] missing = [.. new[] { imagesPath, labelsPath }.Where(path => !File.Exists(path))];
        if (missing.Length > 0)
        {
            throw new FileNotFoundException(
                $"Fashion-MNIST {prefix} files not found: {string.Join(", ", missing)} (searched '{Path.GetFullPath(directory)}'). "
                + $"Install the Debian package dataset-fashion-mnist ('sudo apt-get install dataset-fashion-mnist', files go to {DefaultDirectory}), "
                + "or download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
                + $"from https://github.com/zalandoresearch/fashion-mnist into '{directory}'.",
                missing[0]);
        }

        return IdxReader.LoadDataset(imagesPath, labelsPath, ClassNames);
    }
}
