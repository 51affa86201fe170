using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Native;

[TestClass]
public sealed class TorchSharpRuntimeTests
{
    [TestMethod]
    public void EnsureLoaded_ThenTorchWorks()
    {
        TorchSharpRuntime.EnsureLoaded();

        using var ones = torch.ones(2);
        using var sum = ones.sum();
        Assert.AreEqual(2f, sum.item<float>());
    }

    [TestMethod]
    public void EnsureLoaded_IsIdempotentAcrossThreads()
    {
        Parallel.For(0, 8, _ => TorchSharpRuntime.EnsureLoaded());
        TorchSharpRuntime.EnsureLoaded();
    }

    [TestMethod]
    public void ResolveDevice_Cpu()
    {
        Assert.AreEqual(DeviceType.CPU, TorchSharpRuntime.ResolveDevice("cpu").type);
        Assert.AreEqual(DeviceType.CPU, TorchSharpRuntime.ResolveDevice(" CPU ").type);
    }

    [TestMethod]
    public void ResolveDevice_Auto_IsCudaOnlyWhenAvailable()
    {
        var device = TorchSharpRuntime.ResolveDevice("auto");
        Assert.AreEqual(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, device.type);
    }

    [TestMethod]
    public void ResolveDevice_CudaWithoutCuda_ThrowsClearError()
    {
        TorchSharpRuntime.EnsureLoaded();
        if (torch.cuda.is_available())
        {
            Assert.Inconclusive("CUDA is available here.");
        }

        foreach (var name in new[] { "cuda", "cuda:1", "CUDA:0" })
        {
            var error = Assert.ThrowsExactly<InvalidOperationException>(() => TorchSharpRuntime.ResolveDevice(name));
            Assert.Contains("torch.cuda.is_available() is false", error.Message);
            Assert.Contains("docs/gpu.md", error.Message);
            Assert.Contains(name, error.Message);
        }
    }

    [TestMethod]
    public void ResolveDevice_BadNames_ThrowArgumentException()
    {
        Assert.ThrowsExactly<ArgumentException>(() => TorchSharpRuntime.ResolveDevice("gpu"));
        Assert.ThrowsExactly<ArgumentException>(() => TorchSharpRuntime.ResolveDevice("cuda:x"));
        Assert.ThrowsExactly<ArgumentException>(() => TorchSharpRuntime.ResolveDevice("cuda:-1"));
        Assert.ThrowsExactly<ArgumentException>(() => TorchSharpRuntime.ResolveDevice(" "));
        Assert.ThrowsExactly<ArgumentNullException>(() => TorchSharpRuntime.ResolveDevice(null!));
    }

    [TestMethod]
    public void LoadFailureMessage_SaysWhatWhyAndWhatToDo()
    {
        const string loader = "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /app/runtimes/linux-x64/native/libLibTorchSharp.so)";
        var message = TorchSharpRuntime.ComposeLoadFailureMessage(
            loader,
            "/app/runtimes/linux-x64/native/libLibTorchSharp.so",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "GLIBCXX_3.4.30",
            ["/app/runtimes/linux-x64/native/libLibTorchSharp.so still needs GLIBCXX_3.4.32 and could not be patched at run time (UnauthorizedAccessException: denied)."],
            shimNotFound: false);

        Assert.Contains(loader, message);                          // what failed
        Assert.Contains("needs GLIBCXX_3.4.32", message);          // why
        Assert.Contains("has up to GLIBCXX_3.4.30", message);
        Assert.Contains("could not be patched at run time", message);
        Assert.Contains("Diffusion.ML build targets", message);    // what to do
        Assert.Contains("Debian 13, Ubuntu 24.04", message);
        Assert.Contains("LD_LIBRARY_PATH", message);
        Assert.Contains("docs/torchsharp-on-linux.md", message);

        var other = TorchSharpRuntime.ComposeLoadFailureMessage("libtorch_cpu.so: cannot open shared object file", null, null, null, [], shimNotFound: true);
        Assert.Contains("libtorch_cpu.so: cannot open shared object file", other);
        Assert.Contains("was not found next to the application", other);
        Assert.DoesNotContain("Debian 13", other);
    }
}
