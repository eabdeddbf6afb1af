using Microsoft.ML;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using Workflows.ML.Search.Space;

namespace Workflows.ML.Search.Learners;

/// <summary>
/// ML.NET's binary tree ensembles behind <see cref="ILearner"/>: gradient boosting (FastTree), random forest
/// (FastForest, Platt-calibrated on its training rows since its score is no probability) and LightGBM. One thread
/// and the given seed make a fit repeatable. See docs/ml.md for how scikit-learn's parameter names map.
/// </summary>
internal sealed class TreeLearner : ILearner
{
    /// <summary>The cap on leaves when <c>max_depth</c> sets them as 2^depth.</summary>
    public const int MaxLeaves = 256;

    private static readonly ResourceKind[] TreeResources = [ResourceKind.NSamples, ResourceKind.NEstimators];

    private readonly Family _family;

    private TreeLearner(Family family, string name, string[] parameterNames)
    {
        _family = family;
        Name = name;
        ParameterNames = parameterNames;
    }

    internal enum Family
    {
        GradientBoosting,
        RandomForest,
        LightGbm,
    }

    public string Name { get; }

    public IReadOnlyList<string> ParameterNames { get; }

    public IReadOnlyList<ResourceKind> Resources => TreeResources;

    public static TreeLearner GradientBoosting() =>
        new(Family.GradientBoosting, LearnerCatalog.GradientBoosting, ["n_estimators", "max_depth", "learning_rate", "subsample", "max_features", "min_samples_leaf"]);

    public static TreeLearner RandomForest() =>
        new(Family.RandomForest, LearnerCatalog.RandomForest, ["n_estimators", "max_depth", "subsample", "max_features", "min_samples_leaf"]);

    public static TreeLearner LightGbm() =>
        new(Family.LightGbm, LearnerCatalog.LightGbm, ["n_estimators", "max_depth", "learning_rate", "subsample", "max_features", "min_samples_leaf"]);

    public void Validate(IReadOnlyDictionary<string, ParameterValue> parameters, Resource resource) => Read(parameters, resource);

    public ITrainedModel Train(TrainingSet data, IReadOnlyDictionary<string, ParameterValue> parameters, Resource resource, long seed, ReadOnlySpan<byte> checkpoint = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var settings = Read(parameters, resource);
        if (!checkpoint.IsEmpty)
        {
            throw new ArgumentException($"Learner '{Name}' cannot resume from a checkpoint: ML.NET's tree trainers have no warm start.", nameof(checkpoint));
        }

        if (data.ClassCount != 2)
        {
            throw new ArgumentException($"Learner '{Name}' is binary; the data has {data.ClassCount} classes.", nameof(data));
        }

        var context = new MLContext(unchecked((int)seed));
        var view = MlNetData.From(context, data.Features, data.Labels, data.RowCount, data.FeatureCount);
        var model = Estimator(context, settings, unchecked((int)seed)).Fit(view);
        return new MlNetModel(context, model, view.Schema, data.FeatureCount);
    }

    private Settings Read(IReadOnlyDictionary<string, ParameterValue> parameters, Resource resource)
    {
        var p = LearnerParameters.Check(Name, parameters, ParameterNames, resource, TreeResources);
        var trees = resource.Kind == ResourceKind.NEstimators ? resource.Amount : p.Int("n_estimators", 100, 1);
        var depth = p.Int("max_depth", 0, 1, 64);
        var leaves = depth == 0 ? 0 : (int)Math.Min(1L << Math.Min(depth, 30), MaxLeaves);
        return new Settings(
            trees,
            depth,
            leaves,
            p.Double("learning_rate", 0.1, 0),
            p.Double("subsample", _family == Family.RandomForest ? 0.7 : 1.0, 0, 1),
            p.Double("max_features", _family == Family.RandomForest ? 0.7 : 1.0, 0, 1),
            p.Int("min_samples_leaf", 1, 1));
    }

    private IEstimator<ITransformer> Estimator(MLContext context, Settings s, int seed)
    {
        switch (_family)
        {
            case Family.GradientBoosting:
                var boosting = new FastTreeBinaryTrainer.Options
                {
                    NumberOfTrees = s.Trees,
                    LearningRate = s.LearningRate,
                    MinimumExampleCountPerLeaf = s.MinSamplesLeaf,
                    FeatureFraction = s.MaxFeatures,
                    Seed = seed,
                    NumberOfThreads = 1,
                };
                if (s.Leaves > 0)
                {
                    boosting.NumberOfLeaves = s.Leaves;
                }

                if (s.Subsample < 1)
                {
                    // Stochastic gradient boosting: a fresh bag of rows for every tree.
                    boosting.BaggingSize = 1;
                    boosting.BaggingExampleFraction = s.Subsample;
                }

                return context.BinaryClassification.Trainers.FastTree(boosting);

            case Family.RandomForest:
                var forest = new FastForestBinaryTrainer.Options
                {
                    NumberOfTrees = s.Trees,
                    MinimumExampleCountPerLeaf = s.MinSamplesLeaf,
                    FeatureFraction = s.MaxFeatures,
                    BaggingSize = 1,
                    BaggingExampleFraction = s.Subsample,
                    Seed = seed,
                    NumberOfThreads = 1,
                };
                if (s.Leaves > 0)
                {
                    forest.NumberOfLeaves = s.Leaves;
                }

                return context.BinaryClassification.Trainers.FastForest(forest)
                    .Append(context.BinaryClassification.Calibrators.Platt());

            default:
                var booster = new GradientBooster.Options { FeatureFraction = s.MaxFeatures };
                if (s.Depth > 0)
                {
                    booster.MaximumTreeDepth = s.Depth;
                }

                if (s.Subsample < 1)
                {
                    booster.SubsampleFraction = s.Subsample;
                    booster.SubsampleFrequency = 1;
                }

                var lightGbm = new LightGbmBinaryTrainer.Options
                {
                    NumberOfIterations = s.Trees,
                    LearningRate = s.LearningRate,
                    MinimumExampleCountPerLeaf = s.MinSamplesLeaf,
                    Booster = booster,
                    Seed = seed,
                    NumberOfThreads = 1,
                    Deterministic = true,
                };
                if (s.Leaves > 0)
                {
                    lightGbm.NumberOfLeaves = s.Leaves;
                }

                return context.BinaryClassification.Trainers.LightGbm(lightGbm);
        }
    }

    private sealed record Settings(int Trees, int Depth, int Leaves, double LearningRate, double Subsample, double MaxFeatures, int MinSamplesLeaf);
}
