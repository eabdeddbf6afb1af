using Parquet;
using Parquet.Schema;

namespace Workflows.ML.Data;

/// <summary>Reads one Parquet column of a row group into the chunk representation (float stays float, the rest widens to double, null becomes NaN).</summary>
internal static class ParquetColumnReader
{
    /// <summary>
    /// An array for <paramref name="rows"/> values that the reader fills completely: on the pinned object heap, never
    /// copied by the collector, when <paramref name="longLived"/>; an ordinary zeroed array otherwise.
    /// </summary>
    public static T[] Allocate<T>(int rows, bool longLived) => longLived ? GC.AllocateUninitializedArray<T>(rows, pinned: true) : new T[rows];

    public static async Task<ChunkColumn> ReadAsync(ParquetRowGroupReader rowGroup, DataField field, ColumnType type, int rows, bool longLived, CancellationToken cancellationToken)
    {
        switch (type)
        {
            case ColumnType.Float32:
                var floats = Allocate<float>(rows, longLived);
                if (field.IsNullable)
                {
                    var nullable = new float?[rows];
                    await rowGroup.ReadAsync<float>(field, nullable.AsMemory(), null, cancellationToken).ConfigureAwait(false);
                    for (var i = 0; i < rows; i++)
                    {
                        floats[i] = nullable[i] ?? float.NaN;
                    }
                }
                else
                {
                    await rowGroup.ReadAsync<float>(field, floats.AsMemory(), null, cancellationToken).ConfigureAwait(false);
                }

                return new ChunkColumn(field.Name, floats);
            case ColumnType.Float64:
                return new ChunkColumn(field.Name, type, await ReadWidenedAsync<double>(rowGroup, field, rows, longLived, cancellationToken).ConfigureAwait(false));
            case ColumnType.Int32:
                return new ChunkColumn(field.Name, type, await ReadWidenedAsync<int>(rowGroup, field, rows, longLived, cancellationToken).ConfigureAwait(false));
            case ColumnType.Int64:
                return new ChunkColumn(field.Name, type, await ReadWidenedAsync<long>(rowGroup, field, rows, longLived, cancellationToken).ConfigureAwait(false));
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "unknown column type");
        }
    }

    private static async Task<double[]> ReadWidenedAsync<T>(ParquetRowGroupReader rowGroup, DataField field, int rows, bool longLived, CancellationToken cancellationToken)
        where T : struct, System.Numerics.INumberBase<T>
    {
        var result = Allocate<double>(rows, longLived);
        if (field.IsNullable)
        {
            var nullable = new T?[rows];
            await rowGroup.ReadAsync<T>(field, nullable.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
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

        return result;
    }
}
