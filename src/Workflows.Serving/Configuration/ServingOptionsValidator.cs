using Microsoft.Extensions.Options;

namespace Workflows.Serving.Configuration;

/// <summary>Refuses settings the service cannot run with, naming the setting, so a bad value stops start-up.</summary>
internal sealed class ServingOptionsValidator : IValidateOptions<ServingOptions>
{
    public ValidateOptionsResult Validate(string? name, ServingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        void Require(bool condition, string message)
        {
            if (!condition)
            {
                failures.Add($"{ServingOptions.Section}:{message}");
            }
        }

        Require(options.RegistryFolder is null || !string.IsNullOrWhiteSpace(options.RegistryFolder), "RegistryFolder must name a folder.");
        Require(options.RegistryPollSeconds >= 0, "RegistryPollSeconds must be 0 or more.");
        Require(options.MaxRequestBodyBytes >= 1024, "MaxRequestBodyBytes must be at least 1024.");
        Require(options.MaxRowsPerRequest >= 1, "MaxRowsPerRequest must be at least 1.");
        Require(options.MaxBatchRows >= 1, "MaxBatchRows must be at least 1.");
        Require(options.MaxBatchWaitMicroseconds is >= 0 and <= 1_000_000, "MaxBatchWaitMicroseconds must be 0 to 1,000,000.");
        Require(options.BatchQueueCapacity >= 1, "BatchQueueCapacity must be at least 1.");
        Require(options.OnnxIntraOpThreads is >= 1 and <= 64, "OnnxIntraOpThreads must be 1 to 64.");
        Require(options.CacheEntries >= 0, "CacheEntries must be 0 or more.");
        Require(options.CacheBytes >= 0, "CacheBytes must be 0 or more.");
        Require(options.CacheTtlSeconds >= 1, "CacheTtlSeconds must be at least 1.");
        Require(options.ShadowQueueCapacity >= 1, "ShadowQueueCapacity must be at least 1.");
        Require(options.FeedbackCapacity >= 1, "FeedbackCapacity must be at least 1.");
        Require(options.StatsWindowSeconds is >= 1 and <= 86_400, "StatsWindowSeconds must be 1 to 86,400.");
        Require(options.SampleRows is >= 0 and <= 1_000_000, "SampleRows must be 0 to 1,000,000.");
        Require(
            options.AdminKey is null || options.AdminKey.Length >= 16,
            options.AdminKeyFile is null ? "AdminKey must be at least 16 characters." : $"AdminKey must be at least 16 characters (read from {options.AdminKeyFile}).");
        Require(options.BlobConnectionString is null || !string.IsNullOrWhiteSpace(options.BlobContainer), "BlobContainer must name a container.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
