namespace Workflows.Bench;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project bench/Workflows.Bench -- &lt;scenario&gt; [--options]</c>.
/// Exit codes: 0 success, 1 a run failed or gave a wrong result, 2 bad command line.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        BenchArgs parsed;
        try
        {
            parsed = BenchArgs.Parse(args);
            if (string.Equals(parsed.Scenario, "http-start", StringComparison.OrdinalIgnoreCase))
            {
                return await HttpStartScenario.RunAsync(parsed);
            }

            if (string.Equals(parsed.Scenario, "dashboard", StringComparison.OrdinalIgnoreCase))
            {
                return await DashboardScenario.RunAsync(parsed);
            }

            if (string.Equals(parsed.Scenario, "halving", StringComparison.OrdinalIgnoreCase))
            {
                return await HalvingScenario.RunAsync(parsed);
            }

            if (string.Equals(parsed.Scenario, "train", StringComparison.OrdinalIgnoreCase))
            {
                return await TrainScenario.RunAsync(TrainOptions.From(parsed));
            }

            if (string.Equals(parsed.Scenario, "canary-load", StringComparison.OrdinalIgnoreCase))
            {
                return await CanaryLoadScenario.RunAsync(parsed);
            }

            if (string.Equals(parsed.Scenario, "serve", StringComparison.OrdinalIgnoreCase))
            {
                return await ServeScenario.RunAsync(parsed);
            }

            if (string.Equals(parsed.Scenario, "stats", StringComparison.OrdinalIgnoreCase))
            {
                return await StatsScenario.RunAsync(StatsOptions.From(parsed));
            }

            if (!string.Equals(parsed.Scenario, "engine", StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException($"unknown scenario '{parsed.Scenario}' (available: canary-load, dashboard, engine, halving, http-start, serve, stats, train).");
            }

            return await EngineScenario.RunAsync(parsed);
        }
        catch (UsageException exception)
        {
            await Console.Error.WriteLineAsync($"error: {exception.Message}");
            await Console.Error.WriteLineAsync(BenchArgs.Usage);
            return 2;
        }
        catch (BenchFailedException exception)
        {
            await Console.Error.WriteLineAsync($"FAILED: {exception.Message}");
            return 1;
        }
    }
}

/// <summary>A run did not finish or produced a wrong result: the figures would be meaningless.</summary>
internal sealed class BenchFailedException(string message) : Exception(message);
