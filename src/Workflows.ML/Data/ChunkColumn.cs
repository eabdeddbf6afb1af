namespace Workflows.ML.Data;

/// <summary>
/// The values of one column in one chunk. Float32 columns stay <see cref="float"/> (half the memory traffic of the
/// kernels); every other type is widened to <see cref="double"/>. A missing (null) value is stored as NaN.
/// </summary>
public sealed class ChunkColumn
{
    private readonly float[]? _float32;
    private readonly double[]? _float64;
    private readonly int _offset;

    /// <summary>Wraps float32 values.</summary>
    public ChunkColumn(string name, float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Name = name;
        Type = ColumnType.Float32;
        _float32 = values;
        Length = values.Length;
    }

    /// <summary>
    /// Wraps the float32 values <paramref name="buffer"/>[<paramref name="offset"/> .. <paramref name="offset"/> +
    /// <paramref name="length"/>): the columns of a chunk decoded into one shared buffer.
    /// </summary>
    public ChunkColumn(string name, float[] buffer, int offset, int length)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, buffer.Length - offset);
        Name = name;
        Type = ColumnType.Float32;
        _float32 = buffer;
        _offset = offset;
        Length = length;
    }

    /// <summary>Wraps values of a column of type <paramref name="type"/>, widened to double.</summary>
    public ChunkColumn(string name, ColumnType type, double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Name = name;
        Type = type;
        _float64 = values;
        Length = values.Length;
    }

    /// <summary>Column name.</summary>
    public string Name { get; }

    /// <summary>Physical type in the file.</summary>
    public ColumnType Type { get; }

    /// <summary>Number of values (rows).</summary>
    public int Length { get; }

    /// <summary>Whether the values are held as float32 (<see cref="Float32Values"/>) rather than double.</summary>
    public bool IsFloat32 => _float32 is not null;

    /// <summary>The values of a float32 column.</summary>
    public ReadOnlySpan<float> Float32Values =>
        _float32 is not null ? new ReadOnlySpan<float>(_float32, _offset, Length) : throw new InvalidOperationException($"column '{Name}' is held as double; use Float64Values.");

    /// <summary>The values of a column held as double (every type except float32).</summary>
    public ReadOnlySpan<double> Float64Values =>
        _float64 ?? throw new InvalidOperationException($"column '{Name}' is held as float; use Float32Values.");

    /// <summary>The value at <paramref name="row"/> as double, whatever the storage; for tests and small consumers.</summary>
    public double this[int row] => _float32 is not null ? Float32Values[row] : _float64![row];
}
