using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Diffusion.ML.TorchSharp.Native;

namespace Diffusion.ML.TorchSharp.Tests.Native;

[TestClass]
public sealed class ElfVersionNeedPatcherTests
{
    private const string Glibcxx332 = ElfVersionNeedPatcher.TorchSharpGlibcxxVersion;

    private string tempDirectory = null!;

    [TestInitialize]
    public void CreateTempDirectory()
    {
        tempDirectory = Path.Combine(Path.GetTempPath(), "dml-elf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tempDirectory);
    }

    [TestCleanup]
    public void DeleteTempDirectory()
    {
        if (Directory.Exists(tempDirectory))
        {
            Directory.Delete(tempDirectory, recursive: true);
        }
    }

    /// <summary>The shim in this test assembly's output, where the build copied (and possibly patched) it.</summary>
    private static string? OutputShim()
    {
        foreach (var directory in new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") })
        {
            var path = Path.Combine(directory, ElfVersionNeedPatcher.LibTorchSharpFileName);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>The untouched original in the NuGet package cache (only ever read here).</summary>
    private static string NuGetCacheShim()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(root))
        {
            root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }

        return Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", ElfVersionNeedPatcher.LibTorchSharpFileName);
    }

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(tempDirectory, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    [TestMethod]
    public void OutputShim_NeedsGlibcxx332_WeakExactlyWhenSystemLibStdCxxLacksIt()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            Assert.Inconclusive("libLibTorchSharp.so is only deployed and patched on Linux.");
        }

        var shim = OutputShim();
        if (shim is null)
        {
            Assert.Inconclusive($"No libLibTorchSharp.so in {AppContext.BaseDirectory}.");
        }

        var needs = ElfVersionNeedPatcher.ReadVersionNeeds(shim);
        var entry = needs.SingleOrDefault(n => n.Version == Glibcxx332);
        Assert.IsNotNull(entry.Version, $"{shim} does not need {Glibcxx332}; TorchSharp changed, revisit docs/torchsharp-on-linux.md.");
        Assert.AreEqual(ElfVersionNeedPatcher.LibStdCxxSoName, entry.File);
        Assert.IsTrue(needs.Count > 10, "expected the shim's full list of glibc/libstdc++ version needs");

        bool systemHasIt = ElfVersionNeedPatcher.SystemLibStdCxxHas(Glibcxx332);
        bool weak = (entry.Flags & ElfVersionNeedPatcher.VerFlgWeak) != 0;
        Assert.AreEqual(!systemHasIt, weak,
            systemHasIt
                ? $"{shim} was patched although the system libstdc++ has {Glibcxx332}."
                : $"{shim} still needs {Glibcxx332} strongly and the system libstdc++ ({ElfVersionNeedPatcher.FindSystemLibStdCxx()}) lacks it: " +
                  "the build step did not patch it. Is buildTransitive/Diffusion.ML.TorchSharp.targets imported by this test project? See docs/torchsharp-on-linux.md.");

        // Only that one entry may have been weakened.
        Assert.IsTrue(needs.Where(n => n.Version != Glibcxx332).All(n => (n.Flags & ElfVersionNeedPatcher.VerFlgWeak) == 0));
    }

    [TestMethod]
    public void MarkVersionWeak_OnTempCopyOfNuGetOriginal_SetsWeakBitAndChangesNothingElse()
    {
        var original = NuGetCacheShim();
        if (!File.Exists(original))
        {
            Assert.Inconclusive($"TorchSharp 0.107.0's shim is not in the NuGet cache ({original}).");
        }

        byte[] originalHash = SHA256.HashData(File.ReadAllBytes(original));
        var copy = Path.Combine(tempDirectory, ElfVersionNeedPatcher.LibTorchSharpFileName);
        File.Copy(original, copy);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }

        var stamp = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(copy, stamp);
        byte[] before = File.ReadAllBytes(copy);
        var needsBefore = ElfVersionNeedPatcher.ReadVersionNeeds(copy);
        var flagsBefore = needsBefore.Single(n => n.Version == Glibcxx332).Flags;
        Assert.AreEqual(0, flagsBefore & ElfVersionNeedPatcher.VerFlgWeak, "the NuGet original should need GLIBCXX_3.4.32 strongly");
        Assert.IsTrue(ElfVersionNeedPatcher.HasStrongVersionNeed(copy, Glibcxx332));

        Assert.IsTrue(ElfVersionNeedPatcher.MarkVersionWeak(copy, Glibcxx332));

        byte[] after = File.ReadAllBytes(copy);
        var needsAfter = ElfVersionNeedPatcher.ReadVersionNeeds(copy);
        Assert.AreEqual(flagsBefore | ElfVersionNeedPatcher.VerFlgWeak, needsAfter.Single(n => n.Version == Glibcxx332).Flags);
        Assert.IsFalse(ElfVersionNeedPatcher.HasStrongVersionNeed(copy, Glibcxx332));
        CollectionAssert.AreEqual(
            needsBefore.Where(n => n.Version != Glibcxx332).ToList(),
            needsAfter.Where(n => n.Version != Glibcxx332).ToList(),
            "the other version needs must be unchanged");

        Assert.HasCount(before.Length, after);
        var differing = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        Assert.HasCount(1, differing, "only the low byte of vna_flags may change");
        Assert.AreEqual((byte)(before[differing[0]] | 0x2), after[differing[0]]);

        // Mode and time stamp are preserved (MSBuild's incremental copy relies on the latter).
        Assert.AreEqual(stamp, File.GetLastWriteTimeUtc(copy));
        if (!OperatingSystem.IsWindows())
        {
            Assert.AreEqual(
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute,
                File.GetUnixFileMode(copy));
        }

        // No temporary files left behind; a second call changes nothing.
        CollectionAssert.AreEqual(new[] { copy }, Directory.GetFiles(tempDirectory));
        Assert.IsFalse(ElfVersionNeedPatcher.MarkVersionWeak(copy, Glibcxx332));
        CollectionAssert.AreEqual(after, File.ReadAllBytes(copy));

        // The NuGet cache copy was only read.
        CollectionAssert.AreEqual(originalHash, SHA256.HashData(File.ReadAllBytes(original)));
    }

    [TestMethod]
    public void MarkVersionWeak_ReplacesFileAtomically_SoHardLinkedOriginalIsUntouched()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("Uses ln(1).");
        }

        var bytes = SyntheticElf.Build([new("libstdc++.so.6", ("GLIBCXX_3.4", 0), (Glibcxx332, 0))]);
        var cache = Write("cache.so", bytes);
        var output = Path.Combine(tempDirectory, "output.so");
        using (var ln = System.Diagnostics.Process.Start("ln", [cache, output]))
        {
            ln.WaitForExit();
            Assert.AreEqual(0, ln.ExitCode);
        }

        Assert.IsTrue(ElfVersionNeedPatcher.MarkVersionWeak(output, Glibcxx332));
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(cache), "the hard-linked original must not change");
        Assert.IsFalse(ElfVersionNeedPatcher.HasStrongVersionNeed(output, Glibcxx332));
    }

    [TestMethod]
    public void ReadVersionNeeds_Synthetic_ListsEveryEntryInOrder()
    {
        var path = Write("lib.so", SyntheticElf.Build(
        [
            new("libc.so.6", ("GLIBC_2.2.5", 0), ("GLIBC_2.34", 0)),
            new("libstdc++.so.6", ("GLIBCXX_3.4", 0), (Glibcxx332, 0), ("CXXABI_1.3", 2)),
        ]));

        var needs = ElfVersionNeedPatcher.ReadVersionNeeds(path);

        CollectionAssert.AreEqual(
            new[]
            {
                ("libc.so.6", "GLIBC_2.2.5", (ushort)0),
                ("libc.so.6", "GLIBC_2.34", (ushort)0),
                ("libstdc++.so.6", "GLIBCXX_3.4", (ushort)0),
                ("libstdc++.so.6", Glibcxx332, (ushort)0),
                ("libstdc++.so.6", "CXXABI_1.3", (ushort)2),
            },
            needs.ToArray());
        Assert.AreEqual((ushort)0, ElfVersionNeedPatcher.GetVersionNeedFlags(path, Glibcxx332, "libstdc++.so.6"));
        Assert.IsNull(ElfVersionNeedPatcher.GetVersionNeedFlags(path, Glibcxx332, "libc.so.6"));
        Assert.IsNull(ElfVersionNeedPatcher.GetVersionNeedFlags(path, "GLIBCXX_9.9"));
    }

    [TestMethod]
    public void MarkVersionWeak_Synthetic_ReturnsFalseWhenAbsentOrAlreadyWeak()
    {
        var path = Write("lib.so", SyntheticElf.Build(
        [
            new("libstdc++.so.6", ("GLIBCXX_3.4", 0), (Glibcxx332, 0x2)),
        ]));
        byte[] before = File.ReadAllBytes(path);

        Assert.IsFalse(ElfVersionNeedPatcher.MarkVersionWeak(path, Glibcxx332), "already weak");
        Assert.IsFalse(ElfVersionNeedPatcher.MarkVersionWeak(path, "GLIBCXX_3.4.99"), "not needed at all");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));

        Assert.IsTrue(ElfVersionNeedPatcher.MarkVersionWeak(path, "GLIBCXX_3.4"));
        Assert.AreEqual((ushort)2, ElfVersionNeedPatcher.GetVersionNeedFlags(path, "GLIBCXX_3.4"));
    }

    [TestMethod]
    public void ReadVersionNeeds_ObjectWithoutVersionSections_IsEmpty()
    {
        var path = Write("plain.so", SyntheticElf.Build());
        Assert.IsEmpty(ElfVersionNeedPatcher.ReadVersionNeeds(path));
        Assert.IsEmpty(ElfVersionNeedPatcher.ReadVersionDefinitions(path));
        Assert.IsFalse(ElfVersionNeedPatcher.MarkVersionWeak(path, Glibcxx332));
    }

    [TestMethod]
    public void NonElfFile_ThrowsInvalidDataException_AndIsNotModified()
    {
        var path = Write("notes.txt", "This is not a shared library, just some text."u8.ToArray());

        var error = Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(path));
        Assert.Contains("not an ELF file", error.Message);
        Assert.Contains(path, error.Message);

        Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.MarkVersionWeak(path, Glibcxx332));
        Assert.AreEqual("This is not a shared library, just some text.", File.ReadAllText(path));

        var tiny = Write("tiny.bin", [0x7f, (byte)'E']);
        Assert.Contains("not an ELF file", Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(tiny)).Message);
    }

    [TestMethod]
    public void Elf32AndBigEndian_ThrowInvalidDataException()
    {
        var bytes = SyntheticElf.Build([new("libstdc++.so.6", (Glibcxx332, 0))]);

        var elf32 = (byte[])bytes.Clone();
        elf32[4] = 1;
        Assert.Contains("32-bit", Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(Write("elf32.so", elf32))).Message);

        var bigEndian = (byte[])bytes.Clone();
        bigEndian[5] = 2;
        Assert.Contains("big-endian", Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(Write("be.so", bigEndian))).Message);
    }

    [TestMethod]
    public void TruncatedFiles_ThrowInvalidDataException()
    {
        var bytes = SyntheticElf.Build([new("libstdc++.so.6", ("GLIBCXX_3.4", 0), (Glibcxx332, 0))]);

        // Cut inside the ELF header.
        var header = Write("header.so", bytes[..40]);
        Assert.Contains("truncated", Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(header)).Message);

        // Cut inside the section header table (which sits at the end).
        var table = Write("table.so", bytes[..(bytes.Length - 10)]);
        Assert.Contains("truncated", Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(table)).Message);
        Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.MarkVersionWeak(table, Glibcxx332));

        // A real shim cut in half: its section headers are at the end of the file.
        var real = OutputShim() ?? NuGetCacheShim();
        if (File.Exists(real))
        {
            byte[] realBytes = File.ReadAllBytes(real);
            var half = Write("half.so", realBytes[..(realBytes.Length / 2)]);
            Assert.Contains("truncated", Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeedPatcher.ReadVersionNeeds(half)).Message);
        }
    }

    [TestMethod]
    public void VersionDefinitions_Synthetic_DefinesAndHighest()
    {
        var path = Write("libstdc++.so.6", SyntheticElf.Build(definitions: ["libstdc++.so.6", "GLIBCXX_3.4", "GLIBCXX_3.4.9", "GLIBCXX_3.4.30", "CXXABI_1.3"]));

        CollectionAssert.AreEqual(
            new[] { "libstdc++.so.6", "GLIBCXX_3.4", "GLIBCXX_3.4.9", "GLIBCXX_3.4.30", "CXXABI_1.3" },
            ElfVersionNeedPatcher.ReadVersionDefinitions(path).ToArray());
        Assert.IsTrue(ElfVersionNeedPatcher.LibraryDefinesVersion(path, "GLIBCXX_3.4.30"));
        Assert.IsFalse(ElfVersionNeedPatcher.LibraryDefinesVersion(path, Glibcxx332));
        Assert.AreEqual("GLIBCXX_3.4.30", ElfVersionNeedPatcher.HighestDefinedVersion(path));
    }

    [TestMethod]
    [DoNotParallelize]
    public void SystemLibStdCxxHas_HonoursLdLibraryPath()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            Assert.Inconclusive("Linux only.");
        }

        var directory = Path.Combine(tempDirectory, "newer-libstdcxx");
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(
            Path.Combine(directory, ElfVersionNeedPatcher.LibStdCxxSoName),
            SyntheticElf.Build(definitions: ["libstdc++.so.6", "GLIBCXX_3.4", "GLIBCXX_3.4.32", "GLIBCXX_3.4.33"]));

        var saved = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        try
        {
            Environment.SetEnvironmentVariable("LD_LIBRARY_PATH", directory + (string.IsNullOrEmpty(saved) ? "" : ":" + saved));
            Assert.AreEqual(directory, ElfVersionNeedPatcher.LibrarySearchDirectories()[0]);
            Assert.AreEqual(Path.Combine(directory, ElfVersionNeedPatcher.LibStdCxxSoName), ElfVersionNeedPatcher.FindSystemLibStdCxx());
            Assert.IsTrue(ElfVersionNeedPatcher.SystemLibStdCxxHas(Glibcxx332));
            Assert.IsFalse(ElfVersionNeedPatcher.SystemLibStdCxxHas("GLIBCXX_3.4.99"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("LD_LIBRARY_PATH", saved);
        }
    }

    [TestMethod]
    public void SystemLibStdCxx_IsFoundAndReadable()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            Assert.Inconclusive("Linux only.");
        }

        var library = ElfVersionNeedPatcher.FindSystemLibStdCxx();
        if (library is null)
        {
            Assert.Inconclusive("No libstdc++.so.6 in the standard library directories.");
        }

        Assert.IsTrue(ElfVersionNeedPatcher.SystemLibStdCxxHas("GLIBCXX_3.4"), $"{library} should define the base GLIBCXX_3.4");
        Assert.IsFalse(ElfVersionNeedPatcher.SystemLibStdCxxHas("GLIBCXX_99.0"));
        var highest = ElfVersionNeedPatcher.HighestDefinedVersion(library);
        Assert.IsNotNull(highest);
        Assert.StartsWith("GLIBCXX_3.4", highest);
        Assert.AreEqual(
            ElfVersionNeedPatcher.LibraryDefinesVersion(library, Glibcxx332),
            ElfVersionNeedPatcher.SystemLibStdCxxHas(Glibcxx332));
        Console.WriteLine($"System libstdc++: {library}, highest {highest}, has {Glibcxx332}: {ElfVersionNeedPatcher.SystemLibStdCxxHas(Glibcxx332)}");

        // The .NET host links libstdc++, so the one in use is normally already mapped into this process.
        Console.WriteLine($"libstdc++ mapped into this process: {ElfVersionNeedPatcher.FindLoadedLibStdCxx() ?? "(none)"}");
    }
}
