using System.Buffers.Binary;
using System.IO.Compression;

namespace Diffusion.ML.Core.Tests.Data;

/// <summary>Writes small IDX files for the reader tests.</summary>
internal static class IdxFiles
{
    public static void WriteImages(string path, int count, int height, int width, byte[] pixels, bool gzip) =>
        Write(path, [0x803, count, height, width], pixels, gzip);

    public static void WriteLabels(string path, byte[] labels, bool gzip) => Write(path, [0x801, labels.Length], labels, gzip);

    public static void Write(string path, int[] header, byte[] body, bool gzip)
    {
        byte[] bytes = new byte[(4 * header.Length) + body.Length];
        for (int i = 0; i < header.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 * i), header[i]);
        }

        body.CopyTo(bytes, 4 * header.Length);
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }

        using var file = File.Create(path);
        using var compressed = new GZipStream(file, CompressionLevel.Fastest);
        compressed.Write(bytes);
    }
}
