namespace Workflows.Serving.Scoring;

/// <summary>A loaded model that scores rows. Thread-safe: any number of callers may score at once.</summary>
internal interface IScoringModel : IDisposable
{
    /// <summary>Its input and outputs.</summary>
    ModelSchema Schema { get; }

    /// <summary>
    /// Scores <paramref name="rows"/> row-major rows from the start of <paramref name="features"/> into the start of
    /// <paramref name="values"/> (<see cref="ModelSchema.ValueWidth"/> per row) and of <paramref name="labels"/> (one per
    /// row; untouched when the model has no label). The arrays may be longer than needed (reused buffers).
    /// </summary>
    void Score(float[] features, int rows, float[] values, long[] labels);
}
