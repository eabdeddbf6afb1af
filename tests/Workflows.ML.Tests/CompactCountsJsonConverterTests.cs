using System.Text.Json;
using Workflows.ML.Data;
using Workflows.ML.Statistics;
using Xunit;

namespace Workflows.ML.Tests;

/// <summary>Histogram counts in JSON: one base64 string of varints, read back exactly; the older arrays still read.</summary>
public sealed class CompactCountsJsonConverterTests
{
    [Fact]
    public void Partial_RoundTripsExactly_ExtremesEmptyRowsAndNegativesIncluded()
    {
        var partial = HistogramPartial.Create([new ColumnRange(0, 1), null, new ColumnRange(-2, 2)], bins: 3, subdivisions: 2);
        long[] first = [0, 1, 127, 128, 16_383, 16_384];
        long[] third = [long.MaxValue, long.MinValue, -1, 0, 1L << 40, -(1L << 40)];
        first.CopyTo(partial.Counts[0], 0);
        third.CopyTo(partial.Counts[2], 0);
        partial.Chunks = 4;

        var json = JsonSerializer.Serialize(partial, JsonSerializerOptions.Web);
        var read = JsonSerializer.Deserialize<HistogramPartial>(json, JsonSerializerOptions.Web)!;

        Assert.Equal(first, read.Counts[0]);
        Assert.Empty(read.Counts[1]);
        Assert.Equal(third, read.Counts[2]);
        Assert.Equal(4, read.Chunks);
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse(json).RootElement.GetProperty("counts").ValueKind);
    }

    [Fact]
    public void RandomRows_RoundTripAndTakeLessRoomThanNumbers()
    {
        var random = new Random(6);
        for (var trial = 0; trial < 50; trial++)
        {
            var rows = new long[random.Next(0, 6)][];
            for (var r = 0; r < rows.Length; r++)
            {
                rows[r] = new long[random.Next(0, 300)];
                for (var b = 0; b < rows[r].Length; b++)
                {
                    rows[r][b] = random.Next(4) switch { 0 => 0, 1 => random.Next(100), 2 => random.NextInt64(), _ => -random.NextInt64(1000) };
                }
            }

            var partial = new HistogramPartial { Min = new double[rows.Length], Max = new double[rows.Length], Counts = rows };
            var compact = JsonSerializer.Serialize(partial, JsonSerializerOptions.Web);
            var read = JsonSerializer.Deserialize<HistogramPartial>(compact, JsonSerializerOptions.Web)!;
            Assert.Equal(rows, read.Counts);
        }

        var typical = new long[100][];
        for (var r = 0; r < typical.Length; r++)
        {
            typical[r] = Enumerable.Range(0, 5120).Select(b => (long)random.Next(0, 200)).ToArray();
        }

        var asNumbers = JsonSerializer.Serialize(typical).Length;
        var asString = JsonSerializer.Serialize(new HistogramPartial { Min = new double[100], Max = new double[100], Counts = typical }).Length;
        Assert.True(asString < asNumbers * 0.75, $"compact {asString} chars, numbers {asNumbers}");
    }

    [Fact]
    public void OlderPartials_WithArraysOfNumbers_StillRead()
    {
        const string Json = """{"min":[0,0],"max":[4,0],"counts":[[0,2,0,0,2,0,0,2],[]],"subdivisions":2,"chunks":2}""";

        var read = JsonSerializer.Deserialize<HistogramPartial>(Json, JsonSerializerOptions.Web)!;

        Assert.Equal([0L, 2, 0, 0, 2, 0, 0, 2], read.Counts[0]);
        Assert.Empty(read.Counts[1]);
        Assert.Equal([2L, 0, 2, 2], read.ReportedCounts(0));
    }

    [Theory]
    [InlineData(new byte[] { }, "unknown format (empty)")]
    [InlineData(new byte[] { 2, 0 }, "unknown format 2")]
    [InlineData(new byte[] { 1, 1, 3, 0, 0 }, "a length of 3 is more than the 2 bytes left")]
    [InlineData(new byte[] { 1, 1, 2, 0, 0x80 }, "ends inside a number")]
    [InlineData(new byte[] { 1, 1, 1, 0, 7 }, "1 bytes past the last row")]
    [InlineData(new byte[] { 1, 1, 17, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0x80 }, "ends inside a number")]
    [InlineData(new byte[] { 1, 1, 8, 1, 1, 1, 1, 1, 1, 1, 1, 7 }, "1 bytes past the last row")]
    [InlineData(new byte[] { 1, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02 }, "beyond 64 bits")]
    [InlineData(new byte[] { 1, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "longer than 10 bytes")]
    public void CorruptCounts_AreAJsonExceptionThatSaysWhat(byte[] bytes, string expected)
    {
        var json = $$"""{"min":[0],"max":[1],"counts":"{{Convert.ToBase64String(bytes)}}"}""";

        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<HistogramPartial>(json, JsonSerializerOptions.Web));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"min":[0],"max":[1],"counts":[null]}""", "a row is null")]
    [InlineData("""{"min":[0],"max":[1],"counts":42}""", "found Number")]
    [InlineData("""{"min":[0],"max":[1],"counts":"not base64!"}""", "not base64")]
    [InlineData("""{"min":[0],"max":[1],"counts":null}""", "found Null")]
    [InlineData("""{"min":[0],"max":[1]}""", "'counts'")]
    public void MalformedCounts_AreAJsonException(string json, string expected)
    {
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<HistogramPartial>(json, JsonSerializerOptions.Web));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
