using System.Globalization;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>What a benchmark measures.</summary>
internal enum BenchmarkMode
{
    /// <summary>DDPM training steps (noise, forward, backward, gradient clipping, AdamW, EMA): images/s.</summary>
    Train,

    /// <summary>Denoiser forward passes in inference mode: evaluations/s.</summary>
    Forward,

    /// <summary>DDIM sampling end to end with classifier-free guidance: images/s.</summary>
    Ddim,

    /// <summary>A square fp32 matrix product (sgemm): GFLOP/s, the machine's practical limit.</summary>
    Sgemm,
}

/// <summary>Who runs the benchmark.</summary>
internal enum BenchmarkBackend
{
    /// <summary>Diffusion.ML on TorchSharp (libtorch).</summary>
    TorchSharp,

    /// <summary>Diffusion.ML on ONNX Runtime (the same network exported by DenoiserOnnxExporter).</summary>
    OnnxRuntime,

    /// <summary>The same network and step in PyTorch (torch_unet_baseline.py, Debian's python3-torch).</summary>
    PyTorch,
}

/// <summary>
/// One benchmark: a mode, a backend and the UNet (28x28x1, 10 classes) it runs on. The same case is passed to our own
/// process (<see cref="ToCliArguments"/>) and to the PyTorch script (<see cref="ToPythonArguments"/>).
/// </summary>
internal sealed record BenchmarkCase
{
    public BenchmarkMode Mode { get; init; } = BenchmarkMode.Train;
    public BenchmarkBackend Backend { get; init; } = BenchmarkBackend.TorchSharp;
    public int BaseChannels { get; init; } = 64;
    public IReadOnlyList<int> Attention { get; init; } = [14, 7];
    public int Batch { get; init; } = 64;
    public int Steps { get; init; } = 10;
    public int Warmup { get; init; } = 2;
    public int SamplingSteps { get; init; } = 20;
    public double Guidance { get; init; } = 2.0;
    public int Matrix { get; init; } = 2048;
    public int Threads { get; init; }

    /// <summary>Where libtorch runs the case: cpu, cuda or cuda:N (PyTorch gets the same name).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// The interpreter that runs the PyTorch baseline, one whose <c>import torch</c> works: by default Debian's, with
    /// python3-torch (the first python3 on PATH may be another one without torch).
    /// </summary>
    public string Python { get; init; } = "/usr/bin/python3";

    /// <summary>
    /// PyTorch sgemm only: run with OPENBLAS_CORETYPE removed from the environment, so that OpenBLAS picks its own kernel
    /// for this CPU (the AVX-512 one on the project's machines) instead of the Haswell kernel the environment forces for
    /// tests. MKL's sgemm in libtorch does not reach the hardware's limit on every CPU (136.7 GFLOP/s on the AMD EPYC
    /// machine), so this row is the fp32 peak that shares are taken of.
    /// </summary>
    public bool OpenBlasOwnKernel { get; init; }

    /// <summary>What the rate counts.</summary>
    public string Unit => Mode switch
    {
        BenchmarkMode.Train => "images/s",
        BenchmarkMode.Forward => "evaluations/s",
        BenchmarkMode.Ddim => "images/s",
        _ => "GFLOP/s",
    };

    /// <summary>Network evaluations per unit of the rate (per image for DDIM: steps x 2 with guidance).</summary>
    public double EvaluationsPerUnit => Mode == BenchmarkMode.Ddim ? SamplingSteps * (Guidance != 1.0 ? 2 : 1) : 1;

    /// <summary>Short description, e.g. "train UNet-64 b64".</summary>
    public string Label => Mode == BenchmarkMode.Sgemm
        ? $"sgemm {Matrix}x{Matrix}{(OpenBlasOwnKernel ? ", OpenBLAS's own kernel" : "")}"
        : $"{Mode.ToString().ToLowerInvariant()}{(Mode == BenchmarkMode.Ddim ? $"-{SamplingSteps} cfg {Guidance.ToString(CultureInfo.InvariantCulture)}" : "")} UNet-{BaseChannels} b{Batch}{(Device == "cpu" ? "" : $" on {Device}")}";

    private string AttentionText => string.Join(',', Attention);

    /// <summary>Arguments of <c>diffusion-ml bench</c> that measure this case and print it as JSON.</summary>
    public IReadOnlyList<string> ToCliArguments() =>
    [
        "bench", "--json", "--no-baseline", "--mode", Mode.ToString().ToLowerInvariant(),
        "--backend", Backend == BenchmarkBackend.OnnxRuntime ? "onnx" : "torch",
        .. CommonArguments("--base-channels", "--attention", "--batch-size"),
    ];

    /// <summary>Arguments of torch_unet_baseline.py for the same case.</summary>
    public IReadOnlyList<string> ToPythonArguments() =>
        ["--mode", Mode.ToString().ToLowerInvariant(), .. CommonArguments("--base", "--attention", "--batch")];

    private string[] CommonArguments(string baseOption, string attentionOption, string batchOption) =>
    [
        baseOption, $"{BaseChannels}", attentionOption, Attention.Count == 0 && baseOption == "--base-channels" ? "none" : AttentionText,
        batchOption, $"{Batch}", "--steps", $"{Steps}", "--warmup", $"{Warmup}",
        "--sampling-steps", $"{SamplingSteps}", "--guidance", Guidance.ToString(CultureInfo.InvariantCulture),
        "--matrix", $"{Matrix}", "--threads", $"{Threads}", "--device", Device,
    ];
}

/// <summary>What one run of a case measured.</summary>
/// <param name="Rate">In <see cref="BenchmarkCase.Unit"/>.</param>
/// <param name="Parameters">The network's parameter count (0 for sgemm), to check both sides ran the same network.</param>
/// <param name="PeakWorkingSetBytes">The process's peak resident memory (VmHWM / ru_maxrss).</param>
/// <param name="Runtime">Library and version that ran it.</param>
/// <param name="Threads">Intra-op threads used.</param>
internal sealed record BenchmarkMeasurement(double Rate, long Parameters, long PeakWorkingSetBytes, string Runtime, int Threads);
