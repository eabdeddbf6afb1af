namespace Workflows.ML.Data;

/// <summary>A named numeric column of a dataset.</summary>
/// <param name="Name">Column name as stored in the file.</param>
/// <param name="Type">Physical type.</param>
public sealed record DatasetColumn(string Name, ColumnType Type);
