using Diffusion.ML.Data;

namespace Diffusion.ML.Zoo;

/// <summary>Compares a local file with the size and SHA-256 a manifest records.</summary>
public static class ZooFileCheck
{
    /// <summary>Whether <paramref name="path"/> exists with exactly <paramref name="expected"/>'s size and SHA-256.</summary>
    public static bool Matches(string path, ZooFile expected) => File.Exists(path) && Mismatch(path, expected) is null;

    /// <summary>
    /// Why the file at <paramref name="path"/> is not <paramref name="expected"/> (size or SHA-256 in words), or null if it is.
    /// </summary>
    public static string? Mismatch(string path, ZooFile expected)
    {
        long size = new FileInfo(path).Length;
        if (size != expected.Size) return $"it has {size:N0} bytes, the manifest says {expected.Size:N0}";
        string actual = FileHash.Sha256Hex(path);
        return actual == expected.Sha256 ? null : $"its SHA-256 is {actual}, the manifest says {expected.Sha256}";
    }
}
