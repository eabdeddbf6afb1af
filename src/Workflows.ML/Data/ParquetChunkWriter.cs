using System.IO.Compression;
using Parquet;
using Parquet.Schema;

namespace Workflows.ML.Data;

/// <summary>Writes float32 feature columns and an int32 label as one Parquet file with one row group (one chunk).</summary>
public static class ParquetChunkWriter
{
    /// <summary>Encodes the columns as a Parquet file in memory.</summary>
    public static async Task<byte[]> EncodeAsync(
        IReadOnlyList<string> featureNames,
        IReadOnlyList<float[]> features,
        string? labelName,
        int[]? labels,
        ParquetCompression compression,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(features);
        if (featureNames.Count != features.Count)
        {
            throw new ArgumentException($"{featureNames.Count} names for {features.Count} columns.", nameof(featureNames));
        }

        var fields = new List<Field>(features.Count + 1);
        var dataFields = new DataField[features.Count];
        for (var i = 0; i < features.Count; i++)
        {
            dataFields[i] = new DataField<float>(featureNames[i], false);
            fields.Add(dataFields[i]);
        }

        DataField? labelField = null;
        if (labelName is not null && labels is not null)
        {
            labelField = new DataField<int>(labelName, false);
            fields.Add(labelField);
        }

        var options = new ParquetOptions
        {
            CompressionMethod = compression == ParquetCompression.Snappy ? CompressionMethod.Snappy : CompressionMethod.Zstd,
            CompressionLevel = CompressionLevel.Fastest,
        };
        using var output = new MemoryStream();
        var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), output, options, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (writer.ConfigureAwait(false))
        {
            using var rowGroup = writer.CreateRowGroup();
            for (var i = 0; i < features.Count; i++)
            {
                await rowGroup.WriteAsync<float>(dataFields[i], features[i].AsMemory(), null, null, cancellationToken).ConfigureAwait(false);
            }

            if (labelField is not null)
            {
                await rowGroup.WriteAsync<int>(labelField, labels.AsMemory(), null, null, cancellationToken).ConfigureAwait(false);
            }

            rowGroup.CompleteValidate();
        }

        return output.ToArray();
    }
}
