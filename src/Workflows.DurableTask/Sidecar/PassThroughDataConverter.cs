using Microsoft.DurableTask;

namespace Workflows.DurableTask.Sidecar;

/// <summary>
/// The sidecar's data converter: payloads arrive serialized by the caller's own converter and are stored and returned
/// as they are, never serialized a second time.
/// </summary>
internal sealed class PassThroughDataConverter : DataConverter
{
    public static readonly PassThroughDataConverter Instance = new();

    public override string? Serialize(object? value) => value switch
    {
        null => null,
        string text => text,
        _ => throw new ArgumentException($"The sidecar passes serialized payloads through; it was given a {value.GetType().Name}.", nameof(value)),
    };

    public override object? Deserialize(string? data, Type targetType) =>
        targetType == typeof(string) || targetType == typeof(object)
            ? data
            : throw new ArgumentException($"The sidecar passes serialized payloads through; it was asked for a {targetType.Name}.", nameof(targetType));
}
