namespace Workflows.ML.Search.Learners;

/// <summary>A trained model: class probabilities, a saved form, and the state a promotion resumes from.</summary>
public interface ITrainedModel
{
    /// <summary>Number of classes of the probabilities.</summary>
    int ClassCount { get; }

    /// <summary>The saved form's format: <c>mlnet-zip</c> (ML.NET's model .zip) or <c>onnx</c>.</summary>
    string Format { get; }

    /// <summary>The state to resume training from (as <see cref="ILearner.Train"/> takes it), or null when the learner cannot resume.</summary>
    byte[]? Checkpoint { get; }

    /// <summary>Probabilities for <paramref name="rowCount"/> rows of row-major features: <c>rowCount × ClassCount</c>, row-major.</summary>
    float[] PredictProbabilities(ReadOnlySpan<float> features, int rowCount);

    /// <summary>Writes the model in <see cref="Format"/> to <paramref name="stream"/>.</summary>
    void Save(Stream stream);
}
