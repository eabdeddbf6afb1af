using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Workflows.ML.Data.Caching;
using Workflows.ML.Training;
using Workflows.Testing;
using Xunit;

namespace Workflows.Functions.Tests;

public sealed class ChunkCacheBudgetTests
{
    private const long MiB = 1L << 20;
    private const long GiB = 1L << 30;

    [Theory]
    [InlineData(16 * GiB, 4 * GiB)]
    [InlineData(2 * GiB, 512 * MiB)]
    [InlineData(23 * GiB, 23 * GiB / 4)]
    [InlineData(128 * MiB, 64 * MiB)]
    [InlineData(0, 64 * MiB)]
    [InlineData(256 * GiB, 16 * GiB)]
    public void DefaultBytes_AnyMemory_AQuarterWithinFloorAndCap(long available, long expected)
    {
        Assert.Equal(expected, ChunkCacheBudget.DefaultBytes(available));
        Assert.Equal(expected, ChunkCacheBudget.Resolve(null, available).Bytes);
        Assert.Equal(expected, ChunkCacheBudget.Resolve("  ", available).Bytes);
    }

    [Fact]
    public void Resolve_NotSet_SaysItIsTheDefaultOfTheAvailableMemory()
    {
        var budget = ChunkCacheBudget.Resolve(null, 8 * GiB);

        Assert.Equal(
            new ChunkCacheBudget(2 * GiB, "default: a quarter of the 8192 MiB this process may use, within 64 MiB to 16 GiB; WorkflowsChunkCacheMegabytes overrides it"),
            budget);
        Assert.Equal(2048, budget.Megabytes);
    }

    [Theory]
    [InlineData("512", 512 * MiB)]
    [InlineData(" 48 ", 48 * MiB)]
    [InlineData("40000", 40000 * MiB)]
    [InlineData("0", 0)]
    public void Resolve_Override_WinsOverTheDefault(string configured, long expected)
    {
        var budget = ChunkCacheBudget.Resolve(configured, 16 * GiB);

        Assert.Equal(expected, budget.Bytes);
        Assert.Equal(expected == 0 ? "off: WorkflowsChunkCacheMegabytes is 0" : $"WorkflowsChunkCacheMegabytes = {configured.Trim()}", budget.Origin);
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("256MB")]
    [InlineData("9223372036854775807")]
    public void Resolve_InvalidOverride_ThrowsHostConfigurationErrorNamingTheSetting(string configured)
    {
        var error = Assert.Throws<AppSettingException>(() => ChunkCacheBudget.Resolve(configured, 16 * GiB));

        Assert.Equal($"app setting WorkflowsChunkCacheMegabytes must be a whole number of MiB (0 turns the cache off), not '{configured}'.", error.Message);
    }

    [Fact]
    public void FromSettings_NotSet_DerivesFromTheMemoryThisProcessMayUse()
    {
        var budget = ChunkCacheBudget.FromSettings(_ => null);

        Assert.Equal(ChunkCacheBudget.DefaultBytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes), budget.Bytes);
        Assert.True(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes > 0);
    }

    [Fact]
    public async Task AddWorkflowServices_Setting_SizesTheCacheAndLogsTheBudgetAtStart()
    {
        var logged = new RecordingLoggerProvider();
        var services = new ServiceCollection().AddLogging(logging => logging.AddProvider(logged));
        services.AddWorkflowServices(settings: key => key == "WorkflowsChunkCacheMegabytes" ? "48" : null);
        await using var provider = services.BuildServiceProvider();

        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        Assert.Equal(48 * MiB, provider.GetRequiredService<DecodedChunkCache>().BudgetBytes);
        Assert.Contains("Decoded-chunk cache for training: 48 MiB (WorkflowsChunkCacheMegabytes = 48)", logged.Messages);
    }

    [Fact]
    public async Task AddWorkflowServices_GivenCache_KeepsItAndLogsItsBudget()
    {
        var logged = new RecordingLoggerProvider();
        var cache = new DecodedChunkCache(3 * MiB);
        var services = new ServiceCollection().AddLogging(logging => logging.AddProvider(logged));
        services.AddWorkflowServices(chunkCache: cache, settings: _ => "not a number");
        await using var provider = services.BuildServiceProvider();

        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        Assert.Same(cache, provider.GetRequiredService<DecodedChunkCache>());
        Assert.Contains("Decoded-chunk cache for training: 3 MiB (given to AddWorkflowServices)", logged.Messages);
    }

    [Fact]
    public async Task AppStartUp_InvalidChunkCacheSetting_ExitsWithOneLineNamingTheSetting()
    {
        // The function app's own process, as a Functions host starts it: app settings are environment variables.
        var start = new ProcessStartInfo("dotnet", [AppBuildOutput.WorkerPath])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = Path.GetTempPath(),
            Environment =
            {
                ["WorkflowsChunkCacheMegabytes"] = "half",
                ["WorkflowsDataRoot"] = Path.GetTempPath(),
            },
        };
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        Assert.Equal(
            "Start-up failed: app setting WorkflowsChunkCacheMegabytes must be a whole number of MiB (0 turns the cache off), not 'half'.",
            (await error).TrimEnd());
        Assert.Equal(string.Empty, (await output).Trim());
    }

    [Fact]
    public void AppStartUp_ChunkCacheSettingInConfiguration_SizesTheCache()
    {
        // What the function app's Program does: app settings read through the builder's configuration.
        var configuration = new ConfigurationBuilder().AddCommandLine(["--WorkflowsChunkCacheMegabytes=96"]).Build();
        var services = new ServiceCollection().AddWorkflowServices(settings: key => configuration[key], dataRoot: TestStorage.Root);

        var cache = services.Single(d => d.ServiceType == typeof(DecodedChunkCache)).ImplementationInstance;
        Assert.Equal(96 * MiB, Assert.IsType<DecodedChunkCache>(cache).BudgetBytes);
    }

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        private readonly List<string> _messages = [];

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_messages)
                {
                    return [.. _messages];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(RecordingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._messages)
                {
                    owner._messages.Add(formatter(state, exception));
                }
            }
        }
    }
}
