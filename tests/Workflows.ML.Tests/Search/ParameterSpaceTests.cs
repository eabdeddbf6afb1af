using System.Text.Json;
using Workflows.ML.Search.Space;
using Xunit;

namespace Workflows.ML.Tests.Search;

public sealed class ParameterSpaceTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static ParameterSpace Space() => new(
    [
        new ParameterDefinition("learning_rate", ParameterKind.LogUniform, 1e-3, 1),
        new ParameterDefinition("subsample", ParameterKind.Uniform, 0.5, 1),
        new ParameterDefinition("max_depth", ParameterKind.IntRange, 2, 8),
        new ParameterDefinition("n_estimators", ParameterKind.IntRange, 10, 1000, Log: true),
        new ParameterDefinition("schedule", ParameterKind.Choice, Choices: [ParameterValue.Of("Constant"), ParameterValue.Of("Optimal"), ParameterValue.Of(3)]),
    ]);

    [Fact]
    public void Sample_SameSeed_SameCandidates_AndCandidateIDependsOnSeedAndIOnly()
    {
        var first = Space().Sample(seed: 42, count: 20);
        var again = Space().Sample(seed: 42, count: 20);

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(i, first[i].Index);
            Assert.Equal(first[i].Parameters, again[i].Parameters);
            Assert.Equal(first[i].Parameters, Space().CandidateAt(42, i).Parameters);
        }

        Assert.NotEqual(first[0].Parameters["subsample"], Space().CandidateAt(43, 0).Parameters["subsample"]);
    }

    [Fact]
    public void Sample_PinnedValues_AreTheSameInEveryProcess()
    {
        // The generators are our own (SplitMix64-seeded xoshiro256**, FNV-1a of the name): these values were
        // printed by this implementation once and must never change, or a resumed search would see other candidates.
        var candidate = Space().CandidateAt(seed: 7, index: 3);

        Assert.Equal(
            "{learning_rate: 0.34050709125744405, max_depth: 6, n_estimators: 318, schedule: Optimal, subsample: 0.5070561431262781}",
            candidate.ToString());
    }

    [Fact]
    public void Sample_ValuesLieInTheirRanges_AndLogUniformIsUniformInLog()
    {
        var candidates = Space().Sample(seed: 1, count: 2000);
        var belowGeometricMean = 0;
        foreach (var candidate in candidates)
        {
            var p = candidate.Parameters;
            var lr = p["learning_rate"].AsDouble("learning_rate");
            Assert.InRange(lr, 1e-3, 1);
            belowGeometricMean += lr < Math.Sqrt(1e-3) ? 1 : 0;
            Assert.InRange(p["subsample"].AsDouble("subsample"), 0.5, 1);
            Assert.InRange(p["max_depth"].AsInt("max_depth"), 2, 8);
            Assert.InRange(p["n_estimators"].AsInt("n_estimators"), 10, 1000);
            Assert.Contains(p["schedule"], Space().Parameters[4].Choices!);
        }

        Assert.InRange(belowGeometricMean, 900, 1100);
        Assert.Equal(7, candidates.Select(c => c.Parameters["max_depth"]).Distinct().Count());
        Assert.Equal(3, candidates.Select(c => c.Parameters["schedule"]).Distinct().Count());
        var logInts = candidates.Count(c => c.Parameters["n_estimators"].AsInt("n_estimators") < 100);
        Assert.InRange(logInts, 900, 1100);
    }

    [Fact]
    public void Sample_AddingAParameter_LeavesTheOthersValues()
    {
        var small = new ParameterSpace([new ParameterDefinition("alpha", ParameterKind.Uniform, 0, 1)]);
        var large = new ParameterSpace([new ParameterDefinition("alpha", ParameterKind.Uniform, 0, 1), new ParameterDefinition("beta", ParameterKind.Uniform, 0, 1)]);

        Assert.Equal(small.CandidateAt(5, 9).Parameters["alpha"], large.CandidateAt(5, 9).Parameters["alpha"]);
    }

    [Fact]
    public void Definition_ReadsFromJson_AndCandidatesWriteAsPlainValues()
    {
        const string text = """
            {"parameters": [
              {"name": "learning_rate", "kind": "LogUniform", "min": 0.001, "max": 1},
              {"name": "max_depth", "kind": "IntRange", "min": 2, "max": 8},
              {"name": "loss", "kind": "Choice", "choices": ["log", 2]}
            ]}
            """;

        var space = JsonSerializer.Deserialize<ParameterSpace>(text, Json)!;
        space.Validate();
        var candidate = space.CandidateAt(3, 0);
        var written = JsonSerializer.Serialize(candidate.Parameters, Json);
        var back = JsonSerializer.Deserialize<Dictionary<string, ParameterValue>>(written, Json)!;

        Assert.Equal(ParameterKind.IntRange, space.Parameters[1].Kind);
        Assert.Equal([ParameterValue.Of("log"), ParameterValue.Of(2)], space.Parameters[2].Choices!);
        Assert.DoesNotContain("\"number\"", written, StringComparison.Ordinal);
        Assert.Equal(candidate.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal), back.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("""{"parameters": []}""", "empty")]
    [InlineData("""{"parameters": [{"name": "depth", "kind": "IntRange", "min": 8, "max": 2}]}""", "'depth': min (8) is greater than max (2)")]
    [InlineData("""{"parameters": [{"name": "lr", "kind": "LogUniform", "min": 0, "max": 1}]}""", "'lr': a log range needs min > 0")]
    [InlineData("""{"parameters": [{"name": "trees", "kind": "IntRange", "min": 0, "max": 10, "log": true}]}""", "'trees': a log range needs min > 0")]
    [InlineData("""{"parameters": [{"name": "loss", "kind": "Choice", "choices": []}]}""", "'loss': a choice needs at least one value")]
    [InlineData("""{"parameters": [{"name": "depth", "kind": "IntRange", "min": 1.5, "max": 3}]}""", "'depth': an IntRange needs whole bounds")]
    [InlineData("""{"parameters": [{"name": "a", "kind": "Uniform", "min": 0}]}""", "'a': min and max must both be given")]
    [InlineData("""{"parameters": [{"name": "a", "kind": "Uniform", "min": 0, "max": 1}, {"name": "a", "kind": "Uniform", "min": 0, "max": 1}]}""", "'a' is defined twice")]
    public void Validate_BadSpace_NamesTheParameterAndTheProblem(string text, string expected)
    {
        var space = JsonSerializer.Deserialize<ParameterSpace>(text, Json)!;

        var error = Assert.Throws<ArgumentException>(() => space.Sample(1, 1));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParameterValue_WrongType_IsAClearError()
    {
        Assert.Contains("'loss' must be a number", Assert.Throws<ArgumentException>(() => ParameterValue.Of("log").AsDouble("loss")).Message, StringComparison.Ordinal);
        Assert.Contains("'depth' must be a whole number", Assert.Throws<ArgumentException>(() => ParameterValue.Of(2.5).AsInt("depth")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ParameterValue.Of(double.NaN));
    }
}
