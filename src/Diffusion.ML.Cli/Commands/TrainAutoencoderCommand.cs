using System.CommandLine;
using Diffusion.ML.TorchSharp.Autoencoders;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml train-autoencoder --kind plain|denoising|sparse|k-sparse|contractive</c>: the classic one-hidden-layer
/// autoencoders, with their test reconstruction MSE.
/// </summary>
internal static class TrainAutoencoderCommand
{
    private static readonly Dictionary<string, ClassicAutoencoderKind> Kinds = new()
    {
        ["plain"] = ClassicAutoencoderKind.Plain,
        ["denoising"] = ClassicAutoencoderKind.Denoising,
        ["sparse"] = ClassicAutoencoderKind.Sparse,
        ["k-sparse"] = ClassicAutoencoderKind.KSparse,
        ["contractive"] = ClassicAutoencoderKind.Contractive,
    };

    public static Command Create()
    {
        var common = new AutoencoderTrainingOptions();
        var kind = new Option<string>("--kind") { Description = "the variant", DefaultValueFactory = _ => "plain" };
        kind.AcceptOnlyFromAmong([.. Kinds.Keys]);
        var hidden = new Option<int>("--hidden") { Description = "hidden units", DefaultValueFactory = _ => 256 };
        var corruption = new Option<InputCorruption>("--corruption") { Description = "denoising: Masking or Gaussian", DefaultValueFactory = _ => InputCorruption.Masking };
        var level = new Option<double>("--corruption-level") { Description = "denoising: masking probability or Gaussian sigma", DefaultValueFactory = _ => 0.25 };
        var rho = new Option<double>("--sparsity-target") { Description = "sparse: target mean activation rho", DefaultValueFactory = _ => 0.05 };
        var sparsityWeight = new Option<double>("--sparsity-weight") { Description = "sparse: weight beta of the KL penalty", DefaultValueFactory = _ => 1.0 };
        var k = new Option<int>("--k") { Description = "k-sparse: activations kept per image", DefaultValueFactory = _ => 25 };
        var lambda = new Option<double>("--contractive-weight") { Description = "contractive: weight lambda of the Jacobian penalty", DefaultValueFactory = _ => 0.1 };
        var command = new Command("train-autoencoder", "Train a classic autoencoder (plain, denoising, sparse, k-sparse or contractive); report test MSE.")
        {
            kind, hidden, corruption, level, rho, sparsityWeight, k, lambda,
        };
        foreach (var option in common.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() => common.Run("train-autoencoder", parse, data => new ClassicAutoencoder(new ClassicAutoencoderOptions
        {
            Kind = Kinds[parse.GetValue(kind)!],
            ImageChannels = data.Channels, ImageHeight = data.Height, ImageWidth = data.Width,
            HiddenUnits = parse.GetValue(hidden),
            Corruption = parse.GetValue(corruption),
            CorruptionLevel = parse.GetValue(level),
            SparsityTarget = parse.GetValue(rho),
            SparsityWeight = parse.GetValue(sparsityWeight),
            K = parse.GetValue(k),
            ContractiveWeight = parse.GetValue(lambda),
        }), cancellationToken), cancellationToken));
        return command;
    }
}
