using System.CommandLine;
using Diffusion.ML.Zoo;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// Where zoo models come from: <c>--base-url</c>, <c>--cache-dir</c> and <c>--offline</c>, shared by <c>zoo</c> and by every
/// command that accepts a zoo id in place of a model file.
/// </summary>
internal sealed class ZooOptions
{
    /// <summary>Creates the options; <paramref name="recursive"/> makes them apply to a command's subcommands (as for <c>zoo</c>).</summary>
    public ZooOptions(bool recursive = false)
    {
        BaseUrl = new Option<string?>("--base-url")
        {
            Description = $"zoo: folder holding manifest.json, an http(s):// URL, file:// URL or local folder (default ${ZooClientOptions.BaseUrlEnvironmentVariable}, " +
                          $"else {ZooClientOptions.DefaultBaseUrl})",
            Recursive = recursive,
        };
        CacheDir = new Option<string?>("--cache-dir")
        {
            Description = $"zoo: cache folder (default ${ZooCacheLayout.CacheEnvironmentVariable}, else $XDG_CACHE_HOME/diffusion-ml or ~/.cache/diffusion-ml)",
            Recursive = recursive,
        };
        Offline = new Option<bool>("--offline") { Description = "zoo: no network, use the cache, then the in-repository zoo/ folder", Recursive = recursive };
    }

    /// <summary>The zoo's base URL.</summary>
    public Option<string?> BaseUrl { get; }

    /// <summary>The cache folder.</summary>
    public Option<string?> CacheDir { get; }

    /// <summary>No network.</summary>
    public Option<bool> Offline { get; }

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => [BaseUrl, CacheDir, Offline];

    /// <summary>A client with the parsed options; <paramref name="offline"/> overrides <c>--offline</c> when given. The caller disposes it.</summary>
    public ZooClient CreateClient(ParseResult parse, bool? offline = null) => new(new ZooClientOptions
    {
        BaseUrl = parse.GetValue(BaseUrl), CacheDirectory = parse.GetValue(CacheDir), Offline = offline ?? parse.GetValue(Offline),
    });

    /// <summary>Pulls with one progress bar per file on a terminal, quietly otherwise (logs, redirected output, offline copies).</summary>
    public static async Task<ZooPullResult> PullWithProgressAsync(ZooClient zoo, string reference, CancellationToken cancellationToken)
    {
        if (zoo.Options.Offline || !AnsiConsole.Profile.Capabilities.Interactive) return await zoo.PullAsync(reference, progress: null, cancellationToken);
        return await AnsiConsole.Progress().StartAsync(async context =>
        {
            var bars = new Dictionary<string, ProgressTask>();
            var progress = new ImmediateProgress(p =>
            {
                if (!bars.TryGetValue(p.Path, out var bar)) bars[p.Path] = bar = context.AddTask(Markup.Escape(p.Path), maxValue: Math.Max(1, p.Total));
                bar.Value = p.Bytes;
            });
            return await zoo.PullAsync(reference, progress, cancellationToken);
        });
    }

    /// <summary>Reports on the calling thread (files are pulled one after the other).</summary>
    private sealed class ImmediateProgress(Action<ZooProgress> report) : IProgress<ZooProgress>
    {
        public void Report(ZooProgress value) => report(value);
    }
}
