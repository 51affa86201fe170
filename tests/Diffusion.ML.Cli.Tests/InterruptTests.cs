using System.Diagnostics;
using Diffusion.ML.TorchSharp.Training;

namespace Diffusion.ML.Cli.Tests;

/// <summary>
/// A real SIGINT to a training process (what Ctrl+C sends): the step in flight finishes, the checkpoint is written, the
/// process exits with 130 and says how to resume. The step here takes seconds, longer than System.CommandLine's default
/// grace of 2 seconds, which ended the process before its checkpoint was written.
/// </summary>
[TestClass]
public sealed class InterruptTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-interrupt").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void SigintDuringTrainingWritesTheCheckpointAndExits130()
    {
        if (OperatingSystem.IsWindows()) Assert.Inconclusive("SIGINT is a POSIX signal; Windows sends Ctrl+C to a console, not to a process.");
        string checkpoint = Path.Combine(_dir, "run.ckpt");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dir,
        };
        foreach (string arg in (string[])[typeof(CliApp).Assembly.Location, "train", "--dataset", "digits", "--base-channels", "64", "--batch-size", "512",
                     "--steps", "100000", "--checkpoint-every", "0", "--threads", "1", "--output", checkpoint])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var firstStep = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (e.Data.Contains(" step ", StringComparison.Ordinal)) firstStep.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            Assert.IsTrue(firstStep.Task.Wait(TimeSpan.FromMinutes(3)), $"no training step reported:\n{output}");
            using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) kill.WaitForExit();
            Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(3)), "the process did not end after SIGINT");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        process.WaitForExit(); // the output handlers have run
        string text;
        lock (output) text = output.ToString();
        Assert.AreEqual(130, process.ExitCode, text);
        Assert.IsTrue(File.Exists(checkpoint), $"no checkpoint after SIGINT:\n{text}");
        long step = Checkpoint.Load(checkpoint).Manifest.Step;
        Assert.IsGreaterThanOrEqualTo(1L, step);
        StringAssert.Contains(text, $"interrupted at step {step}");
    }
}
