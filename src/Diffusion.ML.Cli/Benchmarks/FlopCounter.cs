using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>
/// Floating-point operations of one forward pass per sample, counted the usual way (a multiply-add is 2 FLOPs) over the
/// layers that dominate: convolutions (2 Cin/groups k_h k_w Cout H_out W_out), linear layers (2 in out per row) and the
/// two matrix products of each attention block (QK^T and AV: 2 * 2 N^2 C for N positions of C channels). Normalisation,
/// activations and additions are left out (under 1 % for these UNets). Training is counted as 3x the forward pass
/// (the backward pass computes gradients for inputs and weights: 2x, Kaplan et al. 2020, section 2.1).
/// </summary>
internal static class FlopCounter
{
    /// <summary>Forward FLOPs per sample of <paramref name="network"/> at its sample shape, measured by running one batch of 2.</summary>
    public static double ForwardPerSample(DenoiserNetwork network)
    {
        double flops = 0;
        var removers = new List<Action>();
        foreach (var (_, module) in network.named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    removers.Add(Hook(conv, (input, output) =>
                    {
                        long[] k = [conv.weight!.shape[2], conv.weight.shape[3]];
                        flops += 2.0 * conv.weight.shape[1] * k[0] * k[1] * output.numel(); // weight [Cout, Cin/groups, kh, kw]
                    }));
                    break;
                case Linear linear:
                    removers.Add(Hook(linear, (input, output) => flops += 2.0 * linear.weight!.shape[1] * output.numel()));
                    break;
                case AttentionBlock attention:
                    removers.Add(Hook(attention, (input, output) =>
                    {
                        double n = input.shape[2] * input.shape[3];
                        flops += 4.0 * input.shape[0] * n * n * input.shape[1];
                    }));
                    break;
            }
        }
        try
        {
            using var scope = NewDisposeScope();
            using var mode = inference_mode();
            const int batch = 2;
            var x = zeros([batch, .. network.SampleShape]);
            var t = zeros(batch);
            var labels = network.ClassCount > 0 ? zeros(batch, dtype: ScalarType.Int64) : null;
            network.call(x, t, labels);
            return flops / batch;
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
    }

    /// <summary>Registers a forward hook and returns what removes it.</summary>
    private static Action Hook(nn.Module<Tensor, Tensor> module, Action<Tensor, Tensor> count)
    {
        var handle = module.register_forward_hook((_, input, output) =>
        {
            count(input, output);
            return output;
        });
        return handle.remove;
    }
}
