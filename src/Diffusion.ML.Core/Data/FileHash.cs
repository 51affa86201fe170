using System.Security.Cryptography;

namespace Diffusion.ML.Data;

/// <summary>Content hashes of files, for manifests that pin a model or data file.</summary>
public static class FileHash
{
    /// <summary>Lower-case hex SHA-256 of the file at <paramref name="path"/>, read as a stream.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    public static string Sha256Hex(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
