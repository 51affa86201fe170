namespace Diffusion.ML.OnnxRuntime;

/// <summary>
/// Turns a batch of images in [-1, 1] into what a feature network takes: repeats a grey channel to 3, resizes
/// bilinearly, and maps the pixel range linearly onto the network's.
/// </summary>
internal sealed class ImageAdapter
{
    private readonly int _c, _h, _w, _outC, _outH, _outW;
    private readonly float _scale, _offset;

    /// <summary>Creates an adapter from [C, H, W] images to [outC, outH, outW] network inputs.</summary>
    /// <exception cref="ArgumentException">The channel counts cannot be matched (only equal counts or 1 to 3 are).</exception>
    public ImageAdapter(IReadOnlyList<int> imageShape, IReadOnlyList<int> networkShape, float minimum, float maximum)
    {
        (_c, _h, _w) = (imageShape[0], imageShape[1], imageShape[2]);
        (_outC, _outH, _outW) = (networkShape[0], networkShape[1], networkShape[2]);
        if (_c != _outC && !(_c == 1 && _outC == 3))
            throw new ArgumentException($"Images with {_c} channels cannot feed a network that takes {_outC}; only equal counts or grey to RGB are supported.");
        _scale = (maximum - minimum) / 2;
        _offset = (maximum + minimum) / 2;
    }

    /// <summary>Values per adapted image.</summary>
    public int OutputLength => _outC * _outH * _outW;

    /// <summary>Adapts <paramref name="count"/> images into <paramref name="output"/>.</summary>
    public void Adapt(ReadOnlySpan<float> images, int count, Span<float> output)
    {
        int inPlane = _h * _w, outPlane = _outH * _outW;
        for (int b = 0; b < count; b++)
        for (int oc = 0; oc < _outC; oc++)
        {
            var source = images.Slice((b * _c + (_c == 1 ? 0 : oc)) * inPlane, inPlane);
            var target = output.Slice((b * _outC + oc) * outPlane, outPlane);
            if (_h == _outH && _w == _outW) source.CopyTo(target);
            else Bilinear(source, target);
            for (int i = 0; i < target.Length; i++)
                target[i] = target[i] * _scale + _offset;
        }
    }

    private void Bilinear(ReadOnlySpan<float> source, Span<float> target)
    {
        for (int y = 0; y < _outH; y++)
        {
            var (y0, y1, fy) = SourceCoordinate(y, _h, _outH);
            for (int x = 0; x < _outW; x++)
            {
                var (x0, x1, fx) = SourceCoordinate(x, _w, _outW);
                float top = source[y0 * _w + x0] * (1 - fx) + source[y0 * _w + x1] * fx;
                float bottom = source[y1 * _w + x0] * (1 - fx) + source[y1 * _w + x1] * fx;
                target[y * _outW + x] = top * (1 - fy) + bottom * fy;
            }
        }
    }

    /// <summary>Half-pixel centres: src = (dst + 0.5) in / out - 0.5, clamped at 0 (PyTorch's align_corners=False convention).</summary>
    private static (int Low, int High, float Fraction) SourceCoordinate(int destination, int inSize, int outSize)
    {
        float src = Math.Max((destination + 0.5f) * inSize / outSize - 0.5f, 0f);
        int low = Math.Min((int)src, inSize - 1);
        return (low, Math.Min(low + 1, inSize - 1), src - low);
    }
}
