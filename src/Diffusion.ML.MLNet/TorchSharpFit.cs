using Diffusion.ML.TorchSharp;
using TorchSharp;

namespace Diffusion.ML.MLNet;

/// <summary>Shared steps of a Fit that trains with TorchSharp: the device, and the checkpoint file inside the folder option.</summary>
internal static class TorchSharpFit
{
    public static torch.Device Device(DiffusionTrainingOptions options)
    {
        TorchSharpRuntime.EnsureLoaded();
        return TorchSharpRuntime.ResolveDevice(options.Device);
    }

    /// <summary>The checkpoint path for <paramref name="fileName"/> in the folder (created), or null without a folder.</summary>
    public static string? CheckpointPath(DiffusionTrainingOptions options, string fileName)
    {
        if (options.CheckpointFolder is null) return null;
        Directory.CreateDirectory(options.CheckpointFolder);
        return Path.Combine(options.CheckpointFolder, fileName);
    }
}
