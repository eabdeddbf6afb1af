using System.Diagnostics;
using Prometheus;
using Workflows.Durable.AzureStorage;

namespace Workflows.Host.Diagnostics;

/// <summary>
/// Prometheus metrics of one host (its own registry, served at <c>/metrics</c>): invocations, durations and
/// failures per function, and the task hub's storage transactions per service.
/// </summary>
internal sealed class FunctionMetrics
{
    private readonly Counter _invocations;
    private readonly Counter _failures;
    private readonly Histogram _durations;
    private readonly Counter _transactions;

    /// <param name="transactions">The task hub's storage transaction counter, read at scrape time (null when the hub is not on Azure Storage).</param>
    public FunctionMetrics(Func<StorageTransactionCounter?> transactions)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        _invocations = factory.CreateCounter("workflows_function_invocations_total", "Function invocations (orchestrators: executions).", "function", "trigger");
        _failures = factory.CreateCounter("workflows_function_failures_total", "Function invocations that threw.", "function", "trigger");
        _durations = factory.CreateHistogram(
            "workflows_function_duration_seconds",
            "Duration of function invocations.",
            new HistogramConfiguration { LabelNames = ["function", "trigger"], Buckets = Histogram.ExponentialBuckets(0.0005, 4, 10) });
        _transactions = factory.CreateCounter("workflows_storage_transactions_total", "Azure Storage requests of the task hub and host state.", "service");
        Registry.AddBeforeCollectCallback(() =>
        {
            // The storage counter lives in the provider; copy its running totals at scrape time.
            if (transactions() is { } counter)
            {
                _transactions.WithLabels("table").IncTo(counter.Tables);
                _transactions.WithLabels("queue").IncTo(counter.Queues);
                _transactions.WithLabels("blob").IncTo(counter.Blobs);
            }
        });
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Counts a failure that an invocation reported as its result instead of throwing (an activity's failure details).</summary>
    public void CountFailure(string function, string trigger) => _failures.WithLabels(function, trigger).Inc();

    public async Task<T> MeasureAsync<T>(string function, string trigger, Func<Task<T>> invocation)
    {
        var started = Stopwatch.GetTimestamp();
        _invocations.WithLabels(function, trigger).Inc();
        try
        {
            return await invocation();
        }
        catch
        {
            _failures.WithLabels(function, trigger).Inc();
            throw;
        }
        finally
        {
            _durations.WithLabels(function, trigger).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
