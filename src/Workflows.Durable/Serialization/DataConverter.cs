namespace Workflows.Durable.Serialization;

/// <summary>
/// Turns orchestration and activity inputs, outputs, custom status and event payloads into strings and back.
/// Pluggable through worker and client options; the default is <see cref="JsonDataConverter"/>.
/// </summary>
public abstract class DataConverter
{
    /// <summary>Serializes a value; null stays null.</summary>
    public abstract string? Serialize(object? value);

    /// <summary>Deserializes a value of <paramref name="targetType"/>; null stays null.</summary>
    public abstract object? Deserialize(string? data, Type targetType);

    /// <summary>Deserializes a value of <typeparamref name="T"/>; null data gives <c>default(T)</c>.</summary>
    public T? Deserialize<T>(string? data) => Deserialize(data, typeof(T)) is T value ? value : default;
}
