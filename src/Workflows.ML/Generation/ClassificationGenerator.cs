using Workflows.ML.Numerics;
namespace Workflows.ML.Generation;

/// <summary>
/// Draws chunks of a <see cref="ClassificationSpec"/> problem. The generative model (cluster centres, per-cluster
/// covariance transforms, redundant mixing, feature order) is derived from the seed alone when the generator is
/// built, so every chunk — on whatever worker, in whatever order — samples the same distribution; only the rows
/// come from the (seed, chunk index) stream. A different random problem per chunk would make a model trained on
/// one chunk useless on the next.
/// </summary>
public sealed class ClassificationGenerator
{
    /// <summary>Name of the label column written next to the features.</summary>
    public const string LabelColumnName = "label";

    private readonly ClassificationSpec _spec;
    private readonly double[][] _centroids;
    private readonly double[][] _covariance;
    private readonly double[] _redundantMixing;
    private readonly int[] _featureOrder;

    /// <summary>Builds the generative model of <paramref name="spec"/>.</summary>
    public ClassificationGenerator(ClassificationSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        _spec = spec;
        var random = new Xoshiro256StarStar(spec.Seed, stream: -1);
        var informative = spec.Informative;
        var clusters = spec.Classes * spec.ClustersPerClass;
        _centroids = HypercubeVertices(ref random, clusters, informative, spec.ClassSeparation);
        _covariance = new double[clusters][];
        for (var k = 0; k < clusters; k++)
        {
            _covariance[k] = UniformMatrix(ref random, informative * informative);
        }

        _redundantMixing = UniformMatrix(ref random, informative * spec.Redundant);
        _featureOrder = new int[spec.Features];
        for (var i = 0; i < _featureOrder.Length; i++)
        {
            _featureOrder[i] = i;
        }

        // sklearn shuffles the feature order too, so informative features are not always the first columns.
        for (var i = _featureOrder.Length - 1; i > 0; i--)
        {
            var j = random.NextInt(i + 1);
            (_featureOrder[i], _featureOrder[j]) = (_featureOrder[j], _featureOrder[i]);
        }

        ColumnNames = FeatureNames(spec.Features);
    }

    /// <summary>The problem being sampled.</summary>
    public ClassificationSpec Spec => _spec;

    /// <summary>Feature column names, <c>f0</c>... zero-padded so they sort in order.</summary>
    public IReadOnlyList<string> ColumnNames { get; }

    /// <summary>Draws <paramref name="rows"/> rows of chunk <paramref name="chunkIndex"/>; the same arguments give the same rows.</summary>
    public GeneratedChunk GenerateChunk(int chunkIndex, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunkIndex);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        var random = new Xoshiro256StarStar(_spec.Seed, chunkIndex);
        var informative = _spec.Informative;
        var features = new float[_spec.Features][];
        for (var f = 0; f < features.Length; f++)
        {
            features[f] = new float[rows];
        }

        var labels = new int[rows];
        var clusters = _centroids.Length;
        Span<double> z = stackalloc double[informative];
        Span<double> x = stackalloc double[informative];
        for (var row = 0; row < rows; row++)
        {
            var cluster = random.NextInt(clusters);
            labels[row] = cluster % _spec.Classes;
            for (var i = 0; i < informative; i++)
            {
                z[i] = random.NextGaussian();
            }

            // x = z · A_k + centroid_k: the cluster's own covariance, as sklearn does.
            var a = _covariance[cluster];
            var centroid = _centroids[cluster];
            for (var j = 0; j < informative; j++)
            {
                var sum = centroid[j];
                for (var i = 0; i < informative; i++)
                {
                    sum += z[i] * a[(i * informative) + j];
                }

                x[j] = sum;
                features[_featureOrder[j]][row] = (float)sum;
            }

            for (var r = 0; r < _spec.Redundant; r++)
            {
                double sum = 0;
                for (var i = 0; i < informative; i++)
                {
                    sum += x[i] * _redundantMixing[(i * _spec.Redundant) + r];
                }

                features[_featureOrder[informative + r]][row] = (float)sum;
            }

            for (var n = informative + _spec.Redundant; n < _spec.Features; n++)
            {
                features[_featureOrder[n]][row] = (float)random.NextGaussian();
            }

            if (_spec.FlipY > 0 && random.NextDouble() < _spec.FlipY)
            {
                labels[row] = random.NextInt(_spec.Classes);
            }
        }

        return new GeneratedChunk(features, labels);
    }

    internal static string[] FeatureNames(int count)
    {
        var width = (count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length;
        var names = new string[count];
        for (var i = 0; i < count; i++)
        {
            names[i] = "f" + i.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(width, '0');
        }

        return names;
    }

    private static double[] UniformMatrix(ref Xoshiro256StarStar random, int length)
    {
        var matrix = new double[length];
        for (var i = 0; i < length; i++)
        {
            matrix[i] = (2 * random.NextDouble()) - 1;
        }

        return matrix;
    }

    private static double[][] HypercubeVertices(ref Xoshiro256StarStar random, int count, int dimensions, double separation)
    {
        // Distinct random vertices of the {-sep, +sep}^d hypercube, as sklearn's _generate_hypercube picks them.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var vertices = new double[count][];
        var signs = new char[dimensions];
        for (var k = 0; k < count;)
        {
            var vertex = new double[dimensions];
            for (var d = 0; d < dimensions; d++)
            {
                var positive = (random.NextUInt64() >> 63) == 1;
                vertex[d] = positive ? separation : -separation;
                signs[d] = positive ? '+' : '-';
            }

            if (seen.Add(new string(signs)))
            {
                vertices[k++] = vertex;
            }
        }

        return vertices;
    }
}
