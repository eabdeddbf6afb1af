using Workflows.Cli;

return await DurableCli.RunAsync(args, Console.Out, Console.Error);
