namespace Diffusion.ML.Randomness;

/// <summary>
/// Threefry-2x32 with 20 rounds, the counter-based generator of Salmon, Moraes, Dror and Shaw 2011 ("Parallel random
/// numbers: as easy as 1, 2, 3", SC'11) as in their Random123 library (<c>threefry2x32_R(20, ...)</c>) and JAX's
/// <c>threefry_2x32</c>: a keyed bijection of a 64-bit counter, so draw i of a stream is <c>Hash(key, i)</c>, with no
/// state and no order between draws. Built from 32-bit addition, rotation and xor only, so it can be written with plain
/// integer ONNX operators (see <c>Diffusion.ML.Onnx.OnnxThreefry</c>) and give the same words.
/// </summary>
public static class Threefry2x32
{
    /// <summary>Number of rounds: 20, Random123's default and the one recommended for Threefry-2x32.</summary>
    public const int Rounds = 20;

    /// <summary>Parity constant of the key schedule, <c>SKEIN_KS_PARITY32</c>: the third key word is <c>Parity ^ key0 ^ key1</c>.</summary>
    public const uint KeyScheduleParity = 0x1BD11BDA;

    /// <summary>Largest n accepted by <see cref="UniformBelow"/>: 2^31 - 1, so that word * n fits in a signed 64-bit integer.</summary>
    public const uint MaxUniformRange = int.MaxValue;

    /// <summary>
    /// The rotation distances of round r, <c>Rotations[r % 8]</c> (Random123's <c>R_32x2_0_0 .. R_32x2_7_0</c>).
    /// </summary>
    public static ReadOnlySpan<int> Rotations => [13, 15, 26, 6, 17, 29, 16, 24];

    /// <summary>
    /// The Threefry-2x32-20 block function: encrypts the counter (<paramref name="counter0"/>, <paramref name="counter1"/>)
    /// under the key (<paramref name="key0"/>, <paramref name="key1"/>). Each round is x0 += x1; x1 = rotl(x1, R) ^ x0;
    /// after rounds 4, 8, ..., 20 the key schedule injection s adds ks[s % 3] to x0 and ks[(s + 1) % 3] + s to x1, with
    /// ks = (key0, key1, <see cref="KeyScheduleParity"/> ^ key0 ^ key1); before round 1, x = counter + (key0, key1).
    /// </summary>
    /// <param name="key0">First key word.</param>
    /// <param name="key1">Second key word.</param>
    /// <param name="counter0">First counter word.</param>
    /// <param name="counter1">Second counter word.</param>
    /// <returns>The two output words.</returns>
    public static (uint X0, uint X1) Hash(uint key0, uint key1, uint counter0, uint counter1)
    {
        uint key2 = KeyScheduleParity ^ key0 ^ key1;
        uint x0 = counter0 + key0, x1 = counter1 + key1;
        var rotations = Rotations;
        for (int round = 0; round < Rounds; round++)
        {
            x0 += x1;
            x1 = uint.RotateLeft(x1, rotations[round % 8]) ^ x0;
            if (round % 4 != 3) continue;
            uint injection = (uint)(round / 4 + 1);
            x0 += KeyWord(key0, key1, key2, injection % 3);
            x1 += KeyWord(key0, key1, key2, (injection + 1) % 3) + injection;
        }
        return (x0, x1);
    }

    /// <summary>
    /// Two independent N(0, 1) values from two uniform 32-bit words by the Box-Muller transform (Box and Muller 1958):
    /// u1 = (floor(word0 / 2^8) + 1) 2^-24 in (0, 1], u2 = floor(word1 / 2^8) 2^-24 in [0, 1), r = sqrt(-2 ln u1),
    /// result (r cos 2 pi u2, r sin 2 pi u2). The 24-bit uniforms are exact in float32, so a float32 implementation
    /// starts from the same u1 and u2.
    /// </summary>
    /// <param name="word0">Word giving the radius.</param>
    /// <param name="word1">Word giving the angle.</param>
    /// <returns>The cosine and the sine branch, computed in double precision.</returns>
    public static (double Cos, double Sin) StandardNormals(uint word0, uint word1)
    {
        const double unit = 1.0 / (1 << 24);
        double u1 = ((word0 >> 8) + 1) * unit, u2 = (word1 >> 8) * unit;
        double r = Math.Sqrt(-2 * Math.Log(u1)), angle = 2 * Math.PI * u2;
        return (r * Math.Cos(angle), r * Math.Sin(angle));
    }

    /// <summary>
    /// An integer in [0, <paramref name="n"/>) from a uniform 32-bit word by multiply-shift, floor(word * n / 2^32)
    /// (Lemire 2019, without rejection: each value has probability within n / 2^32 of 1 / n).
    /// </summary>
    /// <param name="word">A uniform 32-bit word.</param>
    /// <param name="n">The range, 1 to <see cref="MaxUniformRange"/>.</param>
    /// <returns>The integer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is 0 or above <see cref="MaxUniformRange"/>.</exception>
    public static uint UniformBelow(uint word, uint n)
    {
        if (n is 0 or > MaxUniformRange)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"The range must lie in [1, {MaxUniformRange}].");
        return (uint)(((ulong)word * n) >> 32);
    }

    private static uint KeyWord(uint key0, uint key1, uint key2, uint index) => index switch { 0 => key0, 1 => key1, _ => key2 };
}
