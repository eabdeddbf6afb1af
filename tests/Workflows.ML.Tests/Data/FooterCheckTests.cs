using Parquet.Data;
using Workflows.ML.Data;
using Xunit;

namespace Workflows.ML.Tests.Data;

/// <summary>
/// Each rule of the footer check on its own: a decoded value outside the footer range, a null count other than the
/// footer's and a NaN count other than the writer's each fail naming the file, row group and column and the rule,
/// never a value; a column that agrees with its footer passes.
/// </summary>
public sealed class FooterCheckTests
{
    private static readonly ChunkLocation Chunk = new(Index: 3, File: "sets/demo/part-00003.parquet", RowGroup: 1, ByteOffset: 4, Rows: 4);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ValueOutsideTheFooterRange_FailsNamingFileRowGroupColumnAndRule(bool singlePrecision)
    {
        var column = Column(singlePrecision, 0.25, 0.5, 987654.25, 0.75);

        var error = Assert.Throws<DatasetException>(() => FooterCheck.Check(Chunk, column, nulls: 0, new DataColumnStatistics(0, null, 0.0, 1.0), nanCount: null));

        AssertNames(error, "decoded values must lie within the row group's footer range");
        Assert.DoesNotContain("987654", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void NullCountOtherThanTheFooters_FailsNamingFileRowGroupColumnAndRule(bool singlePrecision)
    {
        // One null decoded (stored as NaN), two stated by the footer.
        var column = Column(singlePrecision, 0.25, double.NaN, 0.5, 0.75);

        var error = Assert.Throws<DatasetException>(() => FooterCheck.Check(Chunk, column, nulls: 1, new DataColumnStatistics(2, null, 0.0, 1.0), nanCount: null));

        AssertNames(error, "decoded nulls must equal the footer's null count");
    }

    [Fact]
    public void NaNCountOtherThanTheWriters_FailsNamingFileRowGroupColumnAndRule()
    {
        var column = Column(singlePrecision: true, 0.25, double.NaN, double.NaN, 0.75);

        var error = Assert.Throws<DatasetException>(() => FooterCheck.Check(Chunk, column, nulls: 0, new DataColumnStatistics(0, null, 0.0, 1.0), nanCount: 1));

        AssertNames(error, "decoded NaNs must equal the writer's count");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ColumnThatAgreesWithItsFooter_Passes(bool singlePrecision)
    {
        // A null (NaN in the column), a NaN the writer counted, values on both bounds.
        var column = Column(singlePrecision, 0.0, double.NaN, double.NaN, 1.0);

        FooterCheck.Check(Chunk, column, nulls: 1, new DataColumnStatistics(1, null, 0.0, 1.0), nanCount: 1);
        FooterCheck.Check(Chunk, column, nulls: 1, statistics: null, nanCount: null);
    }

    private static ChunkColumn Column(bool singlePrecision, params double[] values) =>
        singlePrecision ? new ChunkColumn("f01", values.Select(static v => (float)v).ToArray()) : new ChunkColumn("f01", ColumnType.Float64, values);

    private static void AssertNames(DatasetException error, string rule)
    {
        Assert.Contains("column 'f01' of row group 1 of 'sets/demo/part-00003.parquet'", error.Message, StringComparison.Ordinal);
        Assert.Contains(rule, error.Message, StringComparison.Ordinal);
        Assert.Contains("the file is corrupt", error.Message, StringComparison.Ordinal);
    }
}
