using Workflows.ML.Generation;
using Workflows.ML.Monitoring;
using Xunit;

namespace Workflows.ML.Tests.Monitoring;

public sealed class ReferenceProfileTests
{
    private static readonly DateTimeOffset Created = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void Build_OneToHundred_DecileEdgesAndProportions()
    {
        // 100 values stay below the sketch's capacity, so quantiles are exact: the 0.1 quantile is the 10th smallest
        // value, 10, and so on. Bins: (−∞, 10) holds 1..9, [10, 20) .. [80, 90) ten each, [90, ∞) holds 90..100.
        var values = Enumerable.Range(1, 100).Select(v => (float)v).ToArray();
        var partial = new ReferencePartial(["x"]);
        partial.AddChunk([values], values);

        var profile = ReferenceProfile.Build(partial, Created);

        var x = profile.Features[0];
        Assert.Equal([10.0, 20, 30, 40, 50, 60, 70, 80, 90], x.Edges);
        Assert.Equal([0.09, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.11], x.Proportions);
        Assert.Equal(0, x.ProportionError);
        Assert.Equal((1.0, 100.0), (x.Min, x.Max));
        Assert.Equal(0, x.Index);
        Assert.Equal(-1, profile.Prediction.Index);
        Assert.Equal(ReferenceProfile.PredictionName, profile.Prediction.Name);
        Assert.Equal(100, profile.Rows);
        Assert.Equal(Created, profile.CreatedAt);
    }

    [Fact]
    public void Build_ConfigurableBinCount_Quartiles()
    {
        var values = Enumerable.Range(1, 8).Select(v => (float)v).ToArray();
        var partial = new ReferencePartial(["x"]);
        partial.AddChunk([values], values);

        var profile = ReferenceProfile.Build(partial, Created, binCount: 4);

        Assert.Equal([2.0, 4, 6], profile.Features[0].Edges);
        Assert.Equal([0.125, 0.25, 0.25, 0.375], profile.Features[0].Proportions);
        Assert.Equal(4, profile.BinCount);
    }

    [Fact]
    public void Build_NaNValues_AreCountedApart()
    {
        var partial = new ReferencePartial(["x"]);
        partial.AddChunk([[1f, float.NaN, 2f, float.NaN]], [0.1f, 0.2f, 0.3f, float.NaN]);

        var profile = ReferenceProfile.Build(partial, Created);

        Assert.Equal((2L, 2L), (profile.Features[0].Count, profile.Features[0].Missing));
        Assert.Equal((3L, 1L), (profile.Prediction.Count, profile.Prediction.Missing));
    }

    [Fact]
    public void Build_ChunksMergedInAnyOrder_SameProfileAsOnePass()
    {
        var (features, predictions) = Generated(seed: 5, chunk: 0, rows: 900);
        var whole = new ReferencePartial(Names(features.Count));
        whole.AddChunk(features, predictions);

        var merged = new ReferencePartial(Names(features.Count));
        foreach (var (start, length) in TestData.RandomPieces(seed: 2, count: 900, pieces: 4).AsEnumerable().Reverse())
        {
            var piece = new ReferencePartial(Names(features.Count));
            piece.AddChunk([.. features.Select(f => f.AsSpan(start, length).ToArray())], predictions.AsSpan(start, length));
            merged.Merge(piece);
        }

        // 900 values per column fit the default capacity, so both are exact and equal.
        Assert.Equal(ReferenceProfile.Build(whole, Created).ToJson(), ReferenceProfile.Build(merged, Created).ToJson());
    }

    [Fact]
    public void Build_ManyChunks_ProportionsWithinStatedErrorOfCountedOnes()
    {
        var spec = new ClassificationSpec(Features: 4, Informative: 2, Redundant: 1, Seed: 11);
        var generator = new ClassificationGenerator(spec);
        var partial = new ReferencePartial(Names(4), sketchCapacity: 256);
        var chunks = new List<(IReadOnlyList<float[]>, float[])>();
        for (var chunk = 0; chunk < 8; chunk++)
        {
            var rows = generator.GenerateChunk(chunk, 2_000);
            var piece = new ReferencePartial(Names(4), sketchCapacity: 256);
            piece.AddChunk(rows.Features, Score(rows.Features));
            partial.Merge(piece);
            chunks.Add((rows.Features, Score(rows.Features)));
        }

        var sketched = ReferenceProfile.Build(partial, Created);
        var counts = BinCounts.For(sketched);
        foreach (var (features, predictions) in chunks)
        {
            counts.Add(sketched, features, predictions);
        }

        var counted = sketched.WithCountedProportions(counts);

        foreach (var (approximate, exact) in sketched.Columns.Zip(counted.Columns))
        {
            Assert.True(approximate.ProportionError > 0, "256 items a level must have compacted 16,000 values");
            Assert.True(approximate.ProportionError < 0.05, $"{approximate.Name}: error bound {approximate.ProportionError} is too loose to be useful");
            Assert.Equal(0, exact.ProportionError);
            Assert.Equal(1.0, exact.Proportions.Sum(), 12);
            for (var b = 0; b < exact.Bins; b++)
            {
                Assert.InRange(approximate.Proportions[b], exact.Proportions[b] - approximate.ProportionError, exact.Proportions[b] + approximate.ProportionError);
            }
        }

        Assert.Equal(16_000, counted.Rows);
    }

    [Fact]
    public void Json_RoundTrip_KeepsEveryField()
    {
        var partial = new ReferencePartial(["a", "b"]);
        partial.AddChunk([[1f, 2f, float.PositiveInfinity, 4f], [float.NaN, float.NaN, float.NaN, float.NaN]], [0.5f, 0.25f, 0.75f, 1f]);
        var profile = ReferenceProfile.Build(partial, Created, binCount: 4);

        var copy = ReferenceProfile.FromJson(profile.ToJson());

        Assert.Equal(profile.ToJson(), copy.ToJson());
        Assert.Equal(double.PositiveInfinity, copy.Features[0].Max);
        Assert.True(double.IsNaN(copy.Features[1].Min));
        Assert.Equal(["a", "b"], copy.Features.Select(f => f.Name));
        Assert.Equal(profile.Features[0].Edges, copy.Features[0].Edges);
        Assert.Equal(profile.Prediction.Proportions, copy.Prediction.Proportions);
        Assert.Equal((profile.Rows, profile.BinCount, profile.CreatedAt), (copy.Rows, copy.BinCount, copy.CreatedAt));
    }

    [Fact]
    public void Partial_Json_RoundTrip_MergesLikeTheOriginal()
    {
        var (features, predictions) = Generated(seed: 3, chunk: 1, rows: 300);
        var partial = new ReferencePartial(Names(features.Count), sketchCapacity: 16);
        partial.AddChunk(features, predictions);

        var copy = System.Text.Json.JsonSerializer.Deserialize<ReferencePartial>(System.Text.Json.JsonSerializer.Serialize(partial, System.Text.Json.JsonSerializerOptions.Web), System.Text.Json.JsonSerializerOptions.Web)!;

        Assert.Equal(ReferenceProfile.Build(partial, Created).ToJson(), ReferenceProfile.Build(copy, Created).ToJson());
    }

    [Fact]
    public void Partial_BadInput_ThrowsNamingIt()
    {
        Assert.Contains("'a'", Assert.Throws<ArgumentException>(() => new ReferencePartial(["a", "a"])).Message, StringComparison.Ordinal);
        var partial = new ReferencePartial(["a"]);
        Assert.Contains("'a'", Assert.Throws<ArgumentException>(() => partial.AddChunk([[1f, 2f]], [1f])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => partial.Merge(new ReferencePartial(["b"])));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReferenceProfile.Build(partial, Created, binCount: 1));
    }

    internal static string[] Names(int count) => [.. Enumerable.Range(0, count).Select(i => $"f{i}")];

    /// <summary>A fixed "model": the logistic of the first two features' sum.</summary>
    internal static float[] Score(IReadOnlyList<float[]> features) =>
        [.. features[0].Zip(features[1], (a, b) => (float)(1 / (1 + Math.Exp(-(a + b)))))];

    internal static (IReadOnlyList<float[]> Features, float[] Predictions) Generated(long seed, int chunk, int rows)
    {
        var generated = new ClassificationGenerator(new ClassificationSpec(Features: 5, Informative: 2, Redundant: 1, Seed: seed)).GenerateChunk(chunk, rows);
        return (generated.Features, Score(generated.Features));
    }
}
