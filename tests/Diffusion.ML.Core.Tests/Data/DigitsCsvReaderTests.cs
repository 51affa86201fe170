using System.IO.Compression;
using Diffusion.ML.Data;

namespace Diffusion.ML.Core.Tests.Data;

[TestClass]
public sealed class DigitsCsvReaderTests
{
    // Pixel j of the row is j % 17, so the row covers 0..16; the label follows.
    private static string Row(int label) => string.Join(",", Enumerable.Range(0, 64).Select(j => j % 17).Append(label));

    [TestMethod]
    public void LoadReadsGzippedRows()
    {
        using var dir = new TempDirectory();
        string path = dir.File("digits.csv.gz");
        using (var compressed = new StreamWriter(new GZipStream(File.Create(path), CompressionLevel.Fastest)))
        {
            compressed.Write($"{Row(3)}\n{Row(9)}\n\n");
        }

        ImageDataset data = DigitsCsvReader.Load(path);

        Assert.AreEqual(2, data.Count);
        Assert.AreEqual(1, data.Channels);
        Assert.AreEqual(8, data.Height);
        Assert.AreEqual(8, data.Width);
        CollectionAssert.AreEqual(new[] { 3, 9 }, data.Labels);
        Assert.AreEqual("9", data.ClassNames![9]);
        for (int j = 0; j < 64; j++)
        {
            Assert.AreEqual(((j % 17) / 8.0) - 1, data.Pixels[64 + j], 1e-6);
        }
    }

    [TestMethod]
    public void ReadAcceptsScikitLearnScientificNotation()
    {
        string row = string.Join(",", Enumerable.Repeat("1.600000000000000000e+01", 64).Append("7.000000000000000000e+00"));

        ImageDataset data = DigitsCsvReader.Read(new StringReader(row), "digits.csv");

        Assert.AreEqual(7, data.Labels![0]);
        Assert.IsTrue(data.Pixels.All(value => value == 1f));
    }

    [TestMethod]
    public void WrongColumnCountGivesLineNumber()
    {
        string text = $"{Row(1)}\n{Row(2)},5\n";

        var error = Assert.ThrowsExactly<InvalidDataException>(() => DigitsCsvReader.Read(new StringReader(text), "digits.csv"));

        Assert.Contains("digits.csv, line 2", error.Message);
        Assert.Contains("expected 65", error.Message);
        Assert.Contains("found 66", error.Message);
    }

    [TestMethod]
    public void NonNumericValueGivesLineAndColumn()
    {
        string text = Row(1).Replace("0,1,2,", "0,1,x,", StringComparison.Ordinal);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => DigitsCsvReader.Read(new StringReader(text), "digits.csv"));

        Assert.Contains("line 1, column 3: 'x' is not a number", error.Message);
    }

    [TestMethod]
    public void OutOfRangeValuesAreRejected()
    {
        string pixel = Row(1).Replace("0,1,2,", "0,17,2,", StringComparison.Ordinal);
        string label = Row(10);

        var pixelError = Assert.ThrowsExactly<InvalidDataException>(() => DigitsCsvReader.Read(new StringReader(pixel), "d"));
        var labelError = Assert.ThrowsExactly<InvalidDataException>(() => DigitsCsvReader.Read(new StringReader($"{Row(0)}\n{label}"), "d"));

        Assert.Contains("line 1, column 2: pixel value 17 is outside 0..16", pixelError.Message);
        Assert.Contains("line 2, column 65: label 10 is not an integer in 0..9", labelError.Message);
    }

    [TestMethod]
    public void EmptyInputIsRejected()
    {
        var error = Assert.ThrowsExactly<InvalidDataException>(() => DigitsCsvReader.Read(new StringReader("\n"), "empty.csv"));

        Assert.Contains("empty.csv contains no data rows", error.Message);
    }
}
