namespace Diffusion.ML.Zoo;

/// <summary>Progress of one file of a pull.</summary>
/// <param name="Path">The file's path inside the model folder.</param>
/// <param name="Bytes">Bytes present so far (a resumed download starts above 0).</param>
/// <param name="Total">The file's size.</param>
public readonly record struct ZooProgress(string Path, long Bytes, long Total);
