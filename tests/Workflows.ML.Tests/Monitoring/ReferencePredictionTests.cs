using Workflows.ML.Monitoring;
using Xunit;

namespace Workflows.ML.Tests.Monitoring;

public sealed class ReferencePredictionTests
{
    [Fact]
    public void Of_OneValueIsItself_SeveralAreTheLabelOrTheFirstLargest()
    {
        Assert.Equal(0.7f, ReferencePrediction.Of([0.7f]));
        Assert.Equal(0.7f, ReferencePrediction.Of([0.7f], label: 1));
        Assert.Equal(2f, ReferencePrediction.Of([0.1f, 0.3f, 0.6f]));
        Assert.Equal(0f, ReferencePrediction.Of([0.1f, 0.3f, 0.6f], label: 0));
        Assert.Equal(1f, ReferencePrediction.Of([0.2f, 0.4f, 0.4f]));
        Assert.Throws<ArgumentException>(() => ReferencePrediction.Of([]));
    }

    [Fact]
    public void Columns_TransposesRowMajorRows_AndRefusesAWrongLength()
    {
        var columns = ReferencePrediction.Columns([1, 2, 3, 4, 5, 6], rows: 2, features: 3);

        Assert.Equal([[1f, 4], [2f, 5], [3f, 6]], columns);
        Assert.Throws<ArgumentException>(() => ReferencePrediction.Columns([1, 2, 3], rows: 2, features: 3));
    }
}
