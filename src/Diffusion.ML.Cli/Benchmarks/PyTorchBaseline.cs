using System.Diagnostics;
using System.Text.Json;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>Runs the embedded PyTorch mirror of our UNet (torch_unet_baseline.py) and reads its one-line JSON result.</summary>
internal static class PyTorchBaseline
{
    /// <summary>The interpreter with Debian's python3-torch (the first python3 on PATH may be another one without torch).</summary>
    public const string Python = "/usr/bin/python3";

    public sealed record Result(string Torch, int Threads, long Parameters, double StepsPerSecond, double ImagesPerSecond);

    /// <summary>Runs the baseline, or returns null with the reason when PyTorch is not available.</summary>
    public static (Result? Result, string? Problem) Run(IEnumerable<string> arguments)
    {
        if (!File.Exists(Python)) return (null, $"{Python} not found; install the baseline with: apt-get install -y python3-torch python3-numpy libopenblas0-pthread");
        string script = Path.Combine(Path.GetTempPath(), $"diffusion-ml-baseline-{Environment.ProcessId}.py");
        using (var resource = typeof(PyTorchBaseline).Assembly.GetManifestResourceStream("torch_unet_baseline.py")!)
        using (var file = File.Create(script)) resource.CopyTo(file);
        try
        {
            var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(script);
            foreach (string a in arguments) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            string stdout = process.StandardOutput.ReadToEnd(), stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                return (null, $"the PyTorch baseline failed (exit {process.ExitCode}): {stderr.Trim().Split('\n').LastOrDefault()}" +
                    (stderr.Contains("No module named 'torch'") ? " — install python3-torch python3-numpy libopenblas0-pthread" : ""));
            var json = JsonDocument.Parse(stdout.Trim().Split('\n').Last()).RootElement;
            return (new Result(json.GetProperty("torch").GetString()!, json.GetProperty("threads").GetInt32(), json.GetProperty("parameters").GetInt64(),
                json.GetProperty("steps_per_second").GetDouble(), json.GetProperty("images_per_second").GetDouble()), null);
        }
        finally
        {
            File.Delete(script);
        }
    }
}
