using Diffusion.ML.TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Native;

/// <summary>
/// <see cref="Layers.Convolve"/> against an independent computation of the convolution and its gradients (matrix
/// products and fold, no convolution kernel): libtorch 2.10's CPU kernels get the output wrong for more than 16 input
/// channels that are not a multiple of 16, and the input gradient wrong for output-channel counts that are not, on this
/// project's AMD EPYC machine; every module convolves through <see cref="Layers.Convolve"/>.
/// </summary>
[TestClass]
public sealed class ConvolutionGradientTests
{
    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    [DataRow(64L, 1L, 1L)]
    [DataRow(64L, 2L, 1L)]
    [DataRow(64L, 3L, 8L)]
    [DataRow(64L, 8L, 2L)]
    [DataRow(64L, 17L, 1L)]
    [DataRow(64L, 16L, 2L)]
    [DataRow(24L, 16L, 4L)]
    [DataRow(40L, 8L, 4L)]
    [DataRow(8L, 24L, 4L)]
    public void OutputAndGradientsEqualTheUnfoldedProduct(long inChannels, long outChannels, long batch)
    {
        const long size = 12;
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var conv = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        var x = randn(batch, inChannels, size, size).requires_grad_(true);
        var output = Layers.Convolve(conv, x);
        var upstream = randn_like(output);
        var gradients = autograd.grad([(output * upstream).sum()], [x, conv.weight!, conv.bias!]);

        // The convolution as a product with the unfolded input: out = W [C_out, C_in 9] x cols [C_in 9, HW] + b.
        var columns = nn.functional.unfold(x.detach(), 3, padding: 1).to_type(ScalarType.Float64);
        var w = conv.weight!.detach().reshape(outChannels, inChannels * 9).to_type(ScalarType.Float64);
        var g = upstream.reshape(batch, outChannels, size * size).to_type(ScalarType.Float64);
        var expectedOutput = matmul(w, columns) + conv.bias!.detach().to_type(ScalarType.Float64).reshape(1, outChannels, 1);
        var expectedInput = nn.functional.fold(matmul(w.t(), g), size, 3, padding: 1);
        var expectedWeight = matmul(g, columns.transpose(1, 2)).sum([0L]).reshape(outChannels, inChannels, 3, 3);
        var expectedBias = g.sum([0L, 2L]);

        AssertClose(expectedOutput.reshape(output.shape), output.detach(), 1e-4, "output");
        AssertClose(expectedInput, gradients[0], 1e-4, "input gradient");
        AssertClose(expectedWeight, gradients[1], 1e-3, "weight gradient");
        AssertClose(expectedBias, gradients[2], 1e-3, "bias gradient");
    }

    [TestMethod]
    [DataRow(24L, 3L)]
    [DataRow(40L, 16L)]
    public void InInferenceModeTheOutputEqualsTheUnfoldedProduct(long inChannels, long outChannels)
    {
        const long batch = 4, size = 10;
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var conv = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        var x = randn(batch, inChannels, size, size);
        using var mode = inference_mode();
        var output = Layers.Convolve(conv, x);
        var columns = nn.functional.unfold(x, 3, padding: 1).to_type(ScalarType.Float64);
        var w = conv.weight!.reshape(outChannels, inChannels * 9).to_type(ScalarType.Float64);
        var expected = matmul(w, columns) + conv.bias!.to_type(ScalarType.Float64).reshape(1, outChannels, 1);
        AssertClose(expected.reshape(output.shape), output, 1e-4, "output");
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        double scale = expected.abs().max().item<double>();
        double error = (expected - actual.to_type(ScalarType.Float64)).abs().max().item<double>();
        Assert.IsTrue(error <= tolerance * Math.Max(1, scale), $"{what}: largest error {error:E2} against a largest value of {scale:E2}");
    }
}
