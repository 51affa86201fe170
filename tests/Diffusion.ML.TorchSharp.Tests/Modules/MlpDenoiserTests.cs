using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Modules;

[TestClass]
public sealed class MlpDenoiserTests
{
    [TestMethod]
    public void Forward_KeepsShape_AndIsFinite()
    {
        torch.manual_seed(0);
        using var net = new MlpDenoiser();
        using (torch.no_grad())
        {
            net.OutputLayer.weight!.normal_(0, 0.1);
        }
        using var x = torch.randn(5, 2);
        using var t = torch.tensor(new[] { 0f, 0.5f, 10f, 500f, 999f });
        using var y = net.Predict(x, t);
        CollectionAssert.AreEqual(x.shape, y.shape);
        Assert.IsTrue(y.isfinite().all().item<bool>());
        CollectionAssert.AreEqual(new long[] { 2 }, net.SampleShape);
        Assert.AreEqual("mlp", net.Kind);
    }

    [TestMethod]
    public void ClassLabel_ChangesOutput_AndNullClassIsAccepted()
    {
        torch.manual_seed(0);
        using var net = new MlpDenoiser(new MlpDenoiserOptions { InputDim = 3, HiddenWidth = 32, HiddenLayers = 4, ClassCount = 2 });
        using (torch.no_grad())
        {
            net.OutputLayer.weight!.normal_(0, 0.1);
        }
        using var x = torch.randn(1, 3).expand(3, 3).contiguous();
        using var t = torch.tensor(new[] { 4f, 4f, 4f });
        using var labels = torch.tensor(new long[] { 0, 1, 2 });
        using var y = net.Predict(x, t, labels);
        CollectionAssert.AreEqual(x.shape, y.shape);
        Assert.IsTrue((y[0] - y[1]).abs().max().item<float>() > 1e-6);
        Assert.IsTrue((y[1] - y[2]).abs().max().item<float>() > 1e-6);
    }

    [TestMethod]
    public void Gradients_ReachFirstLayerAfterOneStep()
    {
        torch.manual_seed(0);
        using var net = new MlpDenoiser(new MlpDenoiserOptions { HiddenWidth = 16 });
        using var optimizer = torch.optim.SGD(net.parameters(), 0.1);
        using var x = torch.randn(8, 2);
        using var t = torch.rand(8) * 1000;
        for (var step = 0; step < 2; step++)
        {
            optimizer.zero_grad();
            using var y = net.Predict(x, t);
            using var loss = (y - 1).square().mean();
            loss.backward();
            optimizer.step();
        }
        var first = net.named_parameters().First(p => p.name == "hidden.0.weight").parameter;
        Assert.IsTrue(first.grad!.abs().sum().item<float>() > 0);
    }

    [TestMethod]
    public void InvalidOptions_Throw()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new MlpDenoiser(new MlpDenoiserOptions { InputDim = 0 }));
        Assert.ThrowsExactly<ArgumentException>(() => new MlpDenoiser(new MlpDenoiserOptions { HiddenWidth = 7 }));
        Assert.ThrowsExactly<ArgumentException>(() => new MlpDenoiser(new MlpDenoiserOptions { HiddenLayers = 0 }));
        Assert.ThrowsExactly<ArgumentException>(() => new MlpDenoiser(new MlpDenoiserOptions { ClassCount = -2 }));
        using var net = new MlpDenoiser();
        using var x = torch.randn(2, 3);
        using var t = torch.zeros(2);
        Assert.ThrowsExactly<ArgumentException>(() => net.Predict(x, t));
    }
}
