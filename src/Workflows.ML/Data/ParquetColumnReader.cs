using Parquet;
using Parquet.Schema;

namespace Workflows.ML.Data;

/// <summary>Reads one Parquet column of a row group into the chunk representation (float stays float, the rest widens to double, null becomes NaN).</summary>
internal static class ParquetColumnReader
{
    /// <summary>
    /// Reads the column; a float32 column goes into <paramref name="buffer"/> at <paramref name="offset"/> when a buffer
    /// is given (the chunk's shared buffer, see <see cref="DatasetReader"/>), else into an array of its own. Also
    /// returns how many values were null.
    /// </summary>
    public static async Task<(ChunkColumn Column, int Nulls)> ReadAsync(
        ParquetRowGroupReader rowGroup, DataField field, ColumnType type, int rows, float[]? buffer, int offset, CancellationToken cancellationToken)
    {
        switch (type)
        {
            case ColumnType.Float32:
                var floats = buffer ?? new float[rows];
                var start = buffer is null ? 0 : offset;
                var nulls = 0;
                if (field.IsNullable)
                {
                    var nullable = new float?[rows];
                    await rowGroup.ReadAsync<float>(field, nullable.AsMemory(), null, cancellationToken).ConfigureAwait(false);
                    for (var i = 0; i < rows; i++)
                    {
                        nulls += nullable[i].HasValue ? 0 : 1;
                        floats[start + i] = nullable[i] ?? float.NaN;
                    }
                }
                else
                {
                    await rowGroup.ReadAsync<float>(field, floats.AsMemory(start, rows), null, cancellationToken).ConfigureAwait(false);
                }

                return (buffer is null ? new ChunkColumn(field.Name, floats) : new ChunkColumn(field.Name, buffer, offset, rows), nulls);
            default:
                return await ReadAsDoubleAsync(rowGroup, field, type, rows, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the column widened to double whatever its type (a label: its values are counted and checked, never fed to
    /// the kernels). The values are read as the field's own type, so a float32 column is read as float32. Also
    /// returns how many values were null.
    /// </summary>
    public static async Task<(ChunkColumn Column, int Nulls)> ReadAsDoubleAsync(
        ParquetRowGroupReader rowGroup, DataField field, ColumnType type, int rows, CancellationToken cancellationToken)
    {
        var (values, nulls) = type switch
        {
            ColumnType.Float32 => await ReadWidenedAsync<float>(rowGroup, field, rows, cancellationToken).ConfigureAwait(false),
            ColumnType.Float64 => await ReadWidenedAsync<double>(rowGroup, field, rows, cancellationToken).ConfigureAwait(false),
            ColumnType.Int32 => await ReadWidenedAsync<int>(rowGroup, field, rows, cancellationToken).ConfigureAwait(false),
            ColumnType.Int64 => await ReadWidenedAsync<long>(rowGroup, field, rows, cancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown column type"),
        };
        return (new ChunkColumn(field.Name, type, values), nulls);
    }

    private static async Task<(double[] Values, int Nulls)> ReadWidenedAsync<T>(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
        where T : struct, System.Numerics.INumberBase<T>
    {
        var result = new double[rows];
        var nulls = 0;
        if (field.IsNullable)
        {
            var nullable = new T?[rows];
            await rowGroup.ReadAsync<T>(field, nullable.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
                nulls += nullable[i].HasValue ? 0 : 1;
                result[i] = nullable[i] is { } value ? double.CreateTruncating(value) : double.NaN;
            }
        }
        else if (typeof(T) == typeof(double))
        {
            await rowGroup.ReadAsync<double>(field, result.AsMemory(), null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var raw = new T[rows];
            await rowGroup.ReadAsync<T>(field, raw.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
                result[i] = double.CreateTruncating(raw[i]);
            }
        }

        return (result, nulls);
    }
}
