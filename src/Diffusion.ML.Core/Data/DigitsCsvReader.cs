using System.Globalization;

namespace Diffusion.ML.Data;

/// <summary>
/// Reads the UCI optical recognition of handwritten digits data as shipped by scikit-learn (digits.csv.gz):
/// no header, one image per line as 64 comma-separated values 0..16 (an 8x8 image, row-major) followed by the label 0..9.
/// </summary>
public static class DigitsCsvReader
{
    /// <summary>Image side length: the digits are 8x8.</summary>
    public const int ImageSize = 8;

    /// <summary>Largest pixel value in the file; pixels are mapped to [-1, 1] as v / 8 - 1.</summary>
    public const int MaxValue = 16;

    private const int PixelCount = ImageSize * ImageSize;
    private const int ClassCount = 10;

    private static readonly IReadOnlyList<string> ClassNames = Array.AsReadOnly(
        Enumerable.Range(0, ClassCount).Select(digit => digit.ToString(CultureInfo.InvariantCulture)).ToArray());

    /// <summary>Loads a digits CSV file, gzip-compressed or plain, as 1 x 8 x 8 images labeled "0".."9".</summary>
    /// <exception cref="InvalidDataException">A line is malformed; the message gives the line number.</exception>
    public static ImageDataset Load(string path)
    {
        using Stream stream = DataFile.OpenRead(path);
        using var reader = new StreamReader(stream);
        return Read(reader, path);
    }

    /// <summary>Reads digits CSV lines from <paramref name="reader"/> one at a time; blank lines are skipped.</summary>
    /// <param name="reader">The CSV text.</param>
    /// <param name="sourceName">Name of the source used in error messages, e.g. the file path.</param>
    /// <exception cref="InvalidDataException">A line is malformed or there are no rows.</exception>
    public static ImageDataset Read(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var pixels = new List<float>();
        var labels = new List<int>();
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                labels.Add(ParseRow(line, pixels, sourceName, lineNumber));
            }
        }

        if (labels.Count == 0)
        {
            throw new InvalidDataException($"{sourceName} contains no data rows; expected lines of 64 pixel values 0..16 and a label 0..9.");
        }

        return new ImageDataset(labels.Count, 1, ImageSize, ImageSize, [.. pixels], [.. labels], ClassCount, ClassNames);
    }

    private static int ParseRow(string line, List<float> pixels, string sourceName, int lineNumber)
    {
        ReadOnlySpan<char> text = line.AsSpan();
        int fieldCount = text.Count(',') + 1;
        if (fieldCount != PixelCount + 1)
        {
            throw new InvalidDataException(
                $"{sourceName}, line {lineNumber}: expected {PixelCount + 1} comma-separated values (64 pixel values 0..16 and a label 0..9) "
                + $"but found {fieldCount}; is this the scikit-learn digits.csv file?");
        }

        int column = 0;
        int label = 0;
        foreach (Range range in text.Split(','))
        {
            column++;
            double value = ParseNumber(text[range], sourceName, lineNumber, column);
            if (column <= PixelCount)
            {
                if (value is < 0 or > MaxValue)
                {
                    throw new InvalidDataException(
                        $"{sourceName}, line {lineNumber}, column {column}: pixel value {value.ToString(CultureInfo.InvariantCulture)} is outside 0..{MaxValue}.");
                }

                pixels.Add((float)(value / (MaxValue / 2) - 1));
            }
            else
            {
                if (value is < 0 or > ClassCount - 1 || value != Math.Floor(value))
                {
                    throw new InvalidDataException(
                        $"{sourceName}, line {lineNumber}, column {column}: label {value.ToString(CultureInfo.InvariantCulture)} is not an integer in 0..{ClassCount - 1}.");
                }

                label = (int)value;
            }
        }

        return label;
    }

    private static double ParseNumber(ReadOnlySpan<char> field, string sourceName, int lineNumber, int column)
    {
        if (!double.TryParse(field.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
        {
            throw new InvalidDataException($"{sourceName}, line {lineNumber}, column {column}: '{field.ToString()}' is not a number.");
        }

        return value;
    }
}
