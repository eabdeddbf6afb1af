namespace Workflows.ML.Monitoring;

/// <summary>
/// The one value per row that a reference profile and a serving sample keep of a model's output, so that training
/// and serving reduce outputs alike: with one output value per row (a binary classifier's probability of class 1, a
/// regressor's score) that value; with several (class probabilities) the predicted class, the label output when the
/// model gives one, else the position of the largest value (the first on ties).
/// </summary>
public static class ReferencePrediction
{
    /// <summary>The prediction of one row from its output values and, when the model gives one, its label.</summary>
    public static float Of(ReadOnlySpan<float> outputs, long? label = null)
    {
        if (outputs.Length == 0)
        {
            throw new ArgumentException("a row has no output values.", nameof(outputs));
        }

        if (outputs.Length == 1)
        {
            return outputs[0];
        }

        if (label is { } known)
        {
            return known;
        }

        var best = 0;
        for (var i = 1; i < outputs.Length; i++)
        {
            if (outputs[i] > outputs[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>The features of <paramref name="rows"/> row-major rows as one array per feature (what <see cref="ReferencePartial.AddChunk"/> and <see cref="BinCounts.Add"/> take).</summary>
    public static float[][] Columns(ReadOnlySpan<float> rowMajor, int rows, int features)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(features);
        if ((long)rows * features != rowMajor.Length)
        {
            throw new ArgumentException($"{rows} rows of {features} features are {(long)rows * features} values, not {rowMajor.Length}.", nameof(rowMajor));
        }

        var columns = new float[features][];
        for (var f = 0; f < features; f++)
        {
            var column = new float[rows];
            for (var r = 0; r < rows; r++)
            {
                column[r] = rowMajor[(r * features) + f];
            }

            columns[f] = column;
        }

        return columns;
    }
}
