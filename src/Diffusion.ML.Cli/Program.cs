using Diffusion.ML.Cli;

return await CliApp.CreateRootCommand().Parse(args).InvokeAsync(CliApp.Invocation);
