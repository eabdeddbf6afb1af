using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.ML.Training;

/// <summary>
/// What a training run stores after every epoch so a crash resumes there: the trainer state (weights and optimizer
/// counters), the epochs completed and the learning curve. Serialized as JSON whose floats round-trip exactly
/// (System.Text.Json writes the shortest representation that parses back to the same bits).
/// </summary>
/// <param name="EpochsCompleted">Epochs fully trained; the next epoch to run is this number (epochs count from 0).</param>
/// <param name="State">The trainer state at the end of that epoch.</param>
/// <param name="LearningCurve">Holdout metrics after each completed epoch.</param>
/// <param name="Options">The hyper-parameters that produced the state, so a resume can refuse different ones.</param>
public sealed record TrainingCheckpoint(int EpochsCompleted, TrainerState State, IReadOnlyList<EpochMetrics> LearningCurve, TrainingOptions? Options = null)
{
    private const int CurrentFormat = 1;

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,

        // An undefined AUC (single-class holdout) is NaN; JSON has no NaN literal of its own.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The checkpoint as UTF-8 JSON.</summary>
    public byte[] ToJson()
    {
        var document = new CheckpointDocument(
            CurrentFormat,
            EpochsCompleted,
            State.FeatureCount,
            State.ClassCount,
            State.WeightsBuffer,
            State.BiasBuffer,
            State.Steps,
            State.RowsSeen,
            State.ClassCountsBuffer,
            LearningCurve,
            Options);
        return JsonSerializer.SerializeToUtf8Bytes(document, SerializerOptions);
    }

    /// <summary>Reads a checkpoint written by <see cref="ToJson"/>.</summary>
    public static TrainingCheckpoint FromJson(ReadOnlySpan<byte> json)
    {
        var document = JsonSerializer.Deserialize<CheckpointDocument>(json, SerializerOptions)
            ?? throw new InvalidDataException("The checkpoint is empty (JSON null).");
        if (document.Format != CurrentFormat)
        {
            throw new InvalidDataException($"Checkpoint format {document.Format} is not supported (expected {CurrentFormat}).");
        }

        var state = TrainerState.FromParts(
            document.FeatureCount,
            document.ClassCount,
            document.Weights,
            document.Bias,
            document.Steps,
            document.RowsSeen,
            document.ClassCounts);
        return new TrainingCheckpoint(document.EpochsCompleted, state, document.LearningCurve, document.Options);
    }

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> when this checkpoint was written with hyper-parameters other
    /// than <paramref name="options"/>: resuming with them would give a model that neither run describes.
    /// </summary>
    public void EnsureResumableWith(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        State.EnsureShape(options.FeatureCount, options.ClassCount);
        if (Options is not null && Options != options)
        {
            throw new InvalidOperationException(
                $"The checkpoint after epoch {EpochsCompleted} was written with {Options}; resuming with {options} would mix two trainings.");
        }
    }

    /// <summary>The stored shape; kept separate so the public record can hold a live <see cref="TrainerState"/>.</summary>
    internal sealed record CheckpointDocument(
        int Format,
        int EpochsCompleted,
        int FeatureCount,
        int ClassCount,
        float[] Weights,
        float[] Bias,
        long Steps,
        long RowsSeen,
        long[] ClassCounts,
        IReadOnlyList<EpochMetrics> LearningCurve,
        TrainingOptions? Options);
}
