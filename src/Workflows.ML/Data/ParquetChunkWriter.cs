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
            // NaN counts per data field (the label has none): the reader checks the decoded NaNs against them.
            var nanCounts = new string[features.Count + (labelField is null ? 0 : 1)];
            for (var i = 0; i < features.Count; i++)
            {
                nanCounts[i] = CountNaN(features[i]).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (labelField is not null)
            {
                nanCounts[^1] = "0";
            }

            writer.CustomMetadata = new Dictionary<string, string> { [FooterCheck.NanCountsKey] = string.Join(',', nanCounts) };
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

    private static int CountNaN(ReadOnlySpan<float> values)
    {
        var count = 0;
        foreach (var value in values)
        {
            count += float.IsNaN(value) ? 1 : 0;
        }

        return count;
    }
}
