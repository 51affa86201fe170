using System.Diagnostics;
using System.Text.Json;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>
/// Runs one <see cref="BenchmarkCase"/> in a fresh child process, ours (this program with <c>bench --json</c>) or
/// PyTorch's (the embedded torch_unet_baseline.py), and reads the JSON line it prints last. A fresh process per case
/// gives each its own peak working set, and no case inherits another's caches or allocator state.
/// </summary>
internal static class BenchmarkProcess
{
    /// <summary>Measures <paramref name="benchmark"/>; on failure returns null and a one-line reason.</summary>
    public static (BenchmarkMeasurement? Measurement, string? Problem) Run(BenchmarkCase benchmark) =>
        benchmark.Backend == BenchmarkBackend.PyTorch ? RunPython(benchmark.Python, benchmark.ToPythonArguments(), benchmark.OpenBlasOwnKernel) : RunSelf(benchmark.ToCliArguments());

    /// <summary>The JSON line <c>bench --json</c> prints for a measurement made in this process.</summary>
    public static string ToJson(BenchmarkMeasurement measurement) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["rate"] = measurement.Rate,
        ["parameters"] = measurement.Parameters,
        ["peak_working_set_bytes"] = measurement.PeakWorkingSetBytes,
        ["runtime"] = measurement.Runtime,
        ["threads"] = measurement.Threads,
    });

    private static (BenchmarkMeasurement?, string?) RunSelf(IReadOnlyList<string> arguments)
    {
        // Under `dotnet diffusion-ml.dll` the process is the dotnet host: pass it the assembly; the apphost runs itself.
        string host = Environment.ProcessPath ?? "dotnet";
        bool viaDotnet = Path.GetFileNameWithoutExtension(host) == "dotnet";
        var (stdout, problem) = Execute(host, viaDotnet ? [typeof(BenchmarkProcess).Assembly.Location, .. arguments] : arguments);
        if (stdout is null) return (null, problem);
        var json = JsonDocument.Parse(stdout).RootElement;
        return (new BenchmarkMeasurement(json.GetProperty("rate").GetDouble(), json.GetProperty("parameters").GetInt64(),
            json.GetProperty("peak_working_set_bytes").GetInt64(), json.GetProperty("runtime").GetString()!, json.GetProperty("threads").GetInt32()), null);
    }

    private static (BenchmarkMeasurement?, string?) RunPython(string python, IReadOnlyList<string> arguments, bool openBlasOwnKernel)
    {
        if (!File.Exists(python)) return (null, $"{python} not found; install the baseline with: apt-get install -y python3-torch python3-numpy libopenblas0-pthread, or name an interpreter with torch in --python");
        string script = Path.Combine(Path.GetTempPath(), $"diffusion-ml-baseline-{Environment.ProcessId}.py");
        using (var resource = typeof(BenchmarkProcess).Assembly.GetManifestResourceStream("torch_unet_baseline.py")!)
        using (var file = File.Create(script)) resource.CopyTo(file);
        try
        {
            var (stdout, problem) = Execute(python, [script, .. arguments], openBlasOwnKernel ? ["OPENBLAS_CORETYPE"] : []);
            if (stdout is null)
                return (null, problem + (problem!.Contains("No module named 'torch'") ? " (install python3-torch python3-numpy libopenblas0-pthread)" : ""));
            var json = JsonDocument.Parse(stdout).RootElement;
            return (new BenchmarkMeasurement(json.GetProperty("rate").GetDouble(), json.GetProperty("parameters").GetInt64(),
                json.GetProperty("peak_working_set_bytes").GetInt64(), $"PyTorch {json.GetProperty("torch").GetString()} eager", json.GetProperty("threads").GetInt32()), null);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>
    /// Runs a program to completion, without the environment variables <paramref name="unset"/>; returns its last stdout
    /// line, or null and the last stderr line on failure.
    /// </summary>
    private static (string? LastLine, string? Problem) Execute(string program, IReadOnlyList<string> arguments, IReadOnlyList<string>? unset = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string name in unset ?? []) start.Environment.Remove(name);
        foreach (string a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} could not be started.");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string? last = stdout.Trim().Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
        if (process.ExitCode == 0 && last is not null) return (last, null);
        string error = stderr.Result.Trim().Split('\n').LastOrDefault() ?? "";
        return (null, $"{Path.GetFileName(program)} failed (exit {process.ExitCode}): {(error.Length > 0 ? error : stdout.Trim().Split('\n').LastOrDefault())}");
    }
}
