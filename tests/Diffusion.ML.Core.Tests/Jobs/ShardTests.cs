using Diffusion.ML.Jobs;

namespace Diffusion.ML.Core.Tests.Jobs;

[TestClass]
public sealed class ShardTests
{
    [TestMethod]
    public void ShardsCoverEveryIndexExactlyOnce()
    {
        foreach (long total in new long[] { 0, 1, 7, 10, 1001 })
            foreach (int count in new[] { 1, 2, 3, 8 })
            {
                var ranges = Enumerable.Range(0, count).Select(i => new Shard(i, count).Range(total)).ToArray();
                Assert.AreEqual(0, ranges[0].Start);
                Assert.AreEqual(total, ranges[^1].End);
                for (int i = 1; i < count; i++) Assert.AreEqual(ranges[i - 1].End, ranges[i].Start, $"{total} in {count}");
                Assert.IsLessThanOrEqualTo(1L, ranges.Max(r => r.End - r.Start) - ranges.Min(r => r.End - r.Start), "balanced");
            }
    }

    [TestMethod]
    public void ParsesExplicitAndEnvironmentIndices()
    {
        Assert.AreEqual(new Shard(3, 8), Shard.Parse("3/8", _ => null));
        Assert.AreEqual(new Shard(5, 8), Shard.Parse("env/8", name => name == Shard.KubernetesIndexVariable ? "5" : null));
        var slurm = new Dictionary<string, string> { [Shard.SlurmIndexVariable] = "12", [Shard.SlurmMinimumVariable] = "10" };
        Assert.AreEqual(new Shard(2, 4), Shard.Parse("env/4", name => slurm.GetValueOrDefault(name)));
    }

    [TestMethod]
    public void BadShardsSayWhatIsWrong()
    {
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Shard.Parse("8/8", _ => null)).Message, "[0, 7]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Shard.Parse("3", _ => null)).Message, "i/n");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Shard.Parse("x/2", _ => null)).Message, "i/n");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Shard.Parse("env/2", _ => null)).Message, Shard.KubernetesIndexVariable);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Shard.Parse("env/2", n => n == Shard.KubernetesIndexVariable ? "two" : null)).Message, "two");
    }
}
