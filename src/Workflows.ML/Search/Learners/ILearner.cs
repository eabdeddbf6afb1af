using Workflows.ML.Search.Space;

namespace Workflows.ML.Search.Learners;

/// <summary>A learner a search tunes: trains a model from a training set, hyper-parameters and a resource.</summary>
public interface ILearner
{
    /// <summary>The learner's name in <see cref="LearnerCatalog"/>.</summary>
    string Name { get; }

    /// <summary>The hyper-parameters it takes (scikit-learn names).</summary>
    IReadOnlyList<string> ParameterNames { get; }

    /// <summary>The resources it can be budgeted on; <see cref="ResourceKind.NSamples"/> is always among them.</summary>
    IReadOnlyList<ResourceKind> Resources { get; }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> for a parameter it does not take, a value out of range, or a resource it
    /// cannot be budgeted on, before any work (also a parameter that is the resource, as scikit-learn forbids).
    /// </summary>
    void Validate(IReadOnlyDictionary<string, ParameterValue> parameters, Resource resource);

    /// <summary>
    /// Trains on <paramref name="data"/>. With <see cref="ResourceKind.NSamples"/> the caller has already chosen the
    /// rows; other resources set the learner's trees or epochs. <paramref name="checkpoint"/>, when not empty, is a
    /// previous model's <see cref="ITrainedModel.Checkpoint"/> to resume from (learners that cannot resume refuse it).
    /// </summary>
    ITrainedModel Train(TrainingSet data, IReadOnlyDictionary<string, ParameterValue> parameters, Resource resource, long seed, ReadOnlySpan<byte> checkpoint = default);
}
