namespace Diffusion.ML.Zoo;

/// <summary>The verified local copies of a model's files after <see cref="ZooClient.PullAsync"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="Paths">Local path of each of <see cref="ZooModel.Files"/>, in the same order (cache or in-repository copy).</param>
/// <param name="DownloadedFiles">Files fetched from the base URL by this call (0 when all were already there).</param>
/// <param name="DownloadedBytes">Bytes of those files.</param>
public sealed record ZooPullResult(ZooModel Model, IReadOnlyList<string> Paths, int DownloadedFiles, long DownloadedBytes)
{
    /// <summary>The local path of the model file <paramref name="relativePath"/> (e.g. <c>model.ckpt</c>).</summary>
    /// <exception cref="ArgumentException">The model has no such file.</exception>
    public string PathOf(string relativePath)
    {
        for (int i = 0; i < Model.Files.Count; i++)
            if (Model.Files[i].Path == relativePath) return Paths[i];
        throw new ArgumentException($"Model '{Model.Id}' has no file '{relativePath}'; its files: {string.Join(", ", Model.Files.Select(f => f.Path))}.", nameof(relativePath));
    }
}
