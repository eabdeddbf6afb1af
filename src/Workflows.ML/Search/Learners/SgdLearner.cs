using Workflows.ML.Onnx;
using Workflows.ML.Search.Space;
using Workflows.ML.Training;

namespace Workflows.ML.Search.Learners;

/// <summary>
/// The repository's SGD logistic regression (<see cref="LogisticRegressionTrainer"/>) behind <see cref="ILearner"/>:
/// the rows are one chunk, standardized by their own mean and std; the resource <see cref="ResourceKind.Epochs"/>
/// counts epochs, and a model trained to <c>e</c> epochs resumes from its checkpoint to train only the epochs above
/// <c>e</c> (the same weights as training from scratch, on the same rows and seed). Saved as ONNX.
/// </summary>
internal sealed class SgdLearner : ILearner
{
    private static readonly ResourceKind[] SgdResources = [ResourceKind.NSamples, ResourceKind.Epochs];

    public string Name => LearnerCatalog.Sgd;

    public IReadOnlyList<string> ParameterNames { get; } = ["epochs", "learning_rate", "alpha", "batch_size", "power_t", "schedule"];

    public IReadOnlyList<ResourceKind> Resources => SgdResources;

    public void Validate(IReadOnlyDictionary<string, ParameterValue> parameters, Resource resource) => Read(parameters, resource, 2, 2, 0);

    public ITrainedModel Train(TrainingSet data, IReadOnlyDictionary<string, ParameterValue> parameters, Resource resource, long seed, ReadOnlySpan<byte> checkpoint = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (options, epochs) = Read(parameters, resource, data.FeatureCount, data.ClassCount, seed);
        var standardization = Standardize(data);
        var trainer = new LogisticRegressionTrainer(options, standardization);

        TrainerState state;
        var done = 0;
        if (checkpoint.IsEmpty)
        {
            state = TrainerState.CreateInitial(options);
        }
        else
        {
            if (resource.Kind != ResourceKind.Epochs)
            {
                throw new ArgumentException($"Learner '{Name}' resumes from a checkpoint only when budgeted on epochs (was {Resource.NameOf(resource.Kind)}).", nameof(checkpoint));
            }

            var saved = TrainingCheckpoint.FromJson(checkpoint);
            saved.EnsureResumableWith(options);
            if (saved.EpochsCompleted > epochs)
            {
                throw new ArgumentException($"The checkpoint has {saved.EpochsCompleted} epochs; cannot train back to {epochs}.", nameof(checkpoint));
            }

            state = saved.State;
            done = saved.EpochsCompleted;
        }

        for (var epoch = done; epoch < epochs; epoch++)
        {
            trainer.TrainChunk(state, epoch, 0, data.Features, data.Labels, data.RowCount);
        }

        state.EnsureSeveralClassesSeen();
        var checkpointOut = new TrainingCheckpoint(epochs, state, [], options).ToJson();
        return new SgdModel(LogisticRegressionModel.FromState(state, standardization), checkpointOut);
    }

    private (TrainingOptions Options, int Epochs) Read(IReadOnlyDictionary<string, ParameterValue> parameters, Resource resource, int featureCount, int classCount, long seed)
    {
        var p = LearnerParameters.Check(Name, parameters, ParameterNames, resource, SgdResources);
        var epochs = resource.Kind == ResourceKind.Epochs ? resource.Amount : p.Int("epochs", 5, 1);
        var schedule = Enum.Parse<LearningRateSchedule>(p.Text("schedule", nameof(LearningRateSchedule.InverseScaling), Enum.GetNames<LearningRateSchedule>()));
        var options = new TrainingOptions(
            featureCount,
            classCount,
            schedule,
            (float)p.Double("learning_rate", 0.1, 0),
            (float)p.Double("power_t", 0.5, 0, minIncluded: true),
            (float)p.Double("alpha", 1e-4, 0, minIncluded: true),
            p.Int("batch_size", 32, 1),
            unchecked((ulong)seed));
        options.Validate();
        return (options, epochs);
    }

    /// <summary>Mean and population std per feature, in double.</summary>
    private static FeatureStandardization Standardize(TrainingSet data)
    {
        var mean = new float[data.FeatureCount];
        var std = new float[data.FeatureCount];
        for (var f = 0; f < data.FeatureCount; f++)
        {
            double sum = 0;
            for (var r = 0; r < data.RowCount; r++)
            {
                sum += data.Features[(r * data.FeatureCount) + f];
            }

            var m = sum / data.RowCount;
            double squares = 0;
            for (var r = 0; r < data.RowCount; r++)
            {
                var d = data.Features[(r * data.FeatureCount) + f] - m;
                squares += d * d;
            }

            mean[f] = (float)m;
            std[f] = (float)Math.Sqrt(squares / data.RowCount);
        }

        return new FeatureStandardization(mean, std);
    }

    private sealed class SgdModel(LogisticRegressionModel model, byte[] checkpoint) : ITrainedModel
    {
        public int ClassCount => model.ClassCount;

        public string Format => "onnx";

        public byte[]? Checkpoint => checkpoint;

        public float[] PredictProbabilities(ReadOnlySpan<float> features, int rowCount)
        {
            var outputs = new float[rowCount * model.OutputCount];
            model.PredictProbabilities(features, rowCount, outputs);
            if (model.OutputCount != 1)
            {
                return outputs;
            }

            return TwoClassProbabilities.FromPositive(outputs);
        }

        public void Save(Stream stream)
        {
            ArgumentNullException.ThrowIfNull(stream);
            stream.Write(OnnxModelExporter.Export(model));
        }
    }
}
