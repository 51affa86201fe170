using Diffusion.ML.Data;

namespace Diffusion.ML.Core.Tests.Data;

/// <summary>Atomic writes: the whole new content or the old file, never a mixture, and no temporary files left behind.</summary>
[TestClass]
public sealed class AtomicFileTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-atomic").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void TextIsWrittenAsUtf8WithoutByteOrderMarkIntoNewFolders()
    {
        string path = Path.Combine(_dir, "a", "b", "table.md");
        AtomicFile.WriteAllText(path, "| N | ms |\nµ");
        CollectionAssert.AreEqual("| N | ms |\n\u00b5"u8.ToArray(), File.ReadAllBytes(path));
        AtomicFile.WriteAllText(path, "new");
        Assert.AreEqual("new", File.ReadAllText(path));
        Assert.HasCount(1, Directory.GetFiles(Path.GetDirectoryName(path)!), "no temporary file left");
    }

    [TestMethod]
    public void AFailedWriteLeavesTheOldFileAndNoTemporaryFile()
    {
        string path = Path.Combine(_dir, "model.bin");
        AtomicFile.WriteAllBytes(path, [1, 2, 3]);
        Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write([9, 9, 9, 9]);
            throw new IOException("disk full");
        }));
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(_dir));
    }
}
