namespace Workflows.ML.Generation;

/// <summary>
/// Parameters of a synthetic classification problem with the semantics of scikit-learn's
/// <c>make_classification</c>: Gaussian clusters on the vertices of a hypercube in the informative subspace,
/// redundant features as random linear combinations of the informative ones, pure-noise features, and a fraction
/// of labels assigned at random.
/// </summary>
/// <param name="Features">Total number of features.</param>
/// <param name="Informative">Features that carry the class signal.</param>
/// <param name="Redundant">Random linear combinations of the informative features.</param>
/// <param name="Classes">Number of classes.</param>
/// <param name="ClustersPerClass">Gaussian clusters per class.</param>
/// <param name="ClassSeparation">Half the side of the hypercube the cluster centres sit on (sklearn's <c>class_sep</c>).</param>
/// <param name="FlipY">Fraction of rows whose label is replaced by a uniformly random class (sklearn's <c>flip_y</c>).</param>
/// <param name="Seed">Seed of the generative model; chunk rows are drawn from (seed, chunk index).</param>
public sealed record ClassificationSpec(
    int Features = 20,
    int Informative = 2,
    int Redundant = 2,
    int Classes = 2,
    int ClustersPerClass = 2,
    double ClassSeparation = 1.0,
    double FlipY = 0.01,
    long Seed = 0)
{
    /// <summary>Features that are independent standard normal noise.</summary>
    public int Noise => Features - Informative - Redundant;

    /// <summary>Throws <see cref="ArgumentException"/> with a readable reason when the parameters are inconsistent.</summary>
    public void Validate()
    {
        if (Informative < 1 || Redundant < 0 || Features < 1 || Informative + Redundant > Features)
        {
            throw new ArgumentException($"need 1 <= informative and informative + redundant <= features; got features={Features}, informative={Informative}, redundant={Redundant}.");
        }

        if (Classes < 2 || ClustersPerClass < 1)
        {
            throw new ArgumentException($"need at least 2 classes and 1 cluster per class; got classes={Classes}, clustersPerClass={ClustersPerClass}.");
        }

        // Distinct hypercube vertices: 2^informative must hold every cluster (sklearn's own constraint).
        if (Informative < 31 && Classes * ClustersPerClass > (1 << Informative))
        {
            throw new ArgumentException($"classes * clustersPerClass = {Classes * ClustersPerClass} must be at most 2^informative = {1 << Informative}.");
        }

        if (FlipY is < 0 or > 1 || !(ClassSeparation > 0))
        {
            throw new ArgumentException($"need 0 <= flipY <= 1 and classSeparation > 0; got flipY={FlipY}, classSeparation={ClassSeparation}.");
        }
    }
}
