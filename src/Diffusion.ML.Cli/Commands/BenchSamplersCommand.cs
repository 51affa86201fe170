using System.CommandLine;
using Diffusion.ML.Cli.Benchmarks;
using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml bench samplers</c>: the error of every sampler in mean and standard deviation against the true data
/// distribution, driven by the exact denoiser of Gaussian data, over a range of step counts; writes a Markdown table.
/// </summary>
internal static class BenchSamplersCommand
{
    public static Command Create()
    {
        var samplers = new Option<string?>("--samplers") { Description = "comma-separated sampler names (default: all)" };
        var steps = new Option<string>("--steps") { Description = "step counts", DefaultValueFactory = _ => "5,10,20,50,100" };
        var spacing = new Option<TimestepSpacing>("--spacing") { Description = "timestep spacing", DefaultValueFactory = _ => TimestepSpacing.Trailing };
        var samples = new Option<int>("--samples") { Description = "samples for the moments of stochastic samplers", DefaultValueFactory = _ => 4096 };
        var output = new Option<string?>("--markdown") { Description = "also write the tables to this Markdown file" };
        var command = new Command("samplers", "Sampler accuracy on Gaussian data with the exact denoiser: error in mean and std per step count.")
        {
            samplers, steps, spacing, samples, output,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string[] names = parse.GetValue(samplers) is { } list ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [.. Samplers.Names];
            int[] stepCounts = CommonOptions.ParseIntList(parse.GetValue(steps)!, "--steps");
            double[] mu = [0.3, -0.2], s = [0.5, 0.1]; // a wide and a narrow coordinate: the narrow one is the hard case near t = 0
            var rows = SamplerAccuracy.Measure(names, stepCounts, mu, s, parse.GetValue(spacing), parse.GetValue(samples),
                line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"));
            string markdown = string.Join("\n", rows.Select((r, i) => Table(r, mu[i], s[i], stepCounts, parse.GetValue(spacing), parse.GetValue(samples))));
            Console.WriteLine(markdown);
            if (parse.GetValue(output) is { } path)
                AtomicFile.WriteAllText(path, markdown);
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>A number with an explicit sign, "+0.0" when it rounds to zero.</summary>
    private static string Signed(double value, string format)
    {
        string text = Math.Abs(value).ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        return (value < 0 && text.Any(c => c is >= '1' and <= '9') ? "-" : "+") + text;
    }

    private static string Table(List<SamplerAccuracy.Row> rows, double mu, double s, int[] stepCounts, TimestepSpacing spacing, int samples)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine(FormattableString.Invariant($"Data N({mu}, {s}^2), linear schedule T = 1000, {spacing} spacing, no clipping. ") +
            "Each cell: error of the mean / error of the std (evaluations). Deterministic samplers: exact (affine map of x_T); " +
            FormattableString.Invariant($"stochastic samplers (marked *): {samples} samples, errors with their z-scores in brackets."));
        text.AppendLine();
        text.AppendLine("| sampler | " + string.Join(" | ", stepCounts.Select(n => $"{n} steps")) + " |");
        text.AppendLine("|---|" + string.Concat(stepCounts.Select(_ => "---|")));
        foreach (var group in rows.GroupBy(r => r.Sampler))
        {
            bool stochastic = group.Any(r => !r.Deterministic);
            text.Append($"| {group.Key}{(stochastic ? " *" : "")} |");
            foreach (var r in group)
                    text.Append(r.Deterministic
                    ? FormattableString.Invariant($" {r.MeanError:+0.0e+0;-0.0e+0;0} / {r.StdError:+0.0e+0;-0.0e+0;0} ({r.Evaluations}) |")
                    : FormattableString.Invariant($" {Signed(r.MeanError, "0.0000")} [{Signed(r.MeanZ, "0.0")}] / {Signed(r.StdError, "0.0000")} [{Signed(r.StdZ, "0.0")}] ({r.Evaluations}) |"));
            text.AppendLine();
        }
        return text.ToString();
    }
}
