using System.Diagnostics.CodeAnalysis;

namespace Workflows.ML.Data;

/// <summary>Physical type of a numeric dataset column.</summary>
[SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The members name storage types on purpose, as Parquet and Arrow do.")]
public enum ColumnType
{
    /// <summary>32-bit IEEE float; read as <see cref="float"/>.</summary>
    Float32,

    /// <summary>64-bit IEEE float; read as <see cref="double"/>.</summary>
    Float64,

    /// <summary>32-bit integer; read widened to <see cref="double"/> (exact).</summary>
    Int32,

    /// <summary>64-bit integer; read widened to <see cref="double"/> (exact up to 2^53).</summary>
    Int64,
}
