using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Modules;

[TestClass]
public sealed class UNetTests
{
    /// <summary>Tiny 28x28x1 class-conditional config with the reference layout (attention at 14 and 7).</summary>
    private static UNetOptions Tiny28(int classCount = 10) => new()
    {
        BaseChannels = 16,
        GroupNormGroups = 8,
        AttentionHeads = 2,
        ResidualBlocksPerLevel = 1,
        ClassCount = classCount,
    };

    private static void RandomizeOutput(UNet net)
    {
        using var _ = torch.no_grad();
        net.OutputConvolution.weight!.normal_(0, 0.05);
    }

    [TestMethod]
    public void ReferenceConfig_HasAbout6Point8MParameters()
    {
        torch.manual_seed(0);
        using var net = new UNet(new UNetOptions());
        var count = net.ParameterCount;
        Console.WriteLine($"Reference 28x28x1 UNet parameters: {count:N0}");
        Assert.IsTrue(Math.Abs(count - 6_800_000) <= 0.05 * 6_800_000, $"parameter count {count:N0} is not within 5% of 6.8M");
    }

    [TestMethod]
    public void Forward_28x28x1WithClasses_KeepsShape()
    {
        torch.manual_seed(0);
        using var net = new UNet(Tiny28());
        using var x = torch.randn(2, 1, 28, 28);
        using var t = torch.tensor(new[] { 3.5f, 900f });
        using var labels = torch.tensor(new long[] { 1, 10 });
        using var y = net.Predict(x, t, labels);
        CollectionAssert.AreEqual(x.shape, y.shape);
    }

    [TestMethod]
    public void Forward_8x8Digits_KeepsShape()
    {
        torch.manual_seed(0);
        var options = new UNetOptions
        {
            ImageSize = 8, BaseChannels = 16, GroupNormGroups = 8, ChannelMultipliers = [1, 2],
            AttentionResolutions = [4], AttentionHeads = 2, ResidualBlocksPerLevel = 1,
        };
        using var net = new UNet(options);
        using var x = torch.randn(3, 1, 8, 8);
        using var t = torch.tensor(new[] { 0f, 10f, 99f });
        using var y = net.Predict(x, t);
        CollectionAssert.AreEqual(x.shape, y.shape);
        CollectionAssert.AreEqual(new long[] { 1, 8, 8 }, net.SampleShape);
    }

    [TestMethod]
    public void Forward_32x32x3_KeepsShape_AndLearnSigmaDoublesChannels()
    {
        torch.manual_seed(0);
        var options = new UNetOptions
        {
            ImageChannels = 3, ImageSize = 32, BaseChannels = 16, GroupNormGroups = 8,
            AttentionResolutions = [8], AttentionHeads = 2, ResidualBlocksPerLevel = 1,
        };
        using var net = new UNet(options);
        using var x = torch.randn(2, 3, 32, 32);
        using var t = torch.tensor(5f); // scalar timestep broadcast to the batch
        using var y = net.Predict(x, t);
        CollectionAssert.AreEqual(x.shape, y.shape);

        using var sigmaNet = new UNet(new UNetOptions
        {
            ImageChannels = 3, ImageSize = 32, BaseChannels = 16, GroupNormGroups = 8,
            AttentionResolutions = [], ResidualBlocksPerLevel = 1, LearnSigma = true,
        });
        using var y2 = sigmaNet.Predict(x, t);
        CollectionAssert.AreEqual(new long[] { 2, 6, 32, 32 }, y2.shape);
    }

    [TestMethod]
    public void FreshNetwork_PredictsZero_BecauseFinalConvIsZeroInitialised()
    {
        torch.manual_seed(0);
        using var net = new UNet(Tiny28(classCount: 0));
        using var x = torch.randn(2, 1, 28, 28);
        using var t = torch.tensor(new[] { 1f, 2f });
        using var y = net.Predict(x, t);
        Assert.AreEqual(0.0, y.abs().max().item<float>());
    }

    [TestMethod]
    public void Output_IsFinite_OnRandomInput()
    {
        torch.manual_seed(0);
        using var net = new UNet(Tiny28());
        RandomizeOutput(net);
        using var x = torch.randn(2, 1, 28, 28) * 3;
        using var t = torch.tensor(new[] { 0f, 999f });
        using var labels = torch.tensor(new long[] { 0, 9 });
        using var y = net.Predict(x, t, labels);
        Assert.IsTrue(y.isfinite().all().item<bool>(), "output contains NaN or infinity");
        Assert.IsTrue(y.abs().max().item<float>() > 0, "output is identically zero");
    }

    [TestMethod]
    public void ClassLabel_ChangesOutput_AndNullClassEqualsMissingLabels()
    {
        torch.manual_seed(0);
        using var net = new UNet(Tiny28(classCount: 3));
        RandomizeOutput(net);
        net.eval();
        using var _ = torch.no_grad();
        using var x = torch.randn(1, 1, 28, 28).expand(2, 1, 28, 28).contiguous();
        using var t = torch.tensor(new[] { 7f, 7f });
        using var labels = torch.tensor(new long[] { 0, 1 });
        using var y = net.Predict(x, t, labels);
        var difference = (y[0] - y[1]).abs().max().item<float>();
        Assert.IsTrue(difference > 1e-6, $"labels 0 and 1 gave the same output (max difference {difference})");

        using var nullLabels = torch.tensor(new long[] { 3, 3 });
        using var yNull = net.Predict(x, t, nullLabels);
        using var yMissing = net.Predict(x, t, null);
        Assert.IsTrue(yNull.isfinite().all().item<bool>());
        Assert.IsTrue(torch.equal(yNull, yMissing).all().item<bool>(), "null labels must mean the null class");
    }

    [TestMethod]
    public void Labels_OnUnconditionalNetwork_Throw()
    {
        using var net = new UNet(Tiny28(classCount: 0));
        using var x = torch.randn(1, 1, 28, 28);
        using var t = torch.tensor(new[] { 1f });
        using var labels = torch.tensor(new long[] { 0 });
        Assert.ThrowsExactly<ArgumentException>(() => net.Predict(x, t, labels));
        using var wrongT = torch.tensor(new[] { 1f, 2f });
        Assert.ThrowsExactly<ArgumentException>(() => net.Predict(x, wrongT));
        using var wrongChannels = torch.randn(1, 3, 28, 28);
        Assert.ThrowsExactly<ArgumentException>(() => net.Predict(wrongChannels, t));
    }

    [TestMethod]
    public void Gradients_ReachLastLayer_ThenUpstreamAfterOneStep()
    {
        torch.manual_seed(0);
        using var net = new UNet(Tiny28());
        using var x = torch.randn(2, 1, 28, 28);
        using var t = torch.tensor(new[] { 10f, 500f });
        using var labels = torch.tensor(new long[] { 2, 10 });
        using var optimizer = torch.optim.SGD(net.parameters(), 0.1);

        using (var y = net.Predict(x, t, labels))
        using (var loss = (y - 1).square().mean())
        {
            loss.backward();
        }
        Assert.IsTrue(net.OutputConvolution.weight!.grad!.abs().sum().item<float>() > 0, "no gradient on the final conv");
        // The zero-initialised final conv blocks the gradient to everything before it at step 0.
        var firstGrad = net.InputConvolution.weight!.grad;
        Assert.IsTrue(firstGrad is null || firstGrad.abs().sum().item<float>() == 0);

        optimizer.step();
        optimizer.zero_grad();
        using (var y = net.Predict(x, t, labels))
        using (var loss = (y - 1).square().mean())
        {
            loss.backward();
        }
        Assert.IsTrue(net.InputConvolution.weight!.grad!.abs().sum().item<float>() > 0, "no gradient on the first conv after a step");
    }

    [TestMethod]
    public void GroupNorms_AreInitialisedToIdentityAffine()
    {
        using var net = new UNet(Tiny28());
        var norms = net.named_parameters().Where(p => p.name.Contains("norm", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.IsTrue(norms.Count > 0);
        foreach (var (name, p) in norms)
        {
            var expected = name.EndsWith("weight", StringComparison.Ordinal) ? 1f : 0f;
            Assert.IsTrue(p.eq(expected).all().item<bool>(), $"{name} is not initialised to {expected}");
        }
    }
}
