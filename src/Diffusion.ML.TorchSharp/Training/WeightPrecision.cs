namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// Precision of the weights stored in a checkpoint. Networks always load and run in float32: half-precision weights are
/// widened on load (exactly: every float16 and bfloat16 value is a float32 value).
/// </summary>
public enum WeightPrecision
{
    /// <summary>32-bit IEEE floats, as trained.</summary>
    Float32,

    /// <summary>16-bit IEEE floats (5 exponent bits, 10 mantissa bits): half the size, about 3 significant digits.</summary>
    Float16,

    /// <summary>bfloat16 (float32's 8 exponent bits, 7 mantissa bits): half the size, float32's range, about 2 significant digits.</summary>
    BFloat16,
}
