using System.CommandLine;
using Diffusion.ML.TorchSharp;
using TorchSharp;

namespace Diffusion.ML.Cli.Commands;

/// <summary>Options shared by several commands, and their effect.</summary>
internal static class CommonOptions
{
    public static Option<string> Device() => new("--device")
    {
        Description = "cpu, cuda, cuda:N or auto (CUDA needs the GPU build, see docs/gpu.md)",
        DefaultValueFactory = _ => "cpu",
    };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "CPU threads for TorchSharp (0 = all cores)",
        DefaultValueFactory = _ => 0,
    };

    /// <summary><c>--evaluation-batch</c>: the denoiser's <c>MaxEvaluationBatch</c> on either backend (null: the backend's default).</summary>
    public static Option<int?> EvaluationBatch() => new("--evaluation-batch")
    {
        Description = "most rows per network call (a guided sample is 2 rows; default 64 on CPU, all at once on a GPU; 'bench passes' measures the best)",
    };

    public static Option<long> Seed() => new("--seed") { Description = "random seed", DefaultValueFactory = _ => 0 };

    /// <summary>Loads TorchSharp, sets its thread count and resolves the device.</summary>
    public static torch.Device PrepareTorch(string device, int threads)
    {
        TorchSharpRuntime.EnsureLoaded();
        torch.set_num_threads(threads > 0 ? threads : Environment.ProcessorCount);
        try
        {
            return TorchSharpRuntime.ResolveDevice(device);
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException(e.Message, nameof(device), e); // no CUDA here: bad input, one line
        }
    }

    /// <summary>Parses "1,2,3" into integers, naming the option in the error.</summary>
    public static int[] ParseIntList(string text, string option)
    {
        try
        {
            return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        }
        catch (FormatException)
        {
            throw new ArgumentException($"{option} takes comma-separated integers like 0,1,2; got '{text}'.");
        }
    }
}
