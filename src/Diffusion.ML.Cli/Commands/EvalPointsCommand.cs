using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Diffusion.ML.Data;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml eval-points</c>: scores 2-D samples (the <c>samples.csv</c> that <c>sample</c> writes for a points
/// model) by their mean log-density under the exact density of the synthetic data set the model learned, beside the same
/// figure for fresh points of that data set: the expected log-likelihood E_q[log p(x)] of the samples, which is highest
/// for samples on the data's mass and lower for samples off it (it does not reward coverage: a model collapsed onto the
/// densest region could score above the data).
/// </summary>
internal static class EvalPointsCommand
{
    public static Command Create()
    {
        var samples = new Option<string>("--samples") { Description = "CSV of samples with a header row (samples.csv from sample)", Required = true };
        var dataset = new Option<string>("--dataset") { Description = "the data set the model learned", Required = true };
        dataset.AcceptOnlyFromAmong(DatasetCatalog.ToyNames);
        var referenceCount = new Option<int>("--reference-count") { Description = "fresh data points scored beside the samples", DefaultValueFactory = _ => 2000 };
        var seed = CommonOptions.Seed();
        var json = new Option<string?>("--json") { Description = "JSON report to write" };
        var command = new Command("eval-points", "Score 2-D samples by their mean log-density under the exact density of a synthetic data set, beside fresh data.")
        {
            samples, dataset, referenceCount, seed, json,
        };
        command.SetAction((parse, _) => CliApp.Run(() =>
        {
            var toy = DatasetCatalog.Toy(parse.GetValue(dataset)!);
            double[][] points = ReadCsv(parse.GetValue(samples)!, toy.Dimension);
            int count = parse.GetValue(referenceCount);
            if (count < 2) throw new ArgumentException($"--reference-count must be at least 2; got {count}.");
            var real = new float[count * toy.Dimension];
            toy.Sample(new Random((int)parse.GetValue(seed)), real, count);
            var report = new PointsReport(parse.GetValue(dataset)!, Score(toy, points),
                Score(toy, Enumerable.Range(0, count).Select(i => real.AsSpan(i * toy.Dimension, toy.Dimension).ToArray().Select(v => (double)v).ToArray()).ToArray()));
            AnsiConsole.MarkupLine(Markup.Escape($"{report.Dataset}: samples {report.Samples.Mean:0.000} +- {report.Samples.StandardError:0.000} nats " +
                $"({report.Samples.Count} points), data {report.Data.Mean:0.000} +- {report.Data.StandardError:0.000} nats ({report.Data.Count} points)"));
            if (parse.GetValue(json) is { } path)
                AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(report, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }, CancellationToken.None));
        return command;
    }

    /// <summary>Mean, standard error and count of the log-densities of some points.</summary>
    public sealed record LogDensitySummary(double Mean, double StandardError, int Count);

    /// <summary>The report: the samples' and fresh data's mean log-density (nats).</summary>
    public sealed record PointsReport(string Dataset, LogDensitySummary Samples, LogDensitySummary Data);

    private static LogDensitySummary Score(IToyDistribution toy, double[][] points)
    {
        double[] logs = points.Select(p => toy.LogDensity(p)).ToArray();
        double mean = logs.Average();
        double variance = logs.Sum(l => (l - mean) * (l - mean)) / (logs.Length - 1);
        return new LogDensitySummary(mean, Math.Sqrt(variance / logs.Length), logs.Length);
    }

    /// <summary>Reads a CSV of points (a header row, then one point per line), refusing rows of the wrong width or non-numbers.</summary>
    private static double[][] ReadCsv(string path, int dimension)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Samples file '{path}' does not exist; write one with `diffusion-ml sample` on a points model.", path);
        var rows = new List<double[]>();
        int line = 1;
        foreach (string text in File.ReadLines(path).Skip(1))
        {
            line++;
            if (text.Length == 0) continue;
            string[] cells = text.Split(',');
            if (cells.Length != dimension)
                throw new InvalidDataException($"{path}, line {line}: {cells.Length} values; points of this data set have {dimension}.");
            rows.Add(cells.Select(c => double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
                ? v : throw new InvalidDataException($"{path}, line {line}: '{c}' is not a finite number.")).ToArray());
        }
        if (rows.Count < 2) throw new InvalidDataException($"{path} holds {rows.Count} points; at least 2 are needed for a standard error.");
        return rows.ToArray();
    }
}
