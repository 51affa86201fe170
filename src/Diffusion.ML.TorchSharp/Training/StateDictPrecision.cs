using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// Re-encodes a module state as TorchSharp's <c>Module.save</c> writes it (an entry count, then name and tensor per entry)
/// with its floating-point weights in another precision; other tensors (integer buffers) are kept as they are.
/// </summary>
internal static class StateDictPrecision
{
    /// <summary>The tensor element type of <paramref name="precision"/>.</summary>
    public static ScalarType ScalarTypeOf(WeightPrecision precision) => precision switch
    {
        WeightPrecision.Float32 => ScalarType.Float32,
        WeightPrecision.Float16 => ScalarType.Float16,
        WeightPrecision.BFloat16 => ScalarType.BFloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Unknown weight precision."),
    };

    /// <summary>
    /// <paramref name="state"/>, stored in <paramref name="stored"/> precision, in <paramref name="precision"/>: the same
    /// bytes when the two agree, else <see cref="Convert(byte[], WeightPrecision)"/>.
    /// </summary>
    public static byte[] Convert(byte[] state, WeightPrecision stored, WeightPrecision precision)
        => stored == precision ? state : Convert(state, precision);

    /// <summary>
    /// <paramref name="state"/> with every float32, float16 and bfloat16 tensor cast to <paramref name="precision"/>
    /// (round to nearest even when narrowing, exact when widening).
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a module state.</exception>
    public static byte[] Convert(byte[] state, WeightPrecision precision)
    {
        var target = ScalarTypeOf(precision);
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        using (var reader = new BinaryReader(new MemoryStream(state)))
        {
            try
            {
                long count = reader.Read7BitEncodedInt64(); // TorchSharp writes the count as unsigned LEB128, the same encoding
                for (long i = 0; i < count; i++)
                {
                    string name = reader.ReadString();
                    var tensor = TensorExtensionMethods.Load(reader);
                    tensors[name] = tensor.dtype is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 && tensor.dtype != target
                        ? tensor.to_type(target)
                        : tensor;
                }
            }
            catch (Exception e) when (e is EndOfStreamException or FormatException or ArgumentException)
            {
                throw new InvalidDataException($"The stored weights are not a TorchSharp module state ({e.Message}).", e);
            }
        }
        return HashedZip.Serialize(writer => nn.Module.save_state_dict(writer, tensors));
    }
}
