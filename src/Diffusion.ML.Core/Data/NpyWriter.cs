using System.Text;

namespace Diffusion.ML.Data;

/// <summary>
/// Writes NumPy .npy files (format version 1.0: the magic string, a little-endian header length, a Python-literal header
/// dict padded with spaces to a multiple of 64 bytes and ending in a newline, then the C-order data), atomically.
/// </summary>
public static class NpyWriter
{
    /// <summary>Writes an unsigned 8-bit array of the given shape (numpy dtype '|u1').</summary>
    /// <param name="path">The .npy file.</param>
    /// <param name="data">prod(shape) values in C order.</param>
    /// <param name="shape">The array's shape.</param>
    /// <exception cref="ArgumentException">The data does not have prod(shape) values.</exception>
    public static void WriteUInt8(string path, ReadOnlySpan<byte> data, params long[] shape)
    {
        long size = shape.Aggregate(1L, (a, b) => a * b);
        if (shape.Any(d => d < 0) || size != data.Length)
            throw new ArgumentException($"An array of shape ({string.Join(", ", shape)}) holds {size} values; {data.Length} were given.", nameof(data));
        byte[] header = Header("|u1", shape);
        byte[] bytes = [.. header, .. data];
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>The magic string, version 1.0, header length and padded header of an array.</summary>
    private static byte[] Header(string dtype, long[] shape)
    {
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string dict = $"{{'descr': '{dtype}', 'fortran_order': False, 'shape': ({dims}), }}";
        const int prefix = 10; // 6 magic bytes, 2 version bytes, 2 length bytes
        int padded = (prefix + dict.Length + 1 + 63) / 64 * 64;
        string text = dict + new string(' ', padded - prefix - dict.Length - 1) + "\n";
        if (text.Length > ushort.MaxValue) throw new ArgumentException("The array has too many dimensions for an .npy 1.0 header.");
        var header = new byte[prefix + text.Length];
        header[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY", header.AsSpan(1));
        header[6] = 1; // major version
        header[7] = 0; // minor version
        BitConverter.TryWriteBytes(header.AsSpan(8, 2), (ushort)text.Length);
        if (!BitConverter.IsLittleEndian) header.AsSpan(8, 2).Reverse();
        Encoding.ASCII.GetBytes(text, header.AsSpan(prefix));
        return header;
    }
}
