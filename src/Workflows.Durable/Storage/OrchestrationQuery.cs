namespace Workflows.Durable.Storage;

/// <summary>Filter and paging for instance queries. Every filter that is set must match.</summary>
public sealed record OrchestrationQuery
{
    /// <summary>Largest page size a provider must accept.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Only instances created at or after this time.</summary>
    public DateTimeOffset? CreatedFrom { get; init; }

    /// <summary>Only instances created at or before this time.</summary>
    public DateTimeOffset? CreatedTo { get; init; }

    /// <summary>Only instances with one of these statuses (null or empty: any).</summary>
    public IReadOnlyCollection<OrchestrationRuntimeStatus>? Statuses { get; init; }

    /// <summary>Only instance ids starting with this prefix (ordinal).</summary>
    public string? InstanceIdPrefix { get; init; }

    /// <summary>Only orchestrator names starting with this prefix (ordinal, case-insensitive).</summary>
    public string? NamePrefix { get; init; }

    /// <summary>Page size, 1 to <see cref="MaxPageSize"/>.</summary>
    public int PageSize { get; init; } = 100;

    /// <summary>Opaque token from the previous page, or null for the first page.</summary>
    public string? ContinuationToken { get; init; }

    /// <summary>Whether to return inputs, outputs and custom status.</summary>
    public bool FetchInputsAndOutputs { get; init; }

    /// <summary>True when <paramref name="metadata"/> passes every filter (paging aside).</summary>
    public bool Matches(OrchestrationMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (CreatedFrom is { } from && metadata.CreatedAt < from)
        {
            return false;
        }

        if (CreatedTo is { } to && metadata.CreatedAt > to)
        {
            return false;
        }

        if (Statuses is { Count: > 0 } statuses && !statuses.Contains(metadata.RuntimeStatus))
        {
            return false;
        }

        if (InstanceIdPrefix is { Length: > 0 } idPrefix && !metadata.InstanceId.StartsWith(idPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        return NamePrefix is not { Length: > 0 } namePrefix || metadata.Name.StartsWith(namePrefix, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Throws <see cref="ArgumentException"/> for an out-of-range page size or an inverted time range.</summary>
    public void Validate()
    {
        if (PageSize is < 1 or > MaxPageSize)
        {
            throw new ArgumentException($"PageSize must be between 1 and {MaxPageSize}; got {PageSize}.", nameof(PageSize));
        }

        if (CreatedFrom is { } from && CreatedTo is { } to && from > to)
        {
            throw new ArgumentException("CreatedFrom must not be later than CreatedTo.", nameof(CreatedFrom));
        }
    }
}

/// <summary>One page of query results.</summary>
/// <param name="Instances">The instances of this page.</param>
/// <param name="ContinuationToken">Token for the next page, or null when this is the last page.</param>
public sealed record OrchestrationQueryResult(IReadOnlyList<OrchestrationMetadata> Instances, string? ContinuationToken);

/// <summary>Which finished instances a bulk purge removes. Only terminal instances are ever purged.</summary>
public sealed record PurgeInstancesFilter
{
    /// <summary>Only instances created at or after this time.</summary>
    public DateTimeOffset? CreatedFrom { get; init; }

    /// <summary>Only instances created at or before this time.</summary>
    public DateTimeOffset? CreatedTo { get; init; }

    /// <summary>Only these statuses (null or empty: Completed, Failed and Terminated).</summary>
    public IReadOnlyCollection<OrchestrationRuntimeStatus>? Statuses { get; init; }
}
