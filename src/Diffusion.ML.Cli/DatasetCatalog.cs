using Diffusion.ML.Data;

namespace Diffusion.ML.Cli;

/// <summary>Resolves the data-set names the CLI accepts into in-memory training data.</summary>
internal static class DatasetCatalog
{
    public static readonly string[] Names = ["fashion-mnist", "digits", "image-folder", "moons", "gaussian-mixture", "swiss-roll"];

    /// <summary>Number of points drawn for the synthetic 2-D sets.</summary>
    private const int ToyPoints = 20_000;

    public static ImageDataset Load(string name, string? path, long seed) => name switch
    {
        "fashion-mnist" => FashionMnist.Load(path, train: true),
        "digits" => path is null ? EmbeddedDigits() : DigitsCsvReader.Load(path),
        "image-folder" => new ImageFolderDataset(path ?? throw new ArgumentException("--data-path must name the folder for --dataset image-folder.")).ToDataset(),
        "moons" or "gaussian-mixture" or "swiss-roll" => Points(Toy(name), seed),
        _ => throw new ArgumentException($"Unknown data set '{name}'. Known: {string.Join(", ", Names)}."),
    };

    /// <summary>The synthetic 2-D sets, whose exact density is known (see <see cref="Toy"/>).</summary>
    public static readonly string[] ToyNames = ["moons", "gaussian-mixture", "swiss-roll"];

    /// <summary>The distribution behind a synthetic 2-D set, with its defaults (what <c>train --dataset</c> uses).</summary>
    /// <exception cref="ArgumentException">Not a synthetic set.</exception>
    public static IToyDistribution Toy(string name) => name switch
    {
        "moons" => new TwoMoons(),
        "gaussian-mixture" => GaussianMixture.EightGaussians(),
        "swiss-roll" => new SwissRoll(),
        _ => throw new ArgumentException($"'{name}' is not a synthetic 2-D data set; these are: {string.Join(", ", ToyNames)}."),
    };

    /// <summary>The image data sets with a held-out test split (see <see cref="LoadSplit"/>).</summary>
    public static readonly string[] SplitNames = ["fashion-mnist", "digits"];

    /// <summary>
    /// Loads the train or test split of an image data set: Fashion-MNIST's own (60,000 / 10,000 images), or for digits every
    /// fifth image held out as the test split. Other sets have no test split; their train split is the whole set.
    /// </summary>
    /// <exception cref="ArgumentException">A test split of a set that has none.</exception>
    public static ImageDataset LoadSplit(string name, string? path, bool test)
    {
        switch (name)
        {
            case "fashion-mnist":
                return FashionMnist.Load(path, train: !test);
            case "digits":
                var all = path is null ? EmbeddedDigits() : DigitsCsvReader.Load(path);
                return all.Subset(Enumerable.Range(0, all.Count).Where(i => (i % 5 == 4) == test).ToArray());
            default:
                if (test)
                    throw new ArgumentException(
                        $"The data set '{name}' has no test split ({string.Join(" and ", SplitNames)} do); use the train split, or an image folder of held-out images.");
                return Load(name, path, seed: 0);
        }
    }

    /// <summary>The UCI digits embedded in this tool (see Data/README.md).</summary>
    public static ImageDataset EmbeddedDigits()
    {
        using var stream = typeof(DatasetCatalog).Assembly.GetManifestResourceStream("digits.csv.gz")
            ?? throw new InvalidOperationException("The embedded digits data is missing from this build of diffusion-ml.");
        using var gzip = new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        return DigitsCsvReader.Read(reader, "embedded digits.csv.gz");
    }

    private static ImageDataset Points(IToyDistribution distribution, long seed)
        => new(ToyPoints, distribution.Dimension, 1, 1, distribution.Sample(ToyPoints, (int)seed));
}
