using Workflows.ML.Data;
using Workflows.ML.Generation;

namespace Workflows.Functions.Datasets;

/// <summary>Input of <see cref="GenerateDatasetOrchestrator"/>: a make_classification problem written as a folder of Parquet files.</summary>
/// <param name="Rows">Total rows.</param>
/// <param name="Features">Feature columns (float32).</param>
/// <param name="Informative">Features that carry the class signal.</param>
/// <param name="ChunkRows">Rows per chunk; each chunk is one Parquet file written by one activity.</param>
/// <param name="Seed">Seed of the generative model.</param>
/// <param name="Destination">Folder to write <c>part-NNNNN.parquet</c> files into.</param>
/// <param name="Redundant">Linear combinations of the informative features.</param>
/// <param name="Classes">Number of classes.</param>
/// <param name="ClustersPerClass">Gaussian clusters per class.</param>
/// <param name="ClassSeparation">sklearn's <c>class_sep</c>.</param>
/// <param name="FlipY">Fraction of labels replaced at random.</param>
/// <param name="Compression">Parquet codec.</param>
/// <param name="Overwrite">Replace the files of a destination that is not empty (otherwise such a destination is refused).</param>
public sealed record GenerateDatasetInput(
    long Rows,
    int Features,
    int Informative,
    int ChunkRows,
    long Seed,
    string Destination,
    int Redundant = 0,
    int Classes = 2,
    int ClustersPerClass = 2,
    double ClassSeparation = 1.0,
    double FlipY = 0.01,
    ParquetCompression Compression = ParquetCompression.Snappy,
    bool Overwrite = false)
{
    /// <summary>Most chunks one orchestration fans out to.</summary>
    public const int MaxChunks = 100_000;

    /// <summary>The generator's parameters.</summary>
    public ClassificationSpec ToSpec() =>
        new(Features, Informative, Redundant, Classes, ClustersPerClass, ClassSeparation, FlipY, Seed);

    /// <summary>Number of chunks (the last one may be shorter).</summary>
    public int ChunkCount => (int)((Rows + ChunkRows - 1) / ChunkRows);

    /// <summary>Throws <see cref="ArgumentException"/> with a readable reason when the input cannot be generated.</summary>
    public void Validate()
    {
        if (Rows < 1 || ChunkRows < 1)
        {
            throw new ArgumentException($"rows and chunkRows must be at least 1; got rows={Rows}, chunkRows={ChunkRows}.");
        }

        if ((Rows + ChunkRows - 1) / ChunkRows > MaxChunks)
        {
            throw new ArgumentException($"rows / chunkRows gives more than {MaxChunks} chunks; use bigger chunks.");
        }

        if (string.IsNullOrWhiteSpace(Destination))
        {
            throw new ArgumentException("destination is required.");
        }

        // A missing field reads as 0, so a zero here is nearly always a field left out of the request.
        if (Features < 1)
        {
            throw new ArgumentException($"features is required: the number of feature columns, at least 1; got features={Features}.");
        }

        if (Informative < 1)
        {
            throw new ArgumentException($"informative is required: the number of features that carry the class signal, at least 1 and at most features; got informative={Informative}.");
        }

        ToSpec().Validate();
    }
}
