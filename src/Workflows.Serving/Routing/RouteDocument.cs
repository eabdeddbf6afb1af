using System.Text.Json;

namespace Workflows.Serving.Routing;

/// <summary>The JSON form of a <see cref="RouteTable"/> in an <see cref="IRouteStore"/>.</summary>
internal static class RouteDocument
{
    /// <summary>The document's name in the model's folder or blob prefix.</summary>
    public const string FileName = "routing.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static byte[] Serialize(RouteTable table) =>
        JsonSerializer.SerializeToUtf8Bytes(
            new Stored(table.Stable, table.Candidate, table.CandidateWeight, table.Shadow, table.ShadowShare, [.. table.PreviousStable]), Json);

    /// <summary>The table in <paramref name="bytes"/>; <see cref="InvalidDataException"/> naming <paramref name="source"/> when it is not one.</summary>
    public static RouteTable Deserialize(ReadOnlySpan<byte> bytes, string source)
    {
        Stored? stored;
        try
        {
            stored = JsonSerializer.Deserialize<Stored>(bytes, Json);
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"{source} is not a routing document: {exception.Message}", exception);
        }

        if (stored is not { Stable: >= 1 } || stored.Candidate is < 1 || stored.Shadow is < 1
            || stored.CandidateWeight is < 0 or > 1 or double.NaN || stored.ShadowShare is < 0 or > 1 or double.NaN
            || stored.PreviousStable is null || stored.PreviousStable.Any(static version => version < 1))
        {
            throw new InvalidDataException($"{source} does not hold a valid routing table (versions from 1, weights from 0 to 1).");
        }

        return new RouteTable(stored.Stable, stored.Candidate, stored.CandidateWeight, stored.Shadow, stored.ShadowShare, stored.PreviousStable);
    }

    private sealed record Stored(int Stable, int? Candidate, double CandidateWeight, int? Shadow, double ShadowShare, int[]? PreviousStable);
}
