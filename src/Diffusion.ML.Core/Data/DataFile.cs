using System.IO.Compression;

namespace Diffusion.ML.Data;

/// <summary>Opens data files that may or may not be gzip-compressed.</summary>
internal static class DataFile
{
    /// <summary>Opens <paramref name="path"/> for reading, decompressing it when it starts with the gzip magic bytes 0x1f 0x8b.</summary>
    public static Stream OpenRead(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        try
        {
            Span<byte> magic = stackalloc byte[2];
            int read = file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
            file.Position = 0;
            bool isGzip = read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
            return isGzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads until <paramref name="buffer"/> is full or the stream ends and returns the number of bytes read;
    /// a corrupt gzip stream is reported as <see cref="InvalidDataException"/> naming <paramref name="path"/>.
    /// </summary>
    public static int ReadUpTo(Stream stream, Span<byte> buffer, string path)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException(
                $"'{path}' starts like a gzip file but could not be decompressed ({e.Message}). Re-download the file or decompress it with gunzip to check it.",
                e);
        }
    }
}
