using Diffusion.ML.Data;
using Diffusion.ML.Zoo;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// A denoiser named on the command line (<c>generate --model</c>, <c>sample -c</c>, <c>eval -c</c>), resolved to a local
/// file: an existing checkpoint or ONNX file as it is, else a zoo id (<c>id</c> or <c>id@version</c>) pulled through the
/// <see cref="ZooClient"/>, whose checkpoint (torch) or ONNX export (onnx) is then used.
/// </summary>
/// <param name="Path">The local file.</param>
/// <param name="Name">What job manifests record: the zoo reference <c>id@version</c>, else the file's name.</param>
/// <param name="Backend"><see cref="SampleModel.Torch"/> or <see cref="SampleModel.Onnx"/>.</param>
/// <param name="ZooFile">The zoo model's file that <paramref name="Path"/> is, or null for a file named directly.</param>
internal sealed record ModelSource(string Path, string Name, string Backend, ZooFile? ZooFile)
{
    /// <summary>SHA-256 (hex) of the file: the manifest's (the pull verified the file against it) for a zoo model, else hashed now.</summary>
    public string Sha256() => ZooFile?.Sha256 ?? FileHash.Sha256Hex(Path);

    /// <summary>How reports name the model: the zoo reference and the file, or the file.</summary>
    public string Description => ZooFile is null ? Path : $"zoo model {Name} ({Path})";

    /// <summary>
    /// Resolves <paramref name="value"/>. A file is used as it is, on <paramref name="backend"/> or else on the backend its
    /// extension implies; a zoo id is pulled with <paramref name="zoo"/> and gives its checkpoint, or its ONNX export
    /// when <paramref name="backend"/> is onnx (or, with no backend named, when <paramref name="preferOnnx"/> and the
    /// model has one).
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither a file nor a zoo model (the message says both).</exception>
    /// <exception cref="ArgumentException">The zoo model has no file for the backend.</exception>
    /// <exception cref="ZooException">The pull failed (offline without a copy, network, checksum...).</exception>
    public static ModelSource Resolve(string value, string? backend, Func<ZooClient> zoo, CancellationToken cancellationToken, bool preferOnnx = false)
    {
        if (File.Exists(value))
            return new ModelSource(value, System.IO.Path.GetFileName(value), backend ?? BackendOf(value), null);
        var pulled = PullZooModel(value, zoo, cancellationToken);
        var model = pulled.Model;
        // Only denoisers have a denoiser checkpoint; an autoencoder's ONNX parts must not pass for a denoiser export.
        if (model.FindFile(ZooFileFormats.Checkpoint) is null)
            throw new ArgumentException($"Zoo model '{model.Reference}' is not a denoiser (task {model.Task}); name a denoiser ('diffusion-ml zoo list --offline' lists the tasks).");
        string chosenBackend = backend ?? (preferOnnx && model.FindFile(ZooFileFormats.Onnx) is not null ? SampleModel.Onnx : SampleModel.Torch);
        string format = chosenBackend == SampleModel.Onnx ? ZooFileFormats.Onnx : ZooFileFormats.Checkpoint;
        var file = model.FindFile(format) ?? throw new ArgumentException(
            $"Zoo model '{model.Reference}' has no {format} file (its files: {string.Join(", ", model.Files.Select(f => $"{f.Path} ({f.Format})"))}); " +
            "run it with --backend torch, or export its checkpoint with diffusion-ml export.");
        return new ModelSource(pulled.PathOf(file.Path), model.Reference, chosenBackend, file);
    }

    /// <summary>
    /// An autoencoder named on the command line (<c>train --autoencoder</c>): an existing file as it is, else a zoo id
    /// whose autoencoder checkpoint is pulled.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither a file nor a zoo model.</exception>
    /// <exception cref="ArgumentException">The zoo model is not an autoencoder.</exception>
    public static string ResolveAutoencoder(string value, Func<ZooClient> zoo, CancellationToken cancellationToken)
    {
        if (File.Exists(value)) return value;
        var pulled = PullZooModel(value, zoo, cancellationToken);
        var file = pulled.Model.FindFile(ZooFileFormats.Autoencoder) ?? throw new ArgumentException(
            $"Zoo model '{pulled.Model.Reference}' is not an autoencoder (task {pulled.Model.Task}); name a VAE or VQ-VAE such as fashion-mnist-vae.");
        return pulled.PathOf(file.Path);
    }

    /// <summary>
    /// Any TorchSharp network named on the command line (<c>bench passes</c>): an existing file as it is, else a zoo id
    /// whose denoiser, autoencoder or feature-network file is pulled.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither a file nor a zoo model.</exception>
    /// <exception cref="ArgumentException">The zoo model has no such file.</exception>
    public static string ResolveNetwork(string value, Func<ZooClient> zoo, CancellationToken cancellationToken)
    {
        if (File.Exists(value)) return value;
        var pulled = PullZooModel(value, zoo, cancellationToken);
        string[] formats = [ZooFileFormats.Checkpoint, ZooFileFormats.Autoencoder, ZooFileFormats.FeatureNetwork];
        var file = pulled.Model.Files.FirstOrDefault(f => formats.Contains(f.Format)) ?? throw new ArgumentException(
            $"Zoo model '{pulled.Model.Reference}' has no TorchSharp network (its files: {string.Join(", ", pulled.Model.Files.Select(f => $"{f.Path} ({f.Format})"))}).");
        return pulled.PathOf(file.Path);
    }

    /// <summary>Pulls the zoo model <paramref name="value"/> names, or says that it is neither a file nor a zoo model.</summary>
    private static ZooPullResult PullZooModel(string value, Func<ZooClient> zoo, CancellationToken cancellationToken)
    {
        if (!ZooManifest.IsReference(value) || FileExtensions.Contains(System.IO.Path.GetExtension(value), StringComparer.OrdinalIgnoreCase))
            throw new FileNotFoundException($"'{value}' does not exist: name a file, or a zoo model id such as fashion-mnist-unet32 " +
                "('diffusion-ml zoo list --offline' lists them).", value);
        using var client = zoo();
        try
        {
            return ZooOptions.PullWithProgressAsync(client, value, cancellationToken).GetAwaiter().GetResult();
        }
        catch (ZooException e) when (e.Kind == ZooErrorKind.UnknownModel)
        {
            throw new FileNotFoundException($"'{value}' is neither an existing file nor a model of the zoo: {e.Message}", value, e);
        }
    }

    /// <summary>The backend a file's extension implies: onnx for .onnx, else torch.</summary>
    private static string BackendOf(string path) => System.IO.Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase) ? SampleModel.Onnx : SampleModel.Torch;

    /// <summary>Extensions that mark a value as a file name, never a zoo id.</summary>
    private static readonly string[] FileExtensions = [".ckpt", ".onnx", ".zip", ".bin", ".pt"];
}
