using System.Runtime.InteropServices;
using System.Text;
using Diffusion.ML.TorchSharp.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp;

/// <summary>
/// Loads TorchSharp's native backend once, repairing or explaining the one known Linux loading problem
/// (TorchSharp 0.107's <c>libLibTorchSharp.so</c> needs <c>GLIBCXX_3.4.32</c>, which GCC 12's libstdc++ on
/// Debian 12 / Ubuntu 22.04 lacks), and resolves device names. See docs/torchsharp-on-linux.md.
/// </summary>
public static class TorchSharpRuntime
{
    /// <summary>
    /// Set this environment variable to <c>0</c> (or <c>false</c>) to stop <see cref="EnsureLoaded"/> from
    /// patching <c>libLibTorchSharp.so</c> next to the application at run time.
    /// </summary>
    public const string RuntimePatchEnvironmentVariable = "DIFFUSION_ML_PATCH_LIBTORCHSHARP";

    /// <summary>
    /// Samples per network pass on the CPU, the default of every batched evaluation of this library: the denoiser's
    /// (<see cref="Sampling.TorchSharpDenoiser.MaxEvaluationBatch"/>), the feature network's and the autoencoders'
    /// (<see cref="Autoencoders.LatentCodec"/>). On the project's 2-core machine (docs/benchmarks.md, "Evaluation batch
    /// on the CPU", 2026-12-06) libtorch ran 2.4-5x faster per sample in passes of 64 than of 256 or 512: the zoo's UNet
    /// and latent DiT 2.8x (512 rows), the feature network 6,300-9,900 against 1,750-2,160 images/s, the VAE encoder
    /// 984-1,083 against 367-442, its decoder 514-552 against 165-220; the activations of 64 samples stay in cache and
    /// libtorch reuses their memory, those of 512 do neither.
    /// </summary>
    public const int CpuBatchSize = 64;

    private const string LinuxNativeSubdirectory = "runtimes/linux-x64/native";

    private static readonly Lazy<bool> Loaded = new(LoadCore, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Initialises TorchSharp's CPU backend. Call once before the first use of <c>torch</c>; further calls
    /// (from any thread) return at once. On Linux, when the application's copy of <c>libLibTorchSharp.so</c>
    /// still needs <c>GLIBCXX_3.4.32</c> and the libstdc++ in use lacks it (the build normally fixes this),
    /// the copy is patched in place when it is writable and one line is written to stderr.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The native backend cannot be loaded. The message says what failed (the loader's message), why and
    /// what to do. A failure is remembered: later calls throw the same exception.
    /// </exception>
    public static void EnsureLoaded() => _ = Loaded.Value;

    /// <summary>
    /// Resolves a device name: <c>"cpu"</c>, <c>"cuda"</c>, <c>"cuda:N"</c> or <c>"auto"</c> (CUDA when available,
    /// otherwise CPU). Calls <see cref="EnsureLoaded"/> first.
    /// </summary>
    /// <param name="deviceName">The device name (case-insensitive).</param>
    /// <returns>The TorchSharp device.</returns>
    /// <exception cref="ArgumentException">The name is empty or not one of the forms above.</exception>
    /// <exception cref="InvalidOperationException">CUDA was requested but is not available, or the index is out of range.</exception>
    public static Device ResolveDevice(string deviceName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deviceName);
        string name = deviceName.Trim().ToLowerInvariant();
        int index = -1;
        if (name.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!int.TryParse(name.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index))
            {
                throw new ArgumentException($"Invalid device '{deviceName}': expected \"cuda:N\" with a non-negative device index N.", nameof(deviceName));
            }

            name = "cuda";
        }

        if (name != "cpu" && name != "cuda" && name != "auto")
        {
            throw new ArgumentException($"Unknown device '{deviceName}'. Use \"cpu\", \"cuda\", \"cuda:N\" or \"auto\".", nameof(deviceName));
        }

        EnsureLoaded();
        if (name == "cpu")
        {
            return torch.CPU;
        }

        bool cudaAvailable = torch.cuda.is_available();
        if (name == "auto")
        {
            return cudaAvailable ? torch.device(DeviceType.CUDA, 0) : torch.CPU;
        }

        if (!cudaAvailable)
        {
            string why = FindNativeFile("libtorch_cuda.so") == null && !RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
                ? "this application references the CPU-only TorchSharp package (TorchSharp-cpu; no libtorch_cuda is deployed with it)"
                : "no CUDA device or driver is visible to libtorch";
            throw new InvalidOperationException(
                $"Device '{deviceName}' was requested, but CUDA is not available (torch.cuda.is_available() is false): {why}. " +
                "Use \"cpu\" or \"auto\", or build with the CUDA TorchSharp package: see docs/gpu.md for the CUDA build switch.");
        }

        if (index >= 0)
        {
            int count = torch.cuda.device_count();
            if (index >= count)
            {
                throw new InvalidOperationException(
                    $"Device '{deviceName}' was requested, but only {count} CUDA device(s) are visible (valid indices 0..{count - 1}).");
            }
        }

        return torch.device(DeviceType.CUDA, Math.Max(index, 0));
    }

    private static bool LoadCore()
    {
        var notes = new List<string>();
        var attempted = new HashSet<string>(StringComparer.Ordinal);
        bool linux = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
        if (linux)
        {
            // Preflight, before anything touches the 'torch' class: its static constructor loads the native
            // backend, and a failure there is a TypeInitializationException that the runtime caches for the
            // life of the process, so a load cannot be retried in-process after patching. (TorchSharp also
            // reacts to a failed load by printing its trace to stdout and copying ~480 MB of libtorch from
            // the NuGet cache into <app>/cpu/.)
            TryPatchShims(notes, attempted, onlyWhenLibStdCxxLacksVersion: true);
        }

        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return true;
        }
        catch (Exception failure) when (IsLoadFailure(failure))
        {
            // Diagnose first (the loader's own message comes from loading the shim directly), then patch
            // anyway: the preflight's view of libstdc++ may have been wrong, and the next start will work.
            var diagnosis = Diagnose(failure);
            if (linux && TryPatchShims(notes, attempted, onlyWhenLibStdCxxLacksVersion: false) > 0)
            {
                notes.Add("libLibTorchSharp.so has now been patched, but TorchSharp caches a failed load for the life of the process: restart the application.");
            }

            throw new InvalidOperationException(
                ComposeLoadFailureMessage(diagnosis.WhatFailed, diagnosis.ShimNeedingVersion, diagnosis.LibStdCxx, diagnosis.LibStdCxxHighest, notes, diagnosis.ShimNotFound),
                failure);
        }
    }

    private static bool IsLoadFailure(Exception e) =>
        e is NotSupportedException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException
            or TypeInitializationException or InvalidOperationException;

    /// <summary>Patches every strong GLIBCXX_3.4.32 need in the application's copies of the shim; returns how many were patched.</summary>
    private static int TryPatchShims(List<string> notes, HashSet<string> attempted, bool onlyWhenLibStdCxxLacksVersion)
    {
        if (IsRuntimePatchDisabled())
        {
            const string disabled = "Run-time patching is disabled (" + RuntimePatchEnvironmentVariable + "=0).";
            if (!notes.Contains(disabled))
            {
                notes.Add(disabled);
            }

            return 0;
        }

        string version = ElfVersionNeedPatcher.TorchSharpGlibcxxVersion;
        int patched = 0;
        foreach (string shim in CandidateShimPaths())
        {
            if (attempted.Contains(shim))
            {
                continue;
            }

            try
            {
                if (!ElfVersionNeedPatcher.HasStrongVersionNeed(shim, version))
                {
                    continue;
                }

                if (onlyWhenLibStdCxxLacksVersion)
                {
                    string? libstdcxx = LibStdCxxInUse();
                    if (libstdcxx != null && ElfVersionNeedPatcher.LibraryDefinesVersion(libstdcxx, version))
                    {
                        return patched;
                    }
                }

                attempted.Add(shim);
                if (ElfVersionNeedPatcher.MarkVersionWeak(shim, version))
                {
                    patched++;
                    Console.Error.WriteLine($"Diffusion.ML: marked {version} weak in {shim} (system libstdc++ lacks it; see docs/torchsharp-on-linux.md)");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                string reason = e is UnauthorizedAccessException ? $"no write access to {Path.GetDirectoryName(shim)}" : e.Message;
                notes.Add($"{shim} still needs {version} and could not be patched at run time ({reason}).");
            }
        }

        return patched;
    }

    private static bool IsRuntimePatchDisabled()
    {
        string? value = Environment.GetEnvironmentVariable(RuntimePatchEnvironmentVariable);
        return value is not null && (value.Trim() == "0" || value.Trim().Equals("false", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The libstdc++.so.6 this process uses (already mapped), or else the one the loader would pick.</summary>
    internal static string? LibStdCxxInUse() =>
        ElfVersionNeedPatcher.FindLoadedLibStdCxx() ?? ElfVersionNeedPatcher.FindSystemLibStdCxx();

    /// <summary>The existing copies of libLibTorchSharp.so that belong to this application.</summary>
    internal static IReadOnlyList<string> CandidateShimPaths()
    {
        var result = new List<string>();
        foreach (string directory in NativeDirectories())
        {
            string path = Path.Combine(directory, ElfVersionNeedPatcher.LibTorchSharpFileName);
            if (File.Exists(path) && !result.Contains(path))
            {
                result.Add(path);
            }
        }

        return result;
    }

    private static string? FindNativeFile(string fileName)
    {
        foreach (string directory in NativeDirectories())
        {
            string path = Path.Combine(directory, fileName);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    private static IEnumerable<string> NativeDirectories()
    {
        var roots = new List<string> { AppContext.BaseDirectory };
        string? torchDirectory = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (!string.IsNullOrEmpty(torchDirectory))
        {
            roots.Add(torchDirectory);
        }

        // The host's native probing directories: among others, a single-file app's extraction directory.
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirectories)
        {
            roots.AddRange(searchDirectories.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string root in roots)
        {
            foreach (string directory in new[] { root, Path.Combine(root, LinuxNativeSubdirectory), Path.Combine(root, "cpu") })
            {
                string full = Path.GetFullPath(directory);
                if (seen.Add(full) && Directory.Exists(full))
                {
                    yield return full;
                }
            }
        }
    }

    private static (string WhatFailed, string? ShimNeedingVersion, string? LibStdCxx, string? LibStdCxxHighest, bool ShimNotFound) Diagnose(Exception failure)
    {
        string version = ElfVersionNeedPatcher.TorchSharpGlibcxxVersion;
        var shims = CandidateShimPaths();
        string? loaderMessage = null;
        string? strongShim = null;
        foreach (string shim in shims)
        {
            loaderMessage ??= LoaderMessage(shim);
            try
            {
                if (strongShim is null && ElfVersionNeedPatcher.HasStrongVersionNeed(shim, version))
                {
                    strongShim = shim;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
            }
        }

        string? libstdcxx = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? LibStdCxxInUse() : null;
        bool libstdcxxLacksVersion = false;
        if (libstdcxx is not null)
        {
            try
            {
                libstdcxxLacksVersion = !ElfVersionNeedPatcher.LibraryDefinesVersion(libstdcxx, version);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
            }
        }

        Exception innermost = failure;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        return (
            loaderMessage ?? FirstLine(innermost.Message),
            strongShim is not null && libstdcxxLacksVersion ? strongShim : null,
            libstdcxx,
            libstdcxx is null ? null : ElfVersionNeedPatcher.HighestDefinedVersion(libstdcxx),
            shims.Count == 0);
    }

    /// <summary>Builds the text of the load-failure exception (separate so that it can be tested).</summary>
    internal static string ComposeLoadFailureMessage(
        string whatFailed,
        string? shimNeedingVersion,
        string? libStdCxxPath,
        string? libStdCxxHighestVersion,
        IReadOnlyList<string> notes,
        bool shimNotFound)
    {
        string version = ElfVersionNeedPatcher.TorchSharpGlibcxxVersion;
        var text = new StringBuilder();
        text.Append("TorchSharp's native backend could not be loaded.").AppendLine();
        text.Append("What failed: ").Append(whatFailed.Trim()).AppendLine();
        if (shimNeedingVersion is not null)
        {
            text.Append("Why: ").Append(shimNeedingVersion).Append(" (TorchSharp's native shim, built with GCC 13) needs ")
                .Append(version).Append(" from libstdc++.so.6, but the libstdc++ in use (")
                .Append(libStdCxxPath ?? "unknown").Append(") is too old: it has up to ")
                .Append(libStdCxxHighestVersion ?? "an older GLIBCXX version").Append('.');
            foreach (string note in notes.Distinct())
            {
                text.Append(' ').Append(note);
            }

            text.AppendLine();
            text.Append("What to do: rebuild or republish the application with the Diffusion.ML build targets, which mark ")
                .Append(version).Append(" weak in the output's copy of libLibTorchSharp.so (or run it once with write access to ")
                .Append(Path.GetDirectoryName(shimNeedingVersion)).Append(" so that this check can do it); ")
                .Append("or run on a system whose libstdc++ has it (GCC 13 or later: Debian 13, Ubuntu 24.04); ")
                .Append("or set LD_LIBRARY_PATH to a directory with a newer libstdc++.so.6. See docs/torchsharp-on-linux.md.");
        }
        else
        {
            foreach (string note in notes.Distinct())
            {
                text.Append(note).AppendLine();
            }

            if (shimNotFound)
            {
                text.Append("libLibTorchSharp.so was not found next to the application (")
                    .Append(AppContext.BaseDirectory).Append(" or its ").Append(LinuxNativeSubdirectory)
                    .Append("); make sure the TorchSharp-cpu package (or a CUDA variant) is referenced and deployed.").AppendLine();
            }

            text.Append("See docs/torchsharp-on-linux.md; the inner exception has TorchSharp's full load trace.");
        }

        return text.ToString();
    }

    private static string? LoaderMessage(string shim)
    {
        try
        {
            NativeLibrary.Load(shim);
            return null; // it loads on its own: the failure is elsewhere
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            // .NET's message is a generic first line ("Unable to load shared library ... LD_DEBUG environment
            // variable:") followed by dlerror()'s text, which is the useful part.
            var lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length > 1 ? string.Join(" ", lines.Skip(1)) : FirstLine(e.Message);
        }
    }

    private static string FirstLine(string message)
    {
        string trimmed = message.TrimStart();
        int newline = trimmed.IndexOf('\n');
        return newline < 0 ? trimmed : trimmed[..newline].TrimEnd();
    }
}
