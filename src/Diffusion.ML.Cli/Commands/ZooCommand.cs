using System.CommandLine;
using Diffusion.ML.Zoo;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml zoo list | info &lt;id&gt; | pull &lt;id&gt;</c>: the models of the zoo, one model's card data, and a
/// verified local copy of its files (see docs/zoo.md).
/// </summary>
internal static class ZooCommand
{
    public static Command Create()
    {
        var zoo = new ZooOptions(recursive: true);
        Func<ParseResult, ZooClient> client = parse => zoo.CreateClient(parse);

        var command = new Command("zoo", "List, inspect and download the trained models of the model zoo.");
        foreach (var option in zoo.All) command.Options.Add(option);
        command.Subcommands.Add(List(client));
        command.Subcommands.Add(Info(client));
        command.Subcommands.Add(Pull(client));
        return command;
    }

    private static Command List(Func<ParseResult, ZooClient> client)
    {
        var command = new Command("list", "List the models of the zoo.");
        command.SetAction((parse, cancellationToken) => Run(client(parse), async zoo =>
        {
            var manifest = await zoo.GetManifestAsync(cancellationToken);
            var table = new Table().AddColumns("id", "version", "task", "network", "size", "license", "metrics");
            foreach (var model in manifest.Models)
                table.AddRow(Markup.Escape(model.Id), Markup.Escape(model.Version), Markup.Escape(model.Task), Markup.Escape(model.Architecture.Kind),
                    Megabytes(model.TotalSize), Markup.Escape(model.License),
                    Markup.Escape(string.Join(", ", model.Metrics.Select(m => $"{m.Name} {m.Value:G4}"))));
            AnsiConsole.Write(table);
            return 0;
        }, cancellationToken));
        return command;
    }

    private static Command Info(Func<ParseResult, ZooClient> client)
    {
        var id = new Argument<string>("id") { Description = "model id (see zoo list), or id@version to insist on a version" };
        var command = new Command("info", "Show a model: files with size and SHA-256, licence, training data, metrics with their commands, network config.") { id };
        command.SetAction((parse, cancellationToken) => Run(client(parse), async zoo =>
        {
            var model = await zoo.GetModelAsync(parse.GetValue(id)!, cancellationToken);
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(model.Id)}[/] {Markup.Escape(model.Version)} ({Markup.Escape(model.Task)}): {Markup.Escape(model.Description)}");
            AnsiConsole.MarkupLine($"license: {Markup.Escape(model.License)}");
            AnsiConsole.MarkupLine($"training data: {Markup.Escape(model.TrainingData)}");
            string parameters = model.Architecture.Parameters is { } count ? $", {count:N0} parameters" : "";
            AnsiConsole.MarkupLine($"network: {Markup.Escape(model.Architecture.Kind)}{parameters}, config {Markup.Escape(System.Text.Json.JsonSerializer.Serialize(model.Architecture.Config))}");
            if (model.Architecture.LatentShape is { } latentShape)
                AnsiConsole.MarkupLine(Markup.Escape(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"latents: {string.Join('x', latentShape)}, latent scale {model.Architecture.LatentScale?.ToString("0.0000####") ?? "not recorded"}")));

            var cached = zoo.FindCachedFiles(model);
            var files = new Table().AddColumns("file", "size", "sha256", "cached");
            for (int i = 0; i < model.Files.Count; i++)
                files.AddRow(Markup.Escape(model.Files[i].Path), Megabytes(model.Files[i].Size), model.Files[i].Sha256, cached[i] is null ? "no" : "yes");
            AnsiConsole.Write(files);

            var metrics = new Table().AddColumns("metric", "value", "measured by", "notes");
            foreach (var metric in model.Metrics)
                metrics.AddRow(Markup.Escape(metric.Name), $"{metric.Value:G6}", Markup.Escape(metric.Command), Markup.Escape(metric.Notes ?? ""));
            AnsiConsole.Write(metrics);
            return 0;
        }, cancellationToken));
        return command;
    }

    private static Command Pull(Func<ParseResult, ZooClient> client)
    {
        var id = new Argument<string>("id") { Description = "model id (see zoo list), or id@version to insist on a version" };
        var command = new Command("pull", "Download a model's files into the cache (resumable, SHA-256 verified) and print their paths.") { id };
        command.SetAction((parse, cancellationToken) => Run(client(parse), async zoo =>
        {
            var result = await ZooOptions.PullWithProgressAsync(zoo, parse.GetValue(id)!, cancellationToken);
            var table = new Table().AddColumns("file", "size", "path");
            for (int i = 0; i < result.Model.Files.Count; i++)
                table.AddRow(Markup.Escape(result.Model.Files[i].Path), Megabytes(result.Model.Files[i].Size), Markup.Escape(result.Paths[i]));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine(result.DownloadedFiles == 0
                ? $"[green]verified[/] {Markup.Escape(result.Model.Id)} {Markup.Escape(result.Model.Version)}: every file was already present"
                : $"[green]downloaded and verified[/] {result.DownloadedFiles} file(s), {Megabytes(result.DownloadedBytes)}");
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>Runs a zoo action through <see cref="CliApp.Run"/> (a <see cref="ZooException"/> becomes one red line and <see cref="CliApp.InputError"/>).</summary>
    private static Task<int> Run(ZooClient zoo, Func<ZooClient, Task<int>> action, CancellationToken cancellationToken) => CliApp.Run(() =>
    {
        using (zoo) return action(zoo).GetAwaiter().GetResult();
    }, cancellationToken);

    private static string Megabytes(long bytes) => $"{bytes / 1e6:0.00} MB";
}
