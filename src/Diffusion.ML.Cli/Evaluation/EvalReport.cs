using System.Text.Json;
using System.Text.Json.Serialization;
using Diffusion.ML.Data;
using Diffusion.ML.Evaluation;
using Spectre.Console;

namespace Diffusion.ML.Cli.Evaluation;

/// <summary>What <c>eval</c> measured, printed as a table and written as JSON.</summary>
internal sealed class EvalReport
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };

    /// <summary>When the report was made (UTC, ISO 8601).</summary>
    public string Date { get; init; } = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");

    /// <summary>The command's arguments.</summary>
    public required string Command { get; init; }

    /// <summary>What was evaluated.</summary>
    public string? Source { get; set; }

    /// <summary>Sampler settings, when samples were generated.</summary>
    public string? Sampling { get; set; }

    /// <summary>The real images compared with.</summary>
    public string? Reference { get; set; }

    /// <summary>The feature network's name.</summary>
    public string? FeatureNetwork { get; set; }

    /// <summary>FID, KID, precision/recall, IS and class counts.</summary>
    public SampleQualityResult? Quality { get; set; }

    /// <summary>Bits per dimension of the checkpoint.</summary>
    public LikelihoodSummary? Likelihood { get; set; }

    /// <summary>Wall time of the whole evaluation.</summary>
    public double Seconds { get; set; }

    /// <summary>Prints the numbers as a table.</summary>
    public void Print(IReadOnlyList<string>? classNames)
    {
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        if (Quality is { } q)
        {
            table.AddRow("FID", $"{q.Fid:0.00}");
            table.AddRow("KID x 1000", $"{1000 * q.KidMean:0.00} ± {1000 * q.KidStandardDeviation:0.00}");
            table.AddRow("precision", $"{q.Precision:0.000}");
            table.AddRow("recall", $"{q.Recall:0.000}");
            if (q.InceptionScoreMean is { } isMean)
                table.AddRow("Inception Score", $"{isMean:0.00} ± {q.InceptionScoreStandardDeviation:0.00}");
            if (q.ClassAgreement is { } agreement)
                table.AddRow("class agreement", $"{agreement:0.000}");
            if (q.PredictedClassCounts is { } counts)
                table.AddRow("predicted classes", string.Join(", ", counts.Select((n, c) => $"{(classNames is { } names && c < names.Count ? names[c] : c.ToString())} {n}")));
        }
        if (Likelihood is { } l)
            table.AddRow($"bits/dim ({l.Images} images, {l.Variance})", $"{l.BitsPerDim:0.0000} ± {l.StandardError:0.0000}");
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(Source ?? "")}[/] vs {Markup.Escape(Reference ?? "")}, features {Markup.Escape(FeatureNetwork ?? "-")}");
        AnsiConsole.Write(table);
    }

    /// <summary>Writes the report as indented JSON (atomically).</summary>
    public void Write(string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, this, Json));
    }
}
