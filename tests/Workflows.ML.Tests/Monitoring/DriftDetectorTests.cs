using Workflows.ML.Generation;
using Workflows.ML.Monitoring;
using Xunit;

namespace Workflows.ML.Tests.Monitoring;

public sealed class DriftDetectorTests
{
    private static readonly DateTimeOffset Created = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ClassificationSpec Spec = new(Features: 5, Informative: 2, Redundant: 1, Seed: 21);

    [Fact]
    public void Compare_SampleOfTheSameProblem_IsStable()
    {
        var profile = Reference();

        var report = DriftDetector.Compare(profile, Sample(profile, chunk: 20, rows: 4_000), Created.AddDays(1));

        Assert.Equal(DriftStatus.Stable, report.Status);
        Assert.All(report.Features, f => Assert.InRange(f.Psi!.Value, 0, 0.02));
        Assert.Equal(DriftStatus.Stable, report.Prediction.Status);
        Assert.Equal(4_000, report.SampleRows);
        Assert.Equal(20_000, report.ReferenceRows);
        Assert.False(report.RetrainRecommended);
    }

    [Fact]
    public void Compare_OneFeatureShifted_IsSignificantAndTheWorst()
    {
        var profile = Reference();

        // Feature 3 moves by one of its standard deviations; every other column keeps its distribution.
        var report = DriftDetector.Compare(profile, Sample(profile, chunk: 20, rows: 4_000, shift: (3, 1.0)), Created.AddDays(1));

        Assert.Equal(DriftStatus.Significant, report.Status);
        Assert.Equal("f3", report.WorstFeature!.Name);
        Assert.Equal(3, report.WorstFeature.Index);
        Assert.Equal(DriftStatus.Significant, report.Features[3].Status);
        Assert.All(report.Features.Where(f => f.Index != 3), f => Assert.Equal(DriftStatus.Stable, f.Status));
        Assert.True(report.RetrainRecommended);
    }

    [Fact]
    public void Compare_SmallShift_IsModerate()
    {
        var profile = Reference();

        var report = DriftDetector.Compare(profile, Sample(profile, chunk: 20, rows: 20_000, shift: (3, 0.35)), Created.AddDays(1));

        Assert.Equal(DriftStatus.Moderate, report.Features[3].Status);
        Assert.Equal(DriftStatus.Moderate, report.Status);
        Assert.False(report.RetrainRecommended);
    }

    [Fact]
    public void Compare_AnotherProblem_DriftsInThePrediction()
    {
        var profile = Reference();
        var other = new ClassificationGenerator(Spec with { Seed = 99, ClassSeparation = 3 }).GenerateChunk(0, 4_000);
        var counts = BinCounts.For(profile);
        counts.Add(profile, other.Features, ReferenceProfileTests.Score(other.Features));

        var report = DriftDetector.Compare(profile, counts, Created);

        Assert.Equal(DriftStatus.Significant, report.Status);
        Assert.Contains(report.Features, f => f.Status == DriftStatus.Significant);
    }

    [Fact]
    public void Compare_TooFewSamples_IsInconclusiveNeverStable()
    {
        var profile = Reference();

        var report = DriftDetector.Compare(profile, Sample(profile, chunk: 20, rows: 499), Created, new DriftOptions(MinimumSamples: 500));

        Assert.Equal(DriftStatus.Inconclusive, report.Status);
        Assert.All(report.Features, f => Assert.Null(f.Psi));
        Assert.Null(report.WorstFeature);
        Assert.Equal(499, report.Features[0].Samples);
    }

    [Fact]
    public void Compare_InconclusiveFeatureAndShiftedFeature_ReportsTheShift()
    {
        var profile = Reference();
        var sample = Sample(profile, chunk: 20, rows: 2_000, shift: (3, 1.0), nanColumn: 0);

        var report = DriftDetector.Compare(profile, sample, Created);

        Assert.Equal(DriftStatus.Inconclusive, report.Features[0].Status);
        Assert.Equal(DriftStatus.Significant, report.Status);
    }

    [Fact]
    public void Compare_NaNValues_AreReportedApart()
    {
        var profile = Reference();

        var report = DriftDetector.Compare(profile, Sample(profile, chunk: 20, rows: 4_000, nanColumn: 2, nanEvery: 4), Created);

        var column = report.Features[2];
        Assert.Equal(1_000, column.Missing);
        Assert.Equal(3_000, column.Samples);
        Assert.Equal(0.25, column.MissingRate);
        Assert.Equal(0, column.ReferenceMissingRate);
        Assert.Equal(DriftStatus.Stable, column.Status);
    }

    [Fact]
    public void Compare_ModelOlderThanTheLimit_IsStale()
    {
        var profile = Reference();
        var options = new DriftOptions(MaxModelAge: TimeSpan.FromDays(30));

        var fresh = DriftDetector.Compare(profile, Sample(profile, chunk: 20, rows: 4_000), Created.AddDays(29), options);
        var old = DriftDetector.Compare(profile, Sample(profile, chunk: 20, rows: 4_000), Created.AddDays(30), options);

        Assert.False(fresh.IsStale);
        Assert.Equal(TimeSpan.FromDays(29), fresh.ModelAge);
        Assert.True(old.IsStale);
        Assert.Equal(DriftStatus.Stable, old.Status);
        Assert.True(old.RetrainRecommended);
    }

    [Fact]
    public void Compare_ThresholdsAreConfigurable()
    {
        var profile = Reference();
        var sample = Sample(profile, chunk: 20, rows: 4_000, shift: (3, 1.0));

        var report = DriftDetector.Compare(profile, sample, Created, new DriftOptions(ModerateThreshold: 5, SignificantThreshold: 10));

        Assert.Equal(DriftStatus.Stable, report.Status);
    }

    [Fact]
    public void Compare_CountsOfOtherBins_Throw()
    {
        var profile = Reference();
        var other = ReferenceProfile.Build(Partial(chunks: 1), Created, binCount: 4);

        Assert.Throws<ArgumentException>(() => DriftDetector.Compare(profile, BinCounts.For(other), Created));
    }

    [Theory]
    [InlineData(0.0, 0.25, 500L, 1e-4, "ModerateThreshold")]
    [InlineData(0.3, 0.25, 500L, 1e-4, "SignificantThreshold")]
    [InlineData(0.1, 0.25, 0L, 1e-4, "MinimumSamples")]
    [InlineData(0.1, 0.25, 500L, 0.0, "Epsilon")]
    public void Options_OutOfRange_NameTheSetting(double moderate, double significant, long minimum, double epsilon, string setting)
    {
        var options = new DriftOptions(moderate, significant, minimum, epsilon);

        Assert.StartsWith(setting, Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Counts_MergedBatches_EqualOneBatch()
    {
        var profile = Reference();
        var rows = new ClassificationGenerator(Spec).GenerateChunk(30, 1_000);
        var whole = BinCounts.For(profile);
        whole.Add(profile, rows.Features, ReferenceProfileTests.Score(rows.Features));
        var merged = BinCounts.For(profile);
        foreach (var (start, length) in TestData.RandomPieces(seed: 8, count: 1_000, pieces: 5))
        {
            var batch = BinCounts.For(profile);
            var features = rows.Features.Select(f => f.AsSpan(start, length).ToArray()).ToArray();
            batch.Add(profile, features, ReferenceProfileTests.Score(features));
            merged.Merge(batch);
        }

        var json = System.Text.Json.JsonSerializer.Serialize(merged, System.Text.Json.JsonSerializerOptions.Web);
        var copy = System.Text.Json.JsonSerializer.Deserialize<BinCounts>(json, System.Text.Json.JsonSerializerOptions.Web)!;

        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(whole, System.Text.Json.JsonSerializerOptions.Web), json);
        Assert.Equal(whole.Counts, copy.Counts);
        Assert.Equal(whole.Rows, copy.Rows);
    }

    private static ReferencePartial Partial(int chunks)
    {
        var generator = new ClassificationGenerator(Spec);
        var partial = new ReferencePartial(ReferenceProfileTests.Names(Spec.Features));
        for (var chunk = 0; chunk < chunks; chunk++)
        {
            var rows = generator.GenerateChunk(chunk, 4_000);
            var piece = new ReferencePartial(ReferenceProfileTests.Names(Spec.Features));
            piece.AddChunk(rows.Features, ReferenceProfileTests.Score(rows.Features));
            partial.Merge(piece);
        }

        return partial;
    }

    private static ReferenceProfile Reference()
    {
        var partial = Partial(chunks: 5);
        var profile = ReferenceProfile.Build(partial, Created);
        var counts = BinCounts.For(profile);
        var generator = new ClassificationGenerator(Spec);
        for (var chunk = 0; chunk < 5; chunk++)
        {
            var rows = generator.GenerateChunk(chunk, 4_000);
            counts.Add(profile, rows.Features, ReferenceProfileTests.Score(rows.Features));
        }

        return profile.WithCountedProportions(counts);
    }

    private static BinCounts Sample(ReferenceProfile profile, int chunk, int rows, (int Column, double Sigmas)? shift = null, int? nanColumn = null, int nanEvery = 1)
    {
        var generated = new ClassificationGenerator(Spec).GenerateChunk(chunk, rows);
        var features = generated.Features.Select(f => (float[])f.Clone()).ToArray();
        if (shift is { } s)
        {
            var column = features[s.Column];
            var std = Math.Sqrt(column.Select(v => (double)v).Sum(v => v * v) / column.Length - Math.Pow(column.Average(v => (double)v), 2));
            for (var i = 0; i < column.Length; i++)
            {
                column[i] += (float)(s.Sigmas * std);
            }
        }

        var predictions = ReferenceProfileTests.Score(features);
        if (nanColumn is { } n)
        {
            for (var i = 0; i < rows; i += nanEvery)
            {
                features[n][i] = float.NaN;
            }
        }

        var counts = BinCounts.For(profile);
        counts.Add(profile, features, predictions);
        return counts;
    }
}
