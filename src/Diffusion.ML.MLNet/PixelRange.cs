namespace Diffusion.ML.MLNet;

/// <summary>
/// The range of the pixel values in an image column: [<see cref="Min"/>, <see cref="Max"/>] maps to the models' [-1, 1]
/// on the way in and back on the way out. ML.NET's <c>ExtractPixels</c> writes [0, 255] by default
/// (<see cref="Bytes"/>), or [0, 1] with <c>scaleImage: 1f / 255</c> (<see cref="Unit"/>).
/// </summary>
/// <param name="Min">The value of black.</param>
/// <param name="Max">The value of white.</param>
public readonly record struct PixelRange(float Min, float Max)
{
    /// <summary>[0, 255]: ML.NET's <c>ExtractPixels</c> default.</summary>
    public static PixelRange Bytes { get; } = new(0, 255);

    /// <summary>[0, 1].</summary>
    public static PixelRange Unit { get; } = new(0, 1);

    /// <summary>[-1, 1]: the models' own range (Ho et al. 2020, sec. 3.3), no conversion.</summary>
    public static PixelRange Symmetric { get; } = new(-1, 1);

    /// <summary>Factor a of x -&gt; a x + b, the map into [-1, 1].</summary>
    internal float ToModelScale => 2f / (Max - Min);

    /// <summary>Offset b of x -&gt; a x + b, the map into [-1, 1].</summary>
    internal float ToModelShift => -1f - 2f * Min / (Max - Min);

    /// <summary>Factor of y -&gt; (y + 1) (Max - Min) / 2 + Min, the map back from [-1, 1].</summary>
    internal float FromModelScale => (Max - Min) / 2f;

    /// <summary>Offset of the map back from [-1, 1].</summary>
    internal float FromModelShift => (Max - Min) / 2f + Min;

    internal void Validate(string paramName)
    {
        if (!float.IsFinite(Min) || !float.IsFinite(Max) || !(Max > Min))
            throw new ArgumentException($"A pixel range needs finite Min < Max; got [{Min}, {Max}].", paramName);
    }

    /// <inheritdoc />
    public override string ToString() => $"[{Min}, {Max}]";
}
