using System.CommandLine;
using Diffusion.ML.TorchSharp.Autoencoders;

namespace Diffusion.ML.Cli.Commands;

/// <summary><c>diffusion-ml train-vqvae</c>: trains a VQ-VAE (van den Oord et al. 2017) and reports test MSE, codebook usage and perplexity.</summary>
internal static class TrainVqVaeCommand
{
    public static Command Create()
    {
        var common = new AutoencoderTrainingOptions();
        var levels = new Option<string>("--levels") { Description = "channels per encoder level (2^(levels-1) downsampling)", DefaultValueFactory = _ => "32,64,64" };
        var codes = new Option<int>("--codes") { Description = "codebook size K", DefaultValueFactory = _ => 128 };
        var codeDim = new Option<int>("--code-dim") { Description = "code dimension D", DefaultValueFactory = _ => 16 };
        var commitment = new Option<double>("--commitment") { Description = "commitment cost beta", DefaultValueFactory = _ => 0.25 };
        var gradientCodebook = new Option<bool>("--gradient-codebook") { Description = "learn the codebook by the codebook loss instead of EMA updates" };
        var decay = new Option<double>("--codebook-decay") { Description = "decay gamma of the EMA codebook updates", DefaultValueFactory = _ => 0.99 };
        var dead = new Option<double>("--dead-code-threshold") { Description = "restart codes whose EMA cluster size falls below this (0 = never)", DefaultValueFactory = _ => 1.0 };
        var kmeans = new Option<bool>("--kmeans-init") { Description = "initialise the codebook by k-means on the first batch" };
        var groups = new Option<int>("--groups") { Description = "GroupNorm groups", DefaultValueFactory = _ => 8 };
        var command = new Command("train-vqvae", "Train a VQ-VAE with an EMA codebook; report test MSE, codebook usage and perplexity.")
        {
            levels, codes, codeDim, commitment, gradientCodebook, decay, dead, kmeans, groups,
        };
        foreach (var option in common.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() => common.Run("train-vqvae", parse, data => new VqVae(new VqVaeOptions
        {
            Backbone = new ConvBackboneOptions
            {
                ImageChannels = data.Channels, ImageHeight = data.Height, ImageWidth = data.Width,
                LevelChannels = AutoencoderTrainingOptions.Levels(parse, levels), GroupNormGroups = parse.GetValue(groups),
            },
            CodebookSize = parse.GetValue(codes),
            CodeDimension = parse.GetValue(codeDim),
            CommitmentCost = parse.GetValue(commitment),
            EmaUpdates = !parse.GetValue(gradientCodebook),
            EmaDecay = parse.GetValue(decay),
            DeadCodeThreshold = parse.GetValue(dead),
            KMeansInit = parse.GetValue(kmeans),
        }), cancellationToken), cancellationToken));
        return command;
    }
}
