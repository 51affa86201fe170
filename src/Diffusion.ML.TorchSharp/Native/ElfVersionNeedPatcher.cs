// ElfVersionNeedPatcher: a small, pure managed ELF64 (little-endian) reader/writer for the GNU symbol
// versioning sections, used to make TorchSharp's native shim loadable on systems whose libstdc++ is one
// release too old (see docs/torchsharp-on-linux.md).
//
// This one source file is compiled twice:
//   * into Diffusion.ML.TorchSharp.dll (the csproj defines DIFFUSION_ML_LIBRARY), where only the patcher is
//     compiled; it is used by TorchSharpRuntime.EnsureLoaded() at run time;
//   * by MSBuild's RoslynCodeTaskFactory from buildTransitive/Diffusion.ML.TorchSharp.targets, where
//     DIFFUSION_ML_LIBRARY is not defined, so the MSBuild task class at the bottom of the file is compiled
//     too. That compilation targets netstandard2.0 reference assemblies and defines no symbols, so
//     everything outside the '#if NET7_0_OR_GREATER' / '#if NETCOREAPP3_0_OR_GREATER' blocks must stick to
//     the netstandard2.0 API surface (the task still runs on MSBuild's modern .NET, so those blocks' #else
//     branches reach the newer APIs through reflection).
// The file is packed into the NuGet package next to the targets file.

#nullable enable

using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Diffusion.ML.TorchSharp.Native
{
    /// <summary>
    /// Reads and edits the GNU version-needs (<c>.gnu.version_r</c>) and version-definitions
    /// (<c>.gnu.version_d</c>) sections of ELF64 little-endian shared objects.
    /// </summary>
    /// <remarks>
    /// The one edit supported is setting <c>VER_FLG_WEAK</c> on a needed version: the dynamic loader then
    /// only notes a missing version instead of refusing to load the object. That is safe exactly when no
    /// symbol bound to that version is actually relocated, which holds for <c>GLIBCXX_3.4.32</c> in
    /// TorchSharp's <c>libLibTorchSharp.so</c> (its only symbol from that version is the link anchor
    /// <c>std::ios_base_library_init()</c>, which has no relocation).
    /// Writes are atomic: the file is copied to a temporary file in the same directory, patched there and
    /// renamed over the original, so a hard-linked or symlinked original (for example in the NuGet cache)
    /// is never modified in place.
    /// </remarks>
    public static class ElfVersionNeedPatcher
    {
        /// <summary>Section type SHT_GNU_verdef (<c>.gnu.version_d</c>).</summary>
        public const uint ShtGnuVerdef = 0x6ffffffd;

        /// <summary>Section type SHT_GNU_verneed (<c>.gnu.version_r</c>).</summary>
        public const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>The <c>VER_FLG_WEAK</c> bit of <c>vna_flags</c>.</summary>
        public const ushort VerFlgWeak = 0x2;

        /// <summary>The file name of TorchSharp's native shim on Linux.</summary>
        public const string LibTorchSharpFileName = "libLibTorchSharp.so";

        /// <summary>The soname of the GNU C++ runtime.</summary>
        public const string LibStdCxxSoName = "libstdc++.so.6";

        /// <summary>
        /// The libstdc++ symbol version that TorchSharp 0.107's shim (built with GCC 13) needs but that
        /// GCC 12's libstdc++ (Debian 12, Ubuntu 22.04) does not define.
        /// </summary>
        public const string TorchSharpGlibcxxVersion = "GLIBCXX_3.4.32";

        private const int ElfHeaderSize = 64;
        private const int SectionHeaderSize = 64;
        private const int MaxEntries = 1 << 16;

        /// <summary>
        /// Lists every needed symbol version of an ELF64 little-endian object: the library that must
        /// provide it (<c>vn_file</c>), the version name (<c>vna_name</c>) and its <c>vna_flags</c>.
        /// </summary>
        /// <param name="path">The shared object to read.</param>
        /// <returns>The entries in file order; empty when the object has no <c>.gnu.version_r</c> section.</returns>
        /// <exception cref="InvalidDataException">The file is not ELF64 little-endian, or is truncated.</exception>
        public static IReadOnlyList<(string File, string Version, ushort Flags)> ReadVersionNeeds(string path)
        {
            var result = new List<(string File, string Version, ushort Flags)>();
            using (var stream = OpenRead(path))
            {
                foreach (var entry in ReadVernaux(stream, path))
                {
                    result.Add((entry.File, entry.Version, entry.Flags));
                }
            }

            return result;
        }

        /// <summary>Lists the symbol versions an ELF64 little-endian object defines (its <c>.gnu.version_d</c>).</summary>
        /// <param name="path">The shared object to read, for example <c>libstdc++.so.6</c>.</param>
        /// <returns>The version names in file order (the first is usually the soname); empty when there are none.</returns>
        /// <exception cref="InvalidDataException">The file is not ELF64 little-endian, or is truncated.</exception>
        public static IReadOnlyList<string> ReadVersionDefinitions(string path)
        {
            using (var stream = OpenRead(path))
            {
                var elf = ReadLayout(stream, path);
                var result = new List<string>();
                foreach (var section in elf.Sections)
                {
                    if (section.Type != ShtGnuVerdef)
                    {
                        continue;
                    }

                    byte[] data = ReadSection(stream, path, section, elf.FileLength, ".gnu.version_d");
                    byte[] strings = ReadLinkedStrings(stream, path, elf, section, ".gnu.version_d");
                    long offset = 0;
                    for (int i = 0; i < MaxEntries; i++)
                    {
                        // Elf64_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32,
                        // vd_aux u32, vd_next u32.
                        Require(path, data, offset, 20, "Verdef entry");
                        ushort count = U16(data, offset + 6);
                        uint aux = U32(data, offset + 12);
                        uint next = U32(data, offset + 16);
                        long auxOffset = offset + aux;
                        for (int j = 0; j < count && j < MaxEntries; j++)
                        {
                            // Elf64_Verdaux: vda_name u32, vda_next u32.
                            Require(path, data, auxOffset, 8, "Verdaux entry");
                            result.Add(CString(path, strings, U32(data, auxOffset)));
                            uint auxNext = U32(data, auxOffset + 4);
                            if (auxNext == 0)
                            {
                                break;
                            }

                            auxOffset += auxNext;
                        }

                        if (next == 0)
                        {
                            break;
                        }

                        offset += next;
                    }
                }

                return result;
            }
        }

        /// <summary>
        /// Gets the <c>vna_flags</c> of the needed version <paramref name="version"/>
        /// (optionally only for the library <paramref name="file"/>).
        /// </summary>
        /// <param name="path">The shared object to read.</param>
        /// <param name="version">A version name such as <c>GLIBCXX_3.4.32</c>.</param>
        /// <param name="file">The needed library (<c>vn_file</c>), or null for any.</param>
        /// <returns>The flags of the first matching entry, or null when the object does not need that version.</returns>
        public static ushort? GetVersionNeedFlags(string path, string version, string? file = null)
        {
            foreach (var need in ReadVersionNeeds(path))
            {
                if (need.Version == version && (file == null || need.File == file))
                {
                    return need.Flags;
                }
            }

            return null;
        }

        /// <summary>
        /// True when the object needs <paramref name="version"/> and at least one such entry lacks
        /// <c>VER_FLG_WEAK</c>, so the loader refuses the object when the version is missing.
        /// </summary>
        /// <param name="path">The shared object to read.</param>
        /// <param name="version">A version name such as <c>GLIBCXX_3.4.32</c>.</param>
        /// <returns>Whether a strong need for the version is present.</returns>
        public static bool HasStrongVersionNeed(string path, string version)
        {
            foreach (var need in ReadVersionNeeds(path))
            {
                if (need.Version == version && (need.Flags & VerFlgWeak) == 0)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>
        /// Sets <c>VER_FLG_WEAK</c> on every needed-version entry named <paramref name="version"/>, atomically
        /// (copy to a temporary file in the same directory, patch, rename over the original; the Unix file
        /// mode is preserved).
        /// </summary>
        /// <param name="path">The shared object to patch. Never pass a file inside the NuGet package cache.</param>
        /// <param name="version">The version name, for example <c>GLIBCXX_3.4.32</c>.</param>
        /// <param name="preserveLastWriteTime">
        /// Keep the original last-write time. MSBuild's incremental copy compares size and time stamp with
        /// the package's file, so a patched copy with the original time stamp is not copied over again.
        /// </param>
        /// <returns>True when the file was changed; false when no entry has that name or all are already weak.</returns>
        /// <exception cref="InvalidDataException">The file is not ELF64 little-endian, or is truncated.</exception>
        public static bool MarkVersionWeak(string path, string version, bool preserveLastWriteTime = true)
        {
            if (string.IsNullOrEmpty(version))
            {
                throw new ArgumentException("A version name is required.", nameof(version));
            }

            string fullPath = Path.GetFullPath(path);
            var offsets = new List<(long FlagsOffset, ushort Flags)>();
            using (var stream = OpenRead(fullPath))
            {
                foreach (var entry in ReadVernaux(stream, fullPath))
                {
                    if (entry.Version == version && (entry.Flags & VerFlgWeak) == 0)
                    {
                        offsets.Add((entry.FlagsFileOffset, entry.Flags));
                    }
                }
            }

            if (offsets.Count == 0)
            {
                return false;
            }

            string directory = Path.GetDirectoryName(fullPath) ?? ".";
            string temp = Path.Combine(directory, "." + Path.GetFileName(fullPath) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            DateTime lastWriteUtc = File.GetLastWriteTimeUtc(fullPath);
            bool isUnix = !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
            int? unixMode = isUnix ? GetUnixMode(fullPath) : null;
            try
            {
                File.Copy(fullPath, temp, overwrite: false);
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    foreach (var (flagsOffset, flags) in offsets)
                    {
                        ushort patched = (ushort)(flags | VerFlgWeak);
                        stream.Position = flagsOffset;
                        stream.WriteByte((byte)(patched & 0xff));
                        stream.WriteByte((byte)(patched >> 8));
                    }

                    stream.Flush(flushToDisk: true);
                }

                if (unixMode.HasValue)
                {
                    SetUnixMode(temp, unixMode.Value);
                }

                if (preserveLastWriteTime)
                {
                    File.SetLastWriteTimeUtc(temp, lastWriteUtc);
                }

                MoveOverwrite(temp, fullPath);
            }
            catch
            {
                try
                {
                    if (File.Exists(temp))
                    {
                        File.Delete(temp);
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }

                throw;
            }

            return true;
        }

        /// <summary>
        /// True when <paramref name="libraryPath"/> defines the symbol version <paramref name="version"/>
        /// (from its <c>.gnu.version_d</c>; objects without one are searched for the NUL-terminated name).
        /// </summary>
        /// <param name="libraryPath">A shared library, for example <c>/lib/x86_64-linux-gnu/libstdc++.so.6</c>.</param>
        /// <param name="version">A version name such as <c>GLIBCXX_3.4.32</c>.</param>
        /// <returns>Whether the library defines the version.</returns>
        public static bool LibraryDefinesVersion(string libraryPath, string version)
        {
            var definitions = ReadVersionDefinitions(libraryPath);
            if (definitions.Count > 0)
            {
                foreach (var definition in definitions)
                {
                    if (definition == version)
                    {
                        return true;
                    }
                }

                return false;
            }

            return FileContainsCString(libraryPath, version);
        }

        /// <summary>
        /// The highest <c>GLIBCXX_3.4.N</c> (or other <paramref name="prefix"/>) version that a library defines,
        /// for diagnostics such as "system libstdc++ has up to GLIBCXX_3.4.30".
        /// </summary>
        /// <param name="libraryPath">The library to read.</param>
        /// <param name="prefix">The version-name prefix; <c>GLIBCXX_</c> by default.</param>
        /// <returns>The highest version name, or null when none is defined or the file cannot be read.</returns>
        public static string? HighestDefinedVersion(string libraryPath, string prefix = "GLIBCXX_")
        {
            try
            {
                string? best = null;
                foreach (var definition in ReadVersionDefinitions(libraryPath))
                {
                    if (definition.StartsWith(prefix, StringComparison.Ordinal)
                        && (best == null || CompareDottedVersions(definition.Substring(prefix.Length), best.Substring(prefix.Length)) > 0))
                    {
                        best = definition;
                    }
                }

                return best;
            }
            catch (InvalidDataException)
            {
                return null;
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>
        /// The directories the dynamic loader searches for a library, in roughly its order:
        /// <c>LD_LIBRARY_PATH</c>, the directories of <c>/etc/ld.so.conf</c> (which feed <c>ld.so.cache</c>),
        /// then the default multiarch and legacy directories for the process architecture.
        /// </summary>
        /// <returns>Existing directories, without duplicates.</returns>
        public static IReadOnlyList<string> LibrarySearchDirectories()
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var result = new List<string>();

            void Add(string? directory)
            {
                if (string.IsNullOrWhiteSpace(directory))
                {
                    return;
                }

                string trimmed = directory!.Trim();
                if (trimmed.Length > 1)
                {
                    trimmed = trimmed.TrimEnd('/');
                }

                if (seen.Add(trimmed) && Directory.Exists(trimmed))
                {
                    result.Add(trimmed);
                }
            }

            string? ldLibraryPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ldLibraryPath))
            {
                foreach (var directory in ldLibraryPath!.Split(new[] { ':', ';' }, StringSplitOptions.RemoveEmptyEntries))
                {
                    Add(directory);
                }
            }

            foreach (var directory in ReadLdSoConf("/etc/ld.so.conf", 0))
            {
                Add(directory);
            }

            string multiarch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
            Add("/lib/" + multiarch);
            Add("/usr/lib/" + multiarch);
            Add("/lib64");
            Add("/usr/lib64");
            Add("/lib");
            Add("/usr/lib");
            // Both multiarch triplets, for completeness (a foreign-architecture process is unusual).
            Add("/lib/x86_64-linux-gnu");
            Add("/usr/lib/x86_64-linux-gnu");
            Add("/lib/aarch64-linux-gnu");
            Add("/usr/lib/aarch64-linux-gnu");
            return result;
        }

        /// <summary>
        /// Finds the <c>libstdc++.so.6</c> the dynamic loader would use for a new process: the first one in
        /// <see cref="LibrarySearchDirectories"/>.
        /// </summary>
        /// <returns>Its path (possibly a symbolic link), or null when none is found.</returns>
        public static string? FindSystemLibStdCxx()
        {
            foreach (var directory in LibrarySearchDirectories())
            {
                string candidate = Path.Combine(directory, LibStdCxxSoName);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }

        /// <summary>
        /// The <c>libstdc++.so.6</c> already mapped into this process (the .NET host links it, so on Linux it is
        /// normally loaded before any native library), read from <c>/proc/self/maps</c>.
        /// </summary>
        /// <returns>Its path, or null when not on Linux or it is not loaded.</returns>
        public static string? FindLoadedLibStdCxx()
        {
            try
            {
                const string maps = "/proc/self/maps";
                if (!File.Exists(maps))
                {
                    return null;
                }

                foreach (var line in File.ReadAllLines(maps))
                {
                    int slash = line.IndexOf('/');
                    if (slash < 0)
                    {
                        continue;
                    }

                    string mapped = line.Substring(slash).Trim();
                    string name = Path.GetFileName(mapped);
                    if (name.StartsWith(LibStdCxxSoName, StringComparison.Ordinal) && File.Exists(mapped))
                    {
                        return mapped;
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }

            return null;
        }

        /// <summary>
        /// True when the <c>libstdc++.so.6</c> the dynamic loader would use (see <see cref="FindSystemLibStdCxx"/>)
        /// defines <paramref name="version"/>. False when it does not, or when no libstdc++ is found.
        /// </summary>
        /// <param name="version">A version name such as <c>GLIBCXX_3.4.32</c>.</param>
        /// <returns>Whether the system libstdc++ provides the version.</returns>
        public static bool SystemLibStdCxxHas(string version)
        {
            string? library = FindSystemLibStdCxx();
            if (library == null)
            {
                return false;
            }

            try
            {
                return LibraryDefinesVersion(library, version);
            }
            catch (InvalidDataException)
            {
                return false;
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        }

        // ----------------------------------------------------------------------------------------------
        // ELF reading

        private sealed class Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
        }

        private sealed class Layout
        {
            public long FileLength;
            public List<Section> Sections = new List<Section>();
        }

        private struct VernauxEntry
        {
            public string File;
            public string Version;
            public ushort Flags;
            public long FlagsFileOffset;
        }

        private static InvalidDataException Bad(string path, string problem) =>
            new InvalidDataException($"{path}: {problem}");

        private static FileStream OpenRead(string path)
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, FileOptions.RandomAccess);
        }

        private static Layout ReadLayout(FileStream stream, string path)
        {
            long length = stream.Length;
            if (length < 4)
            {
                throw Bad(path, $"not an ELF file (only {length} bytes long).");
            }

            byte[] header = ReadAt(stream, 0, (int)Math.Min(ElfHeaderSize, length));
            if (header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
            {
                throw Bad(path, "not an ELF file (missing the \\x7fELF magic bytes).");
            }

            if (header.Length < 6)
            {
                throw Bad(path, $"truncated ELF header ({length} of {ElfHeaderSize} bytes).");
            }

            if (header[4] != 2)
            {
                throw Bad(path, header[4] == 1
                    ? "a 32-bit ELF file (ELFCLASS32); only ELF64 is supported."
                    : $"unknown ELF class {header[4]}; only ELF64 is supported.");
            }

            if (header[5] != 1)
            {
                throw Bad(path, "a big-endian ELF file; only little-endian ELF64 is supported.");
            }

            if (header.Length < ElfHeaderSize)
            {
                throw Bad(path, $"truncated ELF header ({length} of {ElfHeaderSize} bytes).");
            }

            ulong shoff = U64(header, 40);
            ushort shentsize = U16(header, 58);
            long shnum = U16(header, 60);
            var layout = new Layout { FileLength = length };
            if (shoff == 0)
            {
                return layout; // no section header table: nothing to find
            }

            if (shentsize < SectionHeaderSize)
            {
                throw Bad(path, $"section header entries are {shentsize} bytes; expected {SectionHeaderSize}.");
            }

            if (shoff > (ulong)length)
            {
                throw Bad(path, $"truncated: the section header table at offset {shoff} lies beyond the end of the file ({length} bytes).");
            }

            if (shnum == 0)
            {
                // Extended numbering: the real count is in sh_size of section 0.
                byte[] first = ReadExact(stream, path, (long)shoff, SectionHeaderSize, "section header 0");
                ulong realCount = U64(first, 32);
                if (realCount > MaxEntries * 16UL)
                {
                    throw Bad(path, $"implausible section count {realCount}.");
                }

                shnum = (long)realCount;
            }

            long tableSize = shnum * shentsize;
            byte[] table = ReadExact(stream, path, (long)shoff, tableSize, "section header table");
            for (long i = 0; i < shnum; i++)
            {
                long at = i * shentsize;
                layout.Sections.Add(new Section
                {
                    Type = U32(table, at + 4),
                    Offset = checked((long)U64(table, at + 24)),
                    Size = checked((long)U64(table, at + 32)),
                    Link = U32(table, at + 40),
                });
            }

            return layout;
        }

        private static List<VernauxEntry> ReadVernaux(FileStream stream, string path)
        {
            var elf = ReadLayout(stream, path);
            var result = new List<VernauxEntry>();
            foreach (var section in elf.Sections)
            {
                if (section.Type != ShtGnuVerneed)
                {
                    continue;
                }

                byte[] data = ReadSection(stream, path, section, elf.FileLength, ".gnu.version_r");
                byte[] strings = ReadLinkedStrings(stream, path, elf, section, ".gnu.version_r");
                long offset = 0;
                for (int i = 0; i < MaxEntries; i++)
                {
                    // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
                    Require(path, data, offset, 16, "Verneed entry");
                    ushort count = U16(data, offset + 2);
                    string file = CString(path, strings, U32(data, offset + 4));
                    uint aux = U32(data, offset + 8);
                    uint next = U32(data, offset + 12);
                    long auxOffset = offset + aux;
                    for (int j = 0; j < count && j < MaxEntries; j++)
                    {
                        // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
                        Require(path, data, auxOffset, 16, "Vernaux entry");
                        result.Add(new VernauxEntry
                        {
                            File = file,
                            Version = CString(path, strings, U32(data, auxOffset + 8)),
                            Flags = U16(data, auxOffset + 4),
                            FlagsFileOffset = section.Offset + auxOffset + 4,
                        });
                        uint auxNext = U32(data, auxOffset + 12);
                        if (auxNext == 0)
                        {
                            break;
                        }

                        auxOffset += auxNext;
                    }

                    if (next == 0)
                    {
                        break;
                    }

                    offset += next;
                }
            }

            return result;
        }

        private static byte[] ReadSection(FileStream stream, string path, Section section, long fileLength, string what)
        {
            if (section.Offset < 0 || section.Size < 0 || section.Offset > fileLength || section.Size > fileLength - section.Offset)
            {
                throw Bad(path, $"truncated: {what} (offset {section.Offset}, {section.Size} bytes) extends beyond the end of the file ({fileLength} bytes).");
            }

            return ReadExact(stream, path, section.Offset, section.Size, what);
        }

        private static byte[] ReadLinkedStrings(FileStream stream, string path, Layout elf, Section section, string what)
        {
            if (section.Link == 0 || section.Link >= elf.Sections.Count)
            {
                throw Bad(path, $"{what} links to string table section {section.Link}, which does not exist.");
            }

            return ReadSection(stream, path, elf.Sections[(int)section.Link], elf.FileLength, $"the string table of {what}");
        }

        private static byte[] ReadExact(FileStream stream, string path, long offset, long count, string what)
        {
            if (count > int.MaxValue || offset < 0 || offset > stream.Length || count > stream.Length - offset)
            {
                throw Bad(path, $"truncated: {what} ({count} bytes at offset {offset}) extends beyond the end of the file ({stream.Length} bytes).");
            }

            byte[] buffer = ReadAt(stream, offset, (int)count);
            if (buffer.Length != count)
            {
                throw Bad(path, $"truncated: could only read {buffer.Length} of {count} bytes of {what}.");
            }

            return buffer;
        }

        private static byte[] ReadAt(FileStream stream, long offset, int count)
        {
            var buffer = new byte[count];
            stream.Position = offset;
            int total = 0;
            while (total < count)
            {
                int read = stream.Read(buffer, total, count - total);
                if (read <= 0)
                {
                    break;
                }

                total += read;
            }

            if (total != count)
            {
                Array.Resize(ref buffer, total);
            }

            return buffer;
        }

        private static void Require(string path, byte[] data, long offset, int size, string what)
        {
            if (offset < 0 || offset > data.Length - size)
            {
                throw Bad(path, $"corrupt or truncated version section: {what} at offset {offset} lies outside the section ({data.Length} bytes).");
            }
        }

        private static string CString(string path, byte[] strings, uint offset)
        {
            if (offset >= strings.Length)
            {
                throw Bad(path, $"string offset {offset} lies outside the string table ({strings.Length} bytes).");
            }

            int end = Array.IndexOf(strings, (byte)0, (int)offset);
            if (end < 0)
            {
                throw Bad(path, $"unterminated string at offset {offset} of the string table.");
            }

            return Encoding.UTF8.GetString(strings, (int)offset, end - (int)offset);
        }

        private static bool FileContainsCString(string path, string value)
        {
            byte[] needle = Encoding.ASCII.GetBytes("\0" + value + "\0");
            byte[] data = File.ReadAllBytes(path);
            for (int i = 0; i <= data.Length - needle.Length; i++)
            {
                int k = 0;
                while (k < needle.Length && data[i + k] == needle[k])
                {
                    k++;
                }

                if (k == needle.Length)
                {
                    return true;
                }
            }

            return false;
        }

        private static IEnumerable<string> ReadLdSoConf(string file, int depth)
        {
            var result = new List<string>();
            if (depth > 8 || !File.Exists(file))
            {
                return result;
            }

            string[] lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (IOException)
            {
                return result;
            }
            catch (UnauthorizedAccessException)
            {
                return result;
            }

            foreach (var raw in lines)
            {
                int hash = raw.IndexOf('#');
                string line = (hash >= 0 ? raw.Substring(0, hash) : raw).Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                if (line.StartsWith("include", StringComparison.Ordinal) && line.Length > 7 && char.IsWhiteSpace(line[7]))
                {
                    foreach (var pattern in line.Substring(8).Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries))
                    {
                        string absolute = pattern.StartsWith("/", StringComparison.Ordinal)
                            ? pattern
                            : Path.Combine(Path.GetDirectoryName(file) ?? "/", pattern);
                        string? directory = Path.GetDirectoryName(absolute);
                        string namePattern = Path.GetFileName(absolute);
                        if (directory == null || !Directory.Exists(directory))
                        {
                            continue;
                        }

                        string[] included = namePattern.IndexOfAny(new[] { '*', '?' }) >= 0
                            ? Directory.GetFiles(directory, namePattern)
                            : new[] { absolute };
                        Array.Sort(included, StringComparer.Ordinal);
                        foreach (var includedFile in included)
                        {
                            result.AddRange(ReadLdSoConf(includedFile, depth + 1));
                        }
                    }
                }
                else if (line.StartsWith("/", StringComparison.Ordinal))
                {
                    // "dir" or the old "dir=TYPE" form.
                    int equals = line.IndexOf('=');
                    result.Add(equals > 0 ? line.Substring(0, equals).Trim() : line);
                }
            }

            return result;
        }

        private static int CompareDottedVersions(string left, string right)
        {
            string[] a = left.Split('.');
            string[] b = right.Split('.');
            for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
            {
                long x = i < a.Length && long.TryParse(a[i], out long xa) ? xa : -1;
                long y = i < b.Length && long.TryParse(b[i], out long yb) ? yb : -1;
                if (x != y)
                {
                    return x.CompareTo(y);
                }
            }

            return 0;
        }

        private static ushort U16(byte[] data, long offset) =>
            (ushort)(data[offset] | (data[offset + 1] << 8));

        private static uint U32(byte[] data, long offset) =>
            (uint)(data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16) | (data[offset + 3] << 24));

        private static ulong U64(byte[] data, long offset) =>
            U32(data, offset) | ((ulong)U32(data, offset + 4) << 32);

        // ----------------------------------------------------------------------------------------------
        // File-system helpers that differ between the library (net10.0) and the MSBuild inline task
        // (compiled against netstandard2.0, but always run by a modern .NET on Linux).

        private static int? GetUnixMode(string path)
        {
#if NET7_0_OR_GREATER
            if (OperatingSystem.IsWindows())
            {
                return null;
            }

            return (int)File.GetUnixFileMode(path);
#else
            MethodInfo? get = typeof(File).GetMethod("GetUnixFileMode", new[] { typeof(string) });
            return get == null ? (int?)null : Convert.ToInt32(get.Invoke(null, new object[] { path }));
#endif
        }

        private static void SetUnixMode(string path, int mode)
        {
#if NET7_0_OR_GREATER
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, (UnixFileMode)mode);
            }
#else
            Type? modeType = typeof(File).Assembly.GetType("System.IO.UnixFileMode");
            MethodInfo? set = modeType == null ? null : typeof(File).GetMethod("SetUnixFileMode", new[] { typeof(string), modeType });
            set?.Invoke(null, new object[] { path, Enum.ToObject(modeType!, mode) });
#endif
        }

        private static void MoveOverwrite(string source, string destination)
        {
#if NETCOREAPP3_0_OR_GREATER
            File.Move(source, destination, overwrite: true);
#else
            MethodInfo? move = typeof(File).GetMethod("Move", new[] { typeof(string), typeof(string), typeof(bool) });
            if (move != null)
            {
                try
                {
                    move.Invoke(null, new object[] { source, destination, true });
                }
                catch (TargetInvocationException e) when (e.InnerException != null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                }
            }
            else
            {
                // A rename on Unix, MoveFileEx/ReplaceFile on Windows: atomic replacement either way.
                File.Replace(source, destination, null);
            }
#endif
        }
    }

#if !DIFFUSION_ML_LIBRARY
    /// <summary>
    /// MSBuild task (compiled inline by RoslynCodeTaskFactory from Diffusion.ML.TorchSharp.targets): marks
    /// GLIBCXX_3.4.32 weak in the build or publish output's copy of libLibTorchSharp.so when the system
    /// libstdc++ lacks it. Never touches files outside <see cref="OutputDirectory"/> or inside the NuGet cache.
    /// </summary>
    public sealed class DiffusionMLPatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        /// <summary>Candidate copies of libLibTorchSharp.so (missing files are ignored).</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>The build or publish output directory; only files under it are patched.</summary>
        [Microsoft.Build.Framework.Required]
        public string OutputDirectory { get; set; } = string.Empty;

        /// <summary>The needed version to weaken.</summary>
        public string Version { get; set; } = ElfVersionNeedPatcher.TorchSharpGlibcxxVersion;

        /// <summary>"auto" (patch only when the system libstdc++ lacks the version) or "always".</summary>
        public string Mode { get; set; } = "auto";

        /// <summary>The NuGet package root; files under it are refused.</summary>
        public string NuGetPackageRoot { get; set; } = string.Empty;

        /// <summary>Paths in messages are shown relative to this directory.</summary>
        public string ProjectDirectory { get; set; } = string.Empty;

        /// <summary>The files that were changed.</summary>
        [Microsoft.Build.Framework.Output]
        public Microsoft.Build.Framework.ITaskItem[] PatchedFiles { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <inheritdoc />
        public override bool Execute()
        {
            var low = Microsoft.Build.Framework.MessageImportance.Low;
            bool always = string.Equals(Mode, "always", StringComparison.OrdinalIgnoreCase);
            string outputRoot = WithTrailingSeparator(Path.GetFullPath(OutputDirectory));
            string? packageRoot = string.IsNullOrWhiteSpace(NuGetPackageRoot) ? null : WithTrailingSeparator(Path.GetFullPath(NuGetPackageRoot));
            var done = new HashSet<string>(StringComparer.Ordinal);
            var patched = new List<Microsoft.Build.Framework.ITaskItem>();
            var shown = new List<string>();
            bool? systemHasVersion = null;

            foreach (var item in Files)
            {
                string full = Path.GetFullPath(item.ItemSpec);
                if (!done.Add(full) || !File.Exists(full))
                {
                    continue;
                }

                if (!full.StartsWith(outputRoot, StringComparison.Ordinal) || (packageRoot != null && full.StartsWith(packageRoot, StringComparison.Ordinal)))
                {
                    Log.LogMessage(low, $"Diffusion.ML: not patching {full}: it is not under the output directory {outputRoot} (or it is in the NuGet cache).");
                    continue;
                }

                try
                {
                    if (!ElfVersionNeedPatcher.HasStrongVersionNeed(full, Version))
                    {
                        Log.LogMessage(low, $"Diffusion.ML: {full} has no strong need for {Version} (already patched, or not needed); nothing to do.");
                        continue;
                    }

                    if (!always)
                    {
                        if (systemHasVersion == null)
                        {
                            systemHasVersion = ElfVersionNeedPatcher.SystemLibStdCxxHas(Version);
                        }

                        if (systemHasVersion.Value)
                        {
                            Log.LogMessage(low, $"Diffusion.ML: the system libstdc++ ({ElfVersionNeedPatcher.FindSystemLibStdCxx()}) provides {Version}; leaving {full} unchanged.");
                            continue;
                        }
                    }

                    if (ElfVersionNeedPatcher.MarkVersionWeak(full, Version))
                    {
                        patched.Add(new Microsoft.Build.Utilities.TaskItem(full));
                        shown.Add(Relative(full));
                    }
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InvalidDataException)
                {
                    Log.LogWarning(null, "DML0001", null, null, 0, 0, 0, 0,
                        $"Diffusion.ML: could not mark {Version} weak in {full}: {e.Message}. TorchSharp may fail to load on this system; see docs/torchsharp-on-linux.md.");
                }
            }

            if (shown.Count > 0)
            {
                string reason = always ? "DiffusionMLPatchLibTorchSharp=always" : "system libstdc++ lacks it";
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                    $"Diffusion.ML: marked {Version} weak in {string.Join(", ", shown.ToArray())} ({reason}; see docs/torchsharp-on-linux.md)");
            }

            PatchedFiles = patched.ToArray();
            return !Log.HasLoggedErrors;
        }

        private string Relative(string full)
        {
            if (!string.IsNullOrEmpty(ProjectDirectory))
            {
                string root = WithTrailingSeparator(Path.GetFullPath(ProjectDirectory));
                if (full.StartsWith(root, StringComparison.Ordinal))
                {
                    return full.Substring(root.Length);
                }
            }

            return full;
        }

        private static string WithTrailingSeparator(string path) =>
            path.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? path : path + Path.DirectorySeparatorChar;
    }
#endif
}
