using System.CommandLine;
using Diffusion.ML.Cli.Commands;

var root = new RootCommand("diffusion-ml: train, sample and try diffusion models in .NET (Diffusion.ML).")
{
    TrainCommand.Create(),
    SampleCommand.Create(),
    DemoCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
