using System.Buffers.Binary;
using System.Text;

namespace Diffusion.ML.TorchSharp.Tests.Native;

/// <summary>
/// Builds minimal ELF64 little-endian files with a string table and a GNU version-needs and/or
/// version-definitions section, so the patcher can be tested without real binaries.
/// </summary>
internal static class SyntheticElf
{
    public sealed record Need(string File, params (string Version, ushort Flags)[] Versions);

    /// <summary>Returns the bytes of an ELF64 LE object with the given needs and definitions.</summary>
    public static byte[] Build(IReadOnlyList<Need>? needs = null, IReadOnlyList<string>? definitions = null)
    {
        needs ??= [];
        definitions ??= [];

        // String table.
        var strings = new MemoryStream();
        strings.WriteByte(0);
        var offsets = new Dictionary<string, uint>();
        uint Str(string s)
        {
            if (!offsets.TryGetValue(s, out var o))
            {
                o = (uint)strings.Length;
                var bytes = Encoding.ASCII.GetBytes(s);
                strings.Write(bytes);
                strings.WriteByte(0);
                offsets[s] = o;
            }

            return o;
        }

        // .gnu.version_r: Verneed (16 bytes) followed by its Vernaux entries (16 bytes each).
        var verneed = new List<byte>();
        for (int i = 0; i < needs.Count; i++)
        {
            var need = needs[i];
            int size = 16 + 16 * need.Versions.Length;
            var entry = new byte[size];
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(0), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(2), (ushort)need.Versions.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), Str(need.File));
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), need.Versions.Length > 0 ? 16u : 0u);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(12), i == needs.Count - 1 ? 0u : (uint)size);
            for (int j = 0; j < need.Versions.Length; j++)
            {
                var aux = entry.AsSpan(16 + 16 * j);
                BinaryPrimitives.WriteUInt32LittleEndian(aux, ElfHash(need.Versions[j].Version));
                BinaryPrimitives.WriteUInt16LittleEndian(aux[4..], need.Versions[j].Flags);
                BinaryPrimitives.WriteUInt16LittleEndian(aux[6..], (ushort)(2 + j));
                BinaryPrimitives.WriteUInt32LittleEndian(aux[8..], Str(need.Versions[j].Version));
                BinaryPrimitives.WriteUInt32LittleEndian(aux[12..], j == need.Versions.Length - 1 ? 0u : 16u);
            }

            verneed.AddRange(entry);
        }

        // .gnu.version_d: Verdef (20 bytes) followed by one Verdaux (8 bytes) each.
        var verdef = new List<byte>();
        for (int i = 0; i < definitions.Count; i++)
        {
            var entry = new byte[28];
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(0), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(2), (ushort)(i == 0 ? 1 : 0));
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(4), (ushort)(i + 1));
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(6), 1);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), ElfHash(definitions[i]));
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(12), 20);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(16), i == definitions.Count - 1 ? 0u : 28u);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(20), Str(definitions[i]));
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(24), 0);
            verdef.AddRange(entry);
        }

        byte[] strtab = strings.ToArray();
        long strOffset = 64;
        long needOffset = Align(strOffset + strtab.Length, 8);
        long defOffset = Align(needOffset + verneed.Count, 8);
        long shOffset = Align(defOffset + verdef.Count, 8);
        var sections = new List<(uint Type, long Offset, long Size, uint Link, uint Info)>
        {
            (0, 0, 0, 0, 0),
            (3, strOffset, strtab.Length, 0, 0), // SHT_STRTAB
        };
        if (needs.Count > 0)
        {
            sections.Add((0x6ffffffe, needOffset, verneed.Count, 1, (uint)needs.Count));
        }

        if (definitions.Count > 0)
        {
            sections.Add((0x6ffffffd, defOffset, verdef.Count, 1, (uint)definitions.Count));
        }

        var file = new byte[shOffset + 64 * sections.Count];
        var h = file.AsSpan();
        h[0] = 0x7f; h[1] = (byte)'E'; h[2] = (byte)'L'; h[3] = (byte)'F';
        h[4] = 2; // ELFCLASS64
        h[5] = 1; // ELFDATA2LSB
        h[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], 3); // ET_DYN
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], 62); // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(h[40..], (ulong)shOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(h[52..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(h[58..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(h[60..], (ushort)sections.Count);
        strtab.CopyTo(file, strOffset);
        verneed.ToArray().CopyTo(file, needOffset);
        verdef.ToArray().CopyTo(file, defOffset);
        for (int i = 0; i < sections.Count; i++)
        {
            var s = file.AsSpan((int)(shOffset + 64 * i), 64);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], sections[i].Type);
            BinaryPrimitives.WriteUInt64LittleEndian(s[24..], (ulong)sections[i].Offset);
            BinaryPrimitives.WriteUInt64LittleEndian(s[32..], (ulong)sections[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(s[40..], sections[i].Link);
            BinaryPrimitives.WriteUInt32LittleEndian(s[44..], sections[i].Info);
        }

        return file;
    }

    private static long Align(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    private static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (byte c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0)
            {
                h ^= g >> 24;
            }

            h &= ~g;
        }

        return h;
    }
}
