using Microsoft.ML.OnnxRuntime;
using Workflows.ML.Data;
using Workflows.ML.Onnx;

namespace Workflows.Functions.Retraining;

/// <summary>One model's figures on a holdout.</summary>
/// <param name="LogLoss">Mean log loss (natural log, probabilities clamped to [1e-15, 1 - 1e-15]).</param>
/// <param name="Accuracy">Share of rows whose most probable class is the label.</param>
/// <param name="Rows">Rows scored.</param>
public sealed record HoldoutScore(double LogLoss, double Accuracy, long Rows);

/// <summary>
/// Scores classification models exported to ONNX as this app exports them (input <c>features</c> [N, F], output
/// <c>probabilities</c> [N, K], K = 1 for a binary model) on the same rows of a holdout, chunk by chunk, with ONNX
/// Runtime: every model sees each decoded chunk once, so their figures are comparable to the last digit.
/// </summary>
public sealed class HoldoutScorer(DatasetReader reader)
{
    private const double Clamp = 1e-15;

    /// <summary>
    /// The figures of each of <paramref name="models"/> (ONNX bytes) on <paramref name="chunks"/> of
    /// <paramref name="dataset"/> (its path, label column and CSV chunk size, as training read it; all its chunks when
    /// null), features <paramref name="features"/> in that order.
    /// </summary>
    public async Task<IReadOnlyList<HoldoutScore>> ScoreAsync(
        DatasetSpec dataset, IReadOnlyList<int>? chunks, IReadOnlyList<string> features, IReadOnlyList<byte[]> models, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(models);
        var description = await reader.DescribeAsync(dataset, cancellationToken);
        var columns = DatasetReader.ResolveColumns(description, features);
        var selected = chunks is null
            ? description.Chunks
            : [.. chunks.Select(i => i >= 0 && i < description.Chunks.Count
                ? description.Chunks[i]
                : throw new InvalidOperationException($"holdout chunk {i} is not in '{dataset.Path}' ({description.Chunks.Count} chunks)."))];
        var sessions = new List<InferenceSession>(models.Count);
        using var runOptions = new RunOptions();
        try
        {
            foreach (var model in models)
            {
                sessions.Add(new InferenceSession(model));
            }

            var loss = new double[models.Count];
            var correct = new long[models.Count];
            long rows = 0;
            foreach (var location in selected)
            {
                var chunk = await reader.ReadChunkAsync(description, location, columns, cancellationToken);
                if (chunk.RowCount == 0)
                {
                    continue;
                }

                var label = chunk.Label ?? throw new InvalidOperationException($"'{dataset.Path}' has no label column '{dataset.LabelColumn}'.");
                var x = new float[chunk.RowCount * columns.Count];
                for (var c = 0; c < columns.Count; c++)
                {
                    var column = chunk.Columns[c];
                    for (var r = 0; r < chunk.RowCount; r++)
                    {
                        x[(r * columns.Count) + c] = (float)column[r];
                    }
                }

                for (var m = 0; m < sessions.Count; m++)
                {
                    Score(sessions[m], runOptions, x, chunk.RowCount, columns.Count, label, ref loss[m], ref correct[m]);
                }

                rows += chunk.RowCount;
            }

            return rows == 0
                ? throw new InvalidOperationException($"the holdout of '{dataset.Path}' has no rows.")
                : [.. loss.Select((total, m) => new HoldoutScore(total / rows, (double)correct[m] / rows, rows))];
        }
        finally
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }
        }
    }

    private static void Score(InferenceSession session, RunOptions runOptions, float[] x, int rows, int featureCount, ChunkColumn label, ref double loss, ref long correct)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(x, [rows, featureCount]);
        using var results = session.Run(runOptions, [OnnxModelExporter.FeaturesInput], [input], [OnnxModelExporter.ProbabilitiesOutput]);
        var probabilities = results[0].GetTensorDataAsSpan<float>();
        var classes = probabilities.Length / rows;
        for (var r = 0; r < rows; r++)
        {
            var y = (int)label[r];
            double p;
            int predicted;
            if (classes == 1)
            {
                var positive = probabilities[r];
                p = y == 1 ? positive : 1 - positive;
                predicted = positive >= 0.5f ? 1 : 0;
            }
            else
            {
                var row = probabilities.Slice(r * classes, classes);
                p = y >= 0 && y < classes ? row[y] : 0;
                predicted = 0;
                for (var k = 1; k < classes; k++)
                {
                    predicted = row[k] > row[predicted] ? k : predicted;
                }
            }

            loss -= Math.Log(Math.Clamp(p, Clamp, 1 - Clamp));
            correct += predicted == y ? 1 : 0;
        }
    }
}
