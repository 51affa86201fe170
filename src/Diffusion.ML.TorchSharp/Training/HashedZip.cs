using System.IO.Compression;
using System.Security.Cryptography;
using Diffusion.ML.Data;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// The container shared by <see cref="Checkpoint"/> and the feature-network file: a ZIP whose first entry is a JSON
/// manifest that records a SHA-256 per binary entry, written atomically and verified on load.
/// </summary>
internal static class HashedZip
{
    /// <summary>Name of the manifest entry.</summary>
    public const string ManifestEntry = "manifest.json";

    /// <summary>
    /// Writes <paramref name="entries"/> atomically (stored, not compressed) after a manifest made by
    /// <paramref name="manifest"/> from the entries' SHA-256 hashes.
    /// </summary>
    public static void Write(string path, Func<Dictionary<string, string>, byte[]> manifest, IReadOnlyDictionary<string, byte[]> entries)
    {
        byte[] manifestBytes = manifest(entries.ToDictionary(e => e.Key, e => Sha256Hex(e.Value)));
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            WriteEntry(zip, ManifestEntry, manifestBytes);
            foreach (var (name, bytes) in entries) WriteEntry(zip, name, bytes);
        });
    }

    /// <summary>
    /// Reads every entry of the ZIP at <paramref name="path"/> (the file must exist); a damaged ZIP or a missing manifest
    /// becomes the exception made by <paramref name="corrupt"/> (reason, inner exception).
    /// </summary>
    public static Dictionary<string, byte[]> ReadEntries(string path, Func<string, Exception?, Exception> corrupt)
    {
        var entries = new Dictionary<string, byte[]>();
        try
        {
            using var zip = ZipFile.OpenRead(path);
            foreach (var entry in zip.Entries)
            {
                using var s = entry.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                entries[entry.FullName] = ms.ToArray();
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException && e is not FileNotFoundException)
        {
            throw corrupt(e.Message, e);
        }
        if (!entries.ContainsKey(ManifestEntry)) throw corrupt($"it has no {ManifestEntry}", null);
        return entries;
    }

    /// <summary>Checks that every entry named in <paramref name="hashes"/> is present and matches its SHA-256.</summary>
    public static void VerifyHashes(IReadOnlyDictionary<string, byte[]> entries, IReadOnlyDictionary<string, string> hashes,
        Func<string, Exception?, Exception> corrupt)
    {
        foreach (var (name, hash) in hashes)
        {
            if (!entries.TryGetValue(name, out var bytes)) throw corrupt($"entry '{name}' is missing", null);
            if (Sha256Hex(bytes) != hash) throw corrupt($"entry '{name}' does not match its SHA-256", null);
        }
    }

    /// <summary>The bytes that <paramref name="write"/> writes (e.g. a module's or optimizer's state).</summary>
    public static byte[] Serialize(Action<BinaryWriter> write)
    {
        using var ms = new MemoryStream();
        using (var writer = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) write(writer);
        return ms.ToArray();
    }

    /// <summary>Lower-case hex SHA-256 of <paramref name="bytes"/>.</summary>
    public static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        s.Write(bytes);
    }
}
