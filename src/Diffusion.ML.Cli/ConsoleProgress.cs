using Spectre.Console;

namespace Diffusion.ML.Cli;

/// <summary>
/// Shows a long-running job's progress: a Spectre.Console progress bar on an interactive terminal, otherwise (CI, logs)
/// one plain line every few seconds. Either way the display is drawn on the thread doing the work (no refresh thread):
/// a thread allocating beside TorchSharp work starts garbage collections during its native calls, whose finalizers can
/// free the scalars those calls are using (docs/torchsharp-on-linux.md, "Scalars freed during a native call").
/// </summary>
internal static class ConsoleProgress
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Runs <paramref name="work"/>, giving it a callback (value done, description) that updates the display.</summary>
    public static void Run(string title, double total, Action<Action<double, string>> work)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .AutoRefresh(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(title, maxValue: total);
                    var drawn = DateTime.UtcNow;
                    ctx.Refresh();
                    work((value, text) =>
                    {
                        task.Value = value;
                        task.Description = $"{title} {Markup.Escape(text)}";
                        if (DateTime.UtcNow - drawn < RefreshInterval && value < total) return;
                        drawn = DateTime.UtcNow;
                        ctx.Refresh();
                    });
                    ctx.Refresh();
                });
            return;
        }
        var last = DateTime.UtcNow - LogInterval;
        work((value, text) =>
        {
            if (DateTime.UtcNow - last < LogInterval && value < total) return;
            last = DateTime.UtcNow;
            Console.WriteLine($"{title} {value:0}/{total:0} {text}");
        });
    }
}
