using Diffusion.ML.Onnx;
using Diffusion.ML.Randomness;
using Diffusion.ML.Schedules;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Diffusion.ML.OnnxRuntime.Tests;

[TestClass]
public sealed class NoiseSchedulerOnnxTests
{
    public TestContext TestContext { get; set; } = null!;

    private sealed record Outputs(float[] Noisy, long[] Timesteps, float[] Noise);

    private static InferenceSession Open(OnnxModel model, GraphOptimizationLevel level)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level, IntraOpNumThreads = 1 };
        return new InferenceSession(model.ToByteArray(), options);
    }

    private static Outputs RunGraph(OnnxModel model, float[] x0, int dimension, long[]? rowKeys, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        using var session = Open(model, level);
        int rows = x0.Length / dimension;
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(NoiseSchedulerOnnxExporter.SampleInputName, new DenseTensor<float>(x0, [rows, dimension])),
        };
        if (rowKeys is not null)
            inputs.Add(NamedOnnxValue.CreateFromTensor(NoiseSchedulerOnnxExporter.RowKeyInputName, new DenseTensor<long>(rowKeys, [rows])));
        using var results = session.Run(inputs);
        return new Outputs(
            results.Single(r => r.Name == NoiseSchedulerOnnxExporter.NoisyOutputName).AsTensor<float>().ToArray(),
            results.Single(r => r.Name == NoiseSchedulerOnnxExporter.TimestepOutputName).AsTensor<long>().ToArray(),
            results.Single(r => r.Name == NoiseSchedulerOnnxExporter.NoiseOutputName).AsTensor<float>().ToArray());
    }

    private static Outputs RunReference(SeededForwardNoising noising, float[] x0, int dimension, long[]? rowKeys)
    {
        var result = new Outputs(new float[x0.Length], new long[x0.Length / dimension], new float[x0.Length]);
        ulong[] keys = rowKeys is null ? [] : rowKeys.Select(k => unchecked((ulong)k)).ToArray();
        noising.ApplyBatch(x0, dimension, keys, result.Noisy, result.Timesteps, result.Noise);
        return result;
    }

    /// <summary>Timesteps equal; noise and x_t within 1e-5 (1 + |reference|), the float32 rounding of Box-Muller and eq. 4.</summary>
    private void AssertMatches(Outputs expected, Outputs actual, string what)
    {
        CollectionAssert.AreEqual(expected.Timesteps, actual.Timesteps, $"{what}: timesteps");
        foreach (var (name, reference, graph) in new[] { ("noise", expected.Noise, actual.Noise), ("noisy", expected.Noisy, actual.Noisy) })
        {
            Assert.HasCount(reference.Length, graph);
            double worst = 0;
            for (int i = 0; i < reference.Length; i++)
            {
                Assert.IsTrue(float.IsFinite(graph[i]), $"{what}: {name}[{i}] = {graph[i]}");
                worst = Math.Max(worst, Math.Abs(graph[i] - reference[i]) / (1 + Math.Abs(reference[i])));
            }
            TestContext.WriteLine($"{what}: max |{name} graph - C#| / (1 + |C#|) = {worst:E2}");
            Assert.IsLessThanOrEqualTo(1e-5, worst, $"{what}: {name}");
        }
    }

    private static float[] Uniform(int count, int seed, float scale)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
    }

    [TestMethod]
    public void ThreefryGraphEqualsTheCSharpHashAndTheKnownAnswers()
    {
        var random = new Random(3);
        uint Word() => random.Next(4) switch
        {
            0 => uint.MaxValue - (uint)random.Next(64),        // near 2^32 - 1, where the adds and rotations wrap
            1 => (uint)random.Next(64),                          // near 0
            _ => (uint)random.NextInt64(0, 1L << 32),
        };
        const int count = 4000;
        var words = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, count).Select(_ => (long)Word()).ToArray()).ToArray();
        // Random123's kat_vectors (threefry2x32, 20 rounds) as the first three rows: key, counter -> published words.
        long[][] known = [[0, 0, 0, 0], [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3]];
        for (int k = 0; k < 3; k++)
            for (int w = 0; w < 4; w++) words[w][k] = known[k][w];

        var b = new OnnxGraphBuilder(OnnxThreefry.MinOpset);
        var inputs = new[] { "key0", "key1", "counter0", "counter1" }.Select(n => b.AddInput(n, OnnxElementType.Int64, "n")).ToArray();
        var (x0, x1) = OnnxThreefry.Hash(b, inputs[0], inputs[1], inputs[2], inputs[3]);
        b.AddOutput(x0, "x0", OnnxElementType.Int64, "n");
        b.AddOutput(x1, "x1", OnnxElementType.Int64, "n");
        using var session = Open(b.Build(), GraphOptimizationLevel.ORT_ENABLE_ALL);
        using var results = session.Run(new[] { "key0", "key1", "counter0", "counter1" }
            .Select((n, w) => NamedOnnxValue.CreateFromTensor(n, new DenseTensor<long>(words[w], [count]))).ToList());
        long[] y0 = results.Single(r => r.Name == "x0").AsTensor<long>().ToArray(), y1 = results.Single(r => r.Name == "x1").AsTensor<long>().ToArray();

        CollectionAssert.AreEqual(new long[] { 0x6b200159, 0x1cb996fc, 0xc4923a9c }, y0.Take(3).ToArray(), "published word 0");
        CollectionAssert.AreEqual(new long[] { 0x99ba4efe, 0xbb002be7, 0x483df7a0 }, y1.Take(3).ToArray(), "published word 1");
        for (int i = 0; i < count; i++)
        {
            var (e0, e1) = Threefry2x32.Hash((uint)words[0][i], (uint)words[1][i], (uint)words[2][i], (uint)words[3][i]);
            Assert.AreEqual(((long)e0, (long)e1), (y0[i], y1[i]), $"row {i}: key ({words[0][i]:x8}, {words[1][i]:x8}), counter ({words[2][i]:x8}, {words[3][i]:x8})");
        }
    }

    [TestMethod]
    [DataRow(7, GraphOptimizationLevel.ORT_DISABLE_ALL)]
    [DataRow(16, GraphOptimizationLevel.ORT_ENABLE_ALL)]
    [DataRow(1, GraphOptimizationLevel.ORT_ENABLE_ALL)]
    public void KeyedGraphEqualsTheReference(int dimension, GraphOptimizationLevel level)
    {
        var options = new NoiseSchedulerOnnxExportOptions { Dimension = dimension, Seed = 0xFEDCBA9876543210UL, UseRowKeyInput = true };
        var model = NoiseSchedulerOnnxExporter.Export(options);
        var random = new Random(5);
        long[] keys = [0, 1, -1, long.MinValue, long.MaxValue, 1L << 32, -(1L << 32), uint.MaxValue, .. Enumerable.Range(0, 56).Select(_ => random.NextInt64(long.MinValue, long.MaxValue))];
        float[] x0 = Uniform(keys.Length * dimension, 6, 3f);
        AssertMatches(RunReference(options.CreateNoising(), x0, dimension, keys), RunGraph(model, x0, dimension, keys, level), $"D = {dimension}, {level}");
    }

    [TestMethod]
    [DataRow(GraphOptimizationLevel.ORT_DISABLE_ALL)]
    [DataRow(GraphOptimizationLevel.ORT_ENABLE_ALL)]
    public void ContentKeyedGraphEqualsTheReference(GraphOptimizationLevel level)
    {
        const int d = 10;
        var options = new NoiseSchedulerOnnxExportOptions { Dimension = d, Seed = 12345, MinTimestep = 10, MaxTimestep = 500 };
        var model = NoiseSchedulerOnnxExporter.Export(options);
        float[] x0 = Uniform(40 * d, 7, 2f);
        // Ties of the 2^-16 grid (round half to even), signed zeros, subnormals, values past the 2^62 clamp, the largest floats.
        float[] special =
        [
            0.5f / 65536, 1.5f / 65536, 2.5f / 65536, -0.5f / 65536, -1.5f / 65536, -0f, 0f, float.Epsilon, -float.Epsilon, 1e-30f,
            32767.99f, -32768f, 40000f, 1e14f, -1e14f, 1e20f, -1e20f, 3e38f, -3e38f, float.MaxValue,
        ];
        special.CopyTo(x0, 0);
        AssertMatches(RunReference(options.CreateNoising(), x0, d, null), RunGraph(model, x0, d, null, level), $"content keys, {level}");
    }

    [TestMethod]
    public void ContentKeysFollowTheRowNotItsPosition()
    {
        const int d = 6;
        var model = NoiseSchedulerOnnxExporter.Export(new NoiseSchedulerOnnxExportOptions { Dimension = d, Seed = 99 });
        float[] row = [0.25f, -1.5f, 3f, 0f, 0.125f, -2f];
        float[] nudged = [.. row];
        nudged[2] += 1e-3f;
        float[] swapped = [row[1], row[0], .. row[2..]];
        float[] belowGrid = [.. row];
        belowGrid[0] += 1f / (1 << 20); // 0.25 * 2^16 + 1/16 rounds to the same integer: the same key
        float[][] rows = [row, nudged, row, swapped, belowGrid, .. Enumerable.Range(0, 100).Select(i => Uniform(d, 100 + i, 1f))];
        var out1 = RunGraph(model, rows.SelectMany(r => r).ToArray(), d, null);
        var alone = RunGraph(model, row, d, null);
        float[] Noise(Outputs o, int i) => o.Noise.AsSpan(i * d, d).ToArray();
        float[] Noisy(Outputs o, int i) => o.Noisy.AsSpan(i * d, d).ToArray();

        foreach (int same in new[] { 2, 4 })
        {
            CollectionAssert.AreEqual(Noise(out1, 0), Noise(out1, same), $"row {same} has row 0's key");
            Assert.AreEqual(out1.Timesteps[0], out1.Timesteps[same], $"row {same}: t");
        }
        CollectionAssert.AreEqual(Noisy(out1, 0), Noisy(out1, 2), "the repeated row: x_t");
        CollectionAssert.AreEqual(Noise(out1, 0), Noise(alone, 0), "a batch of one row gives that row's noise");
        Assert.AreEqual(out1.Timesteps[0], alone.Timesteps[0]);
        var distinct = Enumerable.Range(0, rows.Length).Where(i => i is not (2 or 4)).ToArray();
        for (int i = 0; i < distinct.Length; i++)
            for (int j = i + 1; j < distinct.Length; j++)
                Assert.IsFalse(Noise(out1, distinct[i]).SequenceEqual(Noise(out1, distinct[j])), $"rows {distinct[i]} and {distinct[j]} differ but got the same noise");
    }

    [TestMethod]
    public void NoiseAndTimestepsHaveTheirDistributions()
    {
        const int rows = 4000, d = 16, min = 100, max = 109;
        var model = NoiseSchedulerOnnxExporter.Export(new NoiseSchedulerOnnxExportOptions { Dimension = d, Seed = 2024, UseRowKeyInput = true, MinTimestep = min, MaxTimestep = max });
        var result = RunGraph(model, new float[rows * d], d, Enumerable.Range(0, rows).Select(i => (long)i).ToArray());

        double[] z = result.Noise.Select(v => (double)v).ToArray();
        int n = z.Length;
        double mean = z.Average(), variance = z.Sum(v => (v - mean) * (v - mean)) / (n - 1), fourth = z.Average(v => v * v * v * v);
        Assert.AreEqual(0, mean, 4 / Math.Sqrt(n), "noise mean");
        Assert.AreEqual(1, variance, 4 * Math.Sqrt(2.0 / n), "noise variance");
        Assert.AreEqual(3, fourth, 4 * Math.Sqrt(96.0 / n), "noise fourth moment");
        double pairCorrelation = Enumerable.Range(0, n / 2).Average(k => z[2 * k] * z[2 * k + 1]);
        double rowCorrelation = Enumerable.Range(0, (rows - 1) * d).Average(k => z[k] * z[k + d]);
        Assert.AreEqual(0, pairCorrelation, 4 / Math.Sqrt(n / 2.0), "the cos and sin values of a pair");
        Assert.AreEqual(0, rowCorrelation, 4 / Math.Sqrt((rows - 1) * d), "consecutive row keys");

        Assert.IsTrue(result.Timesteps.All(t => t is >= min and <= max), "timesteps in [min, max]");
        int bins = max - min + 1;
        double expected = rows / (double)bins, se = Math.Sqrt(rows * (1.0 / bins) * (1 - 1.0 / bins));
        for (int t = min; t <= max; t++)
            Assert.AreEqual(expected, result.Timesteps.Count(v => v == t), 4 * se, $"count of t = {t}");
    }

    [TestMethod]
    public void NoisyRowsFollowTheForwardMarginalAtOneTimestep()
    {
        const int rows = 4000, t = 250;
        float[] v = [-2f, -1f, -0.3f, 0f, 0.5f, 1f, 1.7f, 2f];
        int d = v.Length;
        var model = NoiseSchedulerOnnxExporter.Export(new NoiseSchedulerOnnxExportOptions { Dimension = d, Seed = 8, UseRowKeyInput = true, MinTimestep = t, MaxTimestep = t });
        var result = RunGraph(model, Enumerable.Repeat(v, rows).SelectMany(r => r).ToArray(), d, Enumerable.Range(0, rows).Select(i => 1000L * i).ToArray());
        double alphaBar = new NoiseSchedule(new NoiseScheduleOptions()).AlphaBar[t];

        Assert.IsTrue(result.Timesteps.All(s => s == t));
        double pooled = 0;
        for (int i = 0; i < d; i++)
        {
            double[] column = Enumerable.Range(0, rows).Select(r => (double)result.Noisy[r * d + i]).ToArray();
            // x_t ~ N(sqrt(abar_t) x_0, 1 - abar_t)   (Ho et al. 2020, eq. 4)
            Assert.AreEqual(Math.Sqrt(alphaBar) * v[i], column.Average(), 4 * Math.Sqrt((1 - alphaBar) / rows), $"mean of element {i}");
            pooled += column.Sum(x => (x - Math.Sqrt(alphaBar) * v[i]) * (x - Math.Sqrt(alphaBar) * v[i]));
        }
        int n = rows * d;
        Assert.AreEqual(1 - alphaBar, pooled / n, 4 * (1 - alphaBar) * Math.Sqrt(2.0 / n), "variance");
    }

    [TestMethod]
    public void NoisyRowsFollowTheMixtureOverUniformTimesteps()
    {
        const int rows = 6000;
        float[] v = [-1.5f, 0f, 0.8f, 2f];
        int d = v.Length;
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        var model = NoiseSchedulerOnnxExporter.Export(new NoiseSchedulerOnnxExportOptions { Dimension = d, Seed = 77, UseRowKeyInput = true });
        var result = RunGraph(model, Enumerable.Repeat(v, rows).SelectMany(r => r).ToArray(), d, Enumerable.Range(0, rows).Select(i => (long)i * i).ToArray());

        // x = s_t v + n_t z with t uniform on [0, T): E x = E[s] v; y = x - E x = (s_t - E s) v + n_t z has
        // E y^2 = E[(s_t - E s)^2] v^2 + E[n_t^2] and E y^4 = E[((s_t - E s) v)^4 + 6 ((s_t - E s) v)^2 n_t^2 + 3 n_t^4].
        double[] s = [.. schedule.SqrtAlphaBar], noiseScale = [.. schedule.SqrtOneMinusAlphaBar];
        double meanS = s.Average();
        for (int i = 0; i < d; i++)
        {
            double mean = meanS * v[i];
            double variance = Enumerable.Range(0, s.Length).Average(k => Math.Pow((s[k] - meanS) * v[i], 2) + noiseScale[k] * noiseScale[k]);
            double fourth = Enumerable.Range(0, s.Length).Average(k =>
            {
                double a = (s[k] - meanS) * v[i], b = noiseScale[k] * noiseScale[k];
                return Math.Pow(a, 4) + 6 * a * a * b + 3 * b * b;
            });
            double[] column = Enumerable.Range(0, rows).Select(r => (double)result.Noisy[r * d + i]).ToArray();
            double sampleMean = column.Average(), sampleVariance = column.Sum(x => (x - mean) * (x - mean)) / rows;
            Assert.AreEqual(mean, sampleMean, 4 * Math.Sqrt(variance / rows), $"mean of element {i}");
            Assert.AreEqual(variance, sampleVariance, 4 * Math.Sqrt((fourth - variance * variance) / rows), $"variance of element {i}");
        }
    }

    [TestMethod]
    public void TheFileAloneReproducesItsOutputs()
    {
        var schedule = new NoiseScheduleOptions { NumTrainTimesteps = 200, BetaSchedule = BetaSchedule.Cosine };
        var options = new NoiseSchedulerOnnxExportOptions { Dimension = 5, Seed = ulong.MaxValue - 3, NoiseSchedule = schedule, MinTimestep = 3 };
        string path = Path.Combine(Directory.CreateTempSubdirectory("dml-noising").FullName, "noising.onnx");
        try
        {
            NoiseSchedulerOnnxExporter.Export(options).Save(path);
            var model = OnnxModel.Load(path);
            var read = NoiseSchedulerOnnxExportOptions.FromModel(model, path);
            Assert.AreEqual(options with { MaxTimestep = 199 }, read);
            Assert.AreEqual("18446744073709551612", model.Metadata[NoiseSchedulerOnnxExportOptions.SeedKey]);
            Assert.AreEqual("[3,199]", model.Metadata[NoiseSchedulerOnnxExportOptions.TimestepRangeKey]);
            Assert.AreEqual(schedule, DiffusionModelMetadata.FromProperties(model.Metadata).NoiseSchedule);

            float[] x0 = Uniform(30 * 5, 9, 1f);
            AssertMatches(RunReference(read.CreateNoising(), x0, 5, null), RunGraph(model, x0, 5, null), "from the file's metadata");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [TestMethod]
    public void BadOptionsAreClearErrors()
    {
        static string Fails(NoiseSchedulerOnnxExportOptions options) => Assert.ThrowsExactly<ArgumentException>(() => NoiseSchedulerOnnxExporter.Export(options)).Message;

        StringAssert.Contains(Fails(new() { Dimension = 0 }), "at least 1; got 0");
        StringAssert.Contains(Fails(new() { Dimension = 3, MaxTimestep = 1000 }), "[0, 999]");
        StringAssert.Contains(Fails(new() { Dimension = 3, MinTimestep = -1 }), "[0, 999]");
        StringAssert.Contains(Fails(new() { Dimension = 3, MinTimestep = 600, MaxTimestep = 500 }), "non-empty");
        StringAssert.Contains(Fails(new() { Dimension = 3, Opset = 17 }), "BitwiseAnd");
        StringAssert.Contains(Fails(new() { Dimension = (1 << 24) + 1 }), "UseRowKeyInput");
    }
}
