using System.Text.Json;

namespace Diffusion.ML.Cli.Tests;

/// <summary><c>eval-points</c> against the closed-form density of the eight-Gaussians mixture.</summary>
[TestClass]
public sealed class EvalPointsCommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-cli-points").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    /// <summary>log p(x) of the eight Gaussians (radius 4/sqrt 2, std 0.5/sqrt 2, equal weights), written out here.</summary>
    private static double LogMixture(double x, double y)
    {
        double r = 4 / Math.Sqrt(2), s2 = 0.125, sum = 0;
        for (int k = 0; k < 8; k++)
        {
            double dx = x - r * Math.Cos(k * Math.PI / 4), dy = y - r * Math.Sin(k * Math.PI / 4);
            sum += Math.Exp(-(dx * dx + dy * dy) / (2 * s2)) / (2 * Math.PI * s2) / 8;
        }
        return Math.Log(sum);
    }

    [TestMethod]
    public void ScoresSamplesAndFreshDataByTheExactLogDensity()
    {
        double[][] points = [[2.8, 0.1], [0, -2.9], [1.0, 1.0]];
        string csv = Path.Combine(_dir, "samples.csv"), json = Path.Combine(_dir, "report.json");
        File.WriteAllLines(csv, ["x0,x1", .. points.Select(p => $"{p[0]},{p[1]}")]);
        Assert.AreEqual(0, Run("eval-points", "--samples", csv, "--dataset", "gaussian-mixture", "--json", json));

        using var report = JsonDocument.Parse(File.ReadAllBytes(json));
        var samples = report.RootElement.GetProperty("Samples");
        double[] expected = points.Select(p => LogMixture(p[0], p[1])).ToArray();
        double mean = expected.Average();
        double se = Math.Sqrt(expected.Sum(l => (l - mean) * (l - mean)) / 2 / 3);
        Assert.AreEqual(mean, samples.GetProperty("Mean").GetDouble(), 1e-9);
        Assert.AreEqual(se, samples.GetProperty("StandardError").GetDouble(), 1e-9);
        // Fresh data: E[log p] of well-separated equal components is log(1/8) - log(2 pi s^2) - 1 (Gaussian entropy).
        var data = report.RootElement.GetProperty("Data");
        Assert.AreEqual(Math.Log(1.0 / 8) - Math.Log(2 * Math.PI * 0.125) - 1, data.GetProperty("Mean").GetDouble(), 0.1);
        Assert.AreEqual(2000, data.GetProperty("Count").GetInt32());
    }

    [TestMethod]
    public void RefusesRowsOfTheWrongWidthAndNonNumbers()
    {
        string csv = Path.Combine(_dir, "bad.csv");
        File.WriteAllLines(csv, ["x0,x1", "1,2", "1,2,3"]);
        Assert.AreEqual(CliApp.InputError, Run("eval-points", "--samples", csv, "--dataset", "moons"));
        File.WriteAllLines(csv, ["x0,x1", "1,2", "1,NaN"]);
        Assert.AreEqual(CliApp.InputError, Run("eval-points", "--samples", csv, "--dataset", "moons"));
        Assert.AreEqual(CliApp.InputError, Run("eval-points", "--samples", Path.Combine(_dir, "missing.csv"), "--dataset", "moons"));
    }
}
