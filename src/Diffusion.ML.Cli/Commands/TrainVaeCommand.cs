using System.CommandLine;
using Diffusion.ML.TorchSharp.Autoencoders;

namespace Diffusion.ML.Cli.Commands;

/// <summary><c>diffusion-ml train-vae</c>: trains a convolutional VAE (Kingma and Welling 2014) and reports its test MSE and ELBO.</summary>
internal static class TrainVaeCommand
{
    public static Command Create()
    {
        var common = new AutoencoderTrainingOptions();
        var levels = new Option<string>("--levels") { Description = "channels per encoder level (2^(levels-1) downsampling)", DefaultValueFactory = _ => "32,64,64" };
        var latent = new Option<int>("--latent-channels") { Description = "channels of the latent grid", DefaultValueFactory = _ => 4 };
        var likelihood = new Option<ReconstructionLikelihood>("--likelihood") { Description = "decoder distribution (Bernoulli for binarised data)", DefaultValueFactory = _ => ReconstructionLikelihood.Gaussian };
        var std = new Option<double>("--observation-std") { Description = "standard deviation of the Gaussian decoder (data scale [-1, 1])", DefaultValueFactory = _ => 0.1 };
        var beta = new Option<double>("--beta") { Description = "weight of the KL term (beta-VAE; 1 = the ELBO)", DefaultValueFactory = _ => 1.0 };
        var groups = new Option<int>("--groups") { Description = "GroupNorm groups", DefaultValueFactory = _ => 8 };
        var command = new Command("train-vae", "Train a convolutional variational autoencoder; report test MSE and ELBO (nats and bits per dim).")
        {
            levels, latent, likelihood, std, beta, groups,
        };
        foreach (var option in common.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() => common.Run("train-vae", parse, data => new VariationalAutoencoder(new VaeOptions
        {
            Backbone = new ConvBackboneOptions
            {
                ImageChannels = data.Channels, ImageHeight = data.Height, ImageWidth = data.Width,
                LevelChannels = AutoencoderTrainingOptions.Levels(parse, levels), GroupNormGroups = parse.GetValue(groups),
            },
            LatentChannels = parse.GetValue(latent),
            Likelihood = parse.GetValue(likelihood),
            ObservationStd = parse.GetValue(std),
            Beta = parse.GetValue(beta),
        }), cancellationToken), cancellationToken));
        return command;
    }
}
