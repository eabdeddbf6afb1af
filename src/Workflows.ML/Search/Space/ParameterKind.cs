namespace Workflows.ML.Search.Space;

/// <summary>How a hyper-parameter's values are drawn.</summary>
public enum ParameterKind
{
    /// <summary>A real number uniform in [Min, Max].</summary>
    Uniform,

    /// <summary>A real number whose logarithm is uniform in [log Min, log Max] (Min &gt; 0).</summary>
    LogUniform,

    /// <summary>An integer uniform in [Min, Max] (both ends included); with <c>Log</c>, log-uniform over the range.</summary>
    IntRange,

    /// <summary>One of the listed values (strings or numbers), each equally likely.</summary>
    Choice,
}
