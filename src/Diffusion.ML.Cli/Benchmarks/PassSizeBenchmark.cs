using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>
/// Times one fixed amount of work (a number of rows through a network) done in passes of different sizes: how much a
/// network's per-row time depends on how many rows one call holds (cache, allocator; docs/benchmarks.md, "Evaluation
/// batch on the CPU"). The first pass size is the baseline the others are compared with.
/// </summary>
internal static class PassSizeBenchmark
{
    /// <summary>One kind of work: its name and the job, which processes all the rows in passes of the size it is given.</summary>
    public sealed record Job(string Name, Action<int> Run);

    /// <summary>The times of one job at one pass size: milliseconds per row of each timed run, and their median.</summary>
    public sealed record Timing(int PassSize, IReadOnlyList<double> MillisecondsPerRow)
    {
        /// <summary>The median run, the figure the table reports (robust to one disturbed run on a shared machine).</summary>
        public double Median
        {
            get
            {
                var sorted = MillisecondsPerRow.Order().ToArray();
                int n = sorted.Length;
                return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="job"/> once untimed at every pass size (loads, first-call allocation), then
    /// <paramref name="repeats"/> rounds that each time every pass size once, interleaved so that a slow minute of the
    /// machine hits all sizes alike.
    /// </summary>
    /// <param name="job">The work.</param>
    /// <param name="rows">Rows the job processes per run (the divisor of the per-row time).</param>
    /// <param name="passSizes">Pass sizes, the baseline first.</param>
    /// <param name="repeats">Timed runs per pass size.</param>
    /// <param name="log">Receives one line per timed run.</param>
    /// <param name="wait">Waits for the device before the clock starts and stops (a GPU synchronisation), or null.</param>
    public static IReadOnlyList<Timing> Measure(Job job, int rows, IReadOnlyList<int> passSizes, int repeats, Action<string> log, Action? wait = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        if (passSizes.Count == 0 || passSizes.Any(n => n < 1))
            throw new ArgumentException($"Pass sizes must be positive, and at least one is needed; got [{string.Join(", ", passSizes)}].", nameof(passSizes));
        foreach (int size in passSizes) job.Run(size);
        var times = passSizes.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < repeats; round++)
            for (int i = 0; i < passSizes.Count; i++)
            {
                wait?.Invoke();
                var clock = Stopwatch.StartNew();
                job.Run(passSizes[i]);
                wait?.Invoke();
                times[i].Add(clock.Elapsed.TotalMilliseconds / rows);
                log($"{job.Name}, passes of {passSizes[i]}: {times[i][^1]:0.000} ms per row");
            }
        return passSizes.Select((size, i) => new Timing(size, times[i])).ToArray();
    }

    /// <summary>
    /// A Markdown table of <paramref name="timings"/>: per pass size the median ms per row, rows per second, the speed
    /// relative to the first pass size, and every run.
    /// </summary>
    public static string Markdown(string title, int rows, IReadOnlyList<Timing> timings)
    {
        var invariant = CultureInfo.InvariantCulture;
        double baseline = timings[0].Median;
        int runs = timings[0].MillisecondsPerRow.Count;
        var text = new StringBuilder();
        text.Append(invariant, $"{title}: {rows} rows in passes of N rows, median of {runs} run{(runs == 1 ? "" : "s")}\n\n");
        text.Append("| N | ms per row | rows/s | speed vs N = ").Append(timings[0].PassSize.ToString(invariant)).Append(" | runs (ms per row) |\n");
        text.Append("|---|---|---|---|---|\n");
        foreach (var t in timings)
            text.Append(invariant, $"| {t.PassSize} | {t.Median:0.000} | {1000 / t.Median:0.0} | {baseline / t.Median:0.00}x | ")
                .Append(string.Join(" / ", t.MillisecondsPerRow.Select(v => v.ToString("0.000", invariant)))).Append(" |\n");
        return text.ToString();
    }
}
