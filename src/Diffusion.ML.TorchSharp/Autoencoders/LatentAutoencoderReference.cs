using Diffusion.ML.Data;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// The autoencoder whose scaled latents a diffusion model was trained on (latent diffusion, Rombach et al. 2022), as
/// stored in the diffusion checkpoint: the autoencoder checkpoint's path (relative to the diffusion checkpoint's folder
/// when it was given so) and its SHA-256, so that sampling decodes with exactly that autoencoder.
/// </summary>
/// <param name="File">Path of the autoencoder checkpoint, absolute or relative to the diffusion checkpoint's folder.</param>
/// <param name="Sha256">Hex SHA-256 of the autoencoder checkpoint file.</param>
/// <param name="UseEma">Whether the EMA weights of the autoencoder were used.</param>
public sealed record LatentAutoencoderReference(string File, string Sha256, bool UseEma)
{
    /// <summary>A reference to <paramref name="autoencoderPath"/> as seen from a diffusion checkpoint at <paramref name="checkpointPath"/>.</summary>
    public static LatentAutoencoderReference Create(string autoencoderPath, string checkpointPath, bool useEma)
    {
        ArgumentNullException.ThrowIfNull(autoencoderPath);
        ArgumentNullException.ThrowIfNull(checkpointPath);
        string full = Path.GetFullPath(autoencoderPath);
        string folder = Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!;
        return new LatentAutoencoderReference(Path.GetRelativePath(folder, full), FileHash.Sha256Hex(full), useEma);
    }

    /// <summary>
    /// A reference, for a diffusion checkpoint to be written at <paramref name="targetCheckpointPath"/>, to
    /// <paramref name="replacementPath"/>: a copy of this reference's autoencoder that decodes the same latents, such as its
    /// sampling-only float16 copy (<see cref="AutoencoderCheckpoint.SaveForInference"/>), so that a model folder can carry
    /// both files. The replacement must have the same architecture and the same latent scale as the weights this reference
    /// uses, and this reference's file must still be the one the model was trained with.
    /// </summary>
    /// <param name="checkpointPath">The diffusion checkpoint that holds this reference.</param>
    /// <param name="replacementPath">The autoencoder checkpoint to refer to instead.</param>
    /// <param name="targetCheckpointPath">Where the diffusion checkpoint with the new reference will be written.</param>
    /// <exception cref="InvalidDataException">The replacement is another autoencoder (architecture or latent scale differ).</exception>
    public LatentAutoencoderReference Repin(string checkpointPath, string replacementPath, string targetCheckpointPath)
    {
        string original = VerifiedPath(checkpointPath);
        var trained = AutoencoderCheckpoint.Load(original).Manifest;
        var replacement = AutoencoderCheckpoint.Load(replacementPath);
        bool useEma = UseEma && replacement.HasEma;
        double trainedScale = trained.LatentScaleOf(UseEma), replacementScale = replacement.Manifest.LatentScaleOf(useEma);
        if (replacement.Manifest.ModelKind != trained.ModelKind || replacement.Manifest.ModelConfig != trained.ModelConfig || replacementScale != trainedScale)
            throw new InvalidDataException(
                $"'{replacementPath}' is not a copy of the autoencoder '{original}' that '{checkpointPath}' was trained on (architecture " +
                $"{replacement.Manifest.ModelKind} vs {trained.ModelKind}, latent scale {replacementScale} vs {trainedScale}); make it with " +
                $"'diffusion-ml slim -c {original}'.");
        return Create(replacementPath, targetCheckpointPath, useEma);
    }

    /// <summary>The referenced file's path as seen from a diffusion checkpoint at <paramref name="checkpointPath"/>.</summary>
    public string Resolve(string checkpointPath) =>
        Path.IsPathRooted(File) ? File : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!, File));

    /// <summary>Loads the autoencoder, checking that the file is still the one the model was trained with.</summary>
    /// <param name="checkpointPath">The diffusion checkpoint that holds this reference.</param>
    /// <param name="device">Device (default CPU).</param>
    /// <exception cref="FileNotFoundException">The autoencoder checkpoint is gone.</exception>
    /// <exception cref="InvalidDataException">It changed since the diffusion model was trained on its latents.</exception>
    public ImageAutoencoder Load(string checkpointPath, Device? device = null)
        => AutoencoderCheckpoint.Load(VerifiedPath(checkpointPath)).LoadModel(UseEma, device);

    /// <summary>The referenced file's path, after checking that it exists and is still the file the model was trained with.</summary>
    private string VerifiedPath(string checkpointPath)
    {
        string path = Resolve(checkpointPath);
        if (!System.IO.File.Exists(path))
            throw new FileNotFoundException(
                $"'{checkpointPath}' was trained on the latents of the autoencoder '{path}', which does not exist. Put that file back " +
                "(or next to the checkpoint under the same relative path) to decode its samples.", path);
        string actual = FileHash.Sha256Hex(path);
        if (actual != Sha256)
            throw new InvalidDataException(
                $"The autoencoder '{path}' changed since '{checkpointPath}' was trained on its latents (SHA-256 {actual[..12]}..., expected " +
                $"{Sha256[..12]}...). Decode with the original file; a retrained autoencoder needs a retrained diffusion model.");
        return path;
    }
}
