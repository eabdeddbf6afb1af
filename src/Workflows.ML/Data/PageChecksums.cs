using System.Buffers;
using System.IO.Hashing;
using Parquet.Meta;

namespace Workflows.ML.Data;

/// <summary>
/// Verifies the page checksums of Parquet column chunks: every page whose header states a CRC-32 (parquet-format's
/// <c>PageHeader.crc</c>: the standard IEEE CRC-32 of the <c>compressed_page_size</c> bytes after the header, for a
/// data page v2 its uncompressed levels included) must match it, or the read fails naming the file, row group, column
/// and page. A file whose first page states no checksum is not walked (<see cref="StatesChecksumsAsync"/>); in one that
/// does, pages without a checksum are walked past. The walk follows the footer's column metadata
/// (first page at the dictionary or data page offset, <c>total_compressed_size</c> bytes in all) and stops once the data
/// pages hold the chunk's values; a header that does not parse, or a page that runs past its chunk or the file, fails
/// the same way. One instance serves the columns of one chunk read, one after the other: it holds a pooled buffer and
/// the CRC state, so a page costs no allocation.
/// </summary>
internal sealed class PageChecksums : IDisposable
{
    /// <summary>The largest page header read (Apache Arrow's default limit): a longer one is taken for damage.</summary>
    public const int MaxHeaderBytes = 16 << 20;

    /// <summary>Bytes read for a header at first: headers are tens of bytes, more only with large page statistics.</summary>
    private const int HeaderWindow = 1 << 10;

    private const int BlockBytes = 64 << 10;

    private readonly Crc32 _crc = new();
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BlockBytes);

    /// <summary>
    /// Whether the file states page checksums, judged by the first page header of one of its column chunks: writers
    /// write them for every page of a file or for none (a writer property in Apache Arrow and parquet-java; Parquet.Net
    /// writes none), so a file whose first page has none is not walked at all and costs this one small read.
    /// </summary>
    public async ValueTask<bool> StatesChecksumsAsync(Stream stream, ChunkLocation chunk, string column, ColumnMetaData? metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (metadata is null)
        {
            return false;
        }

        var (start, end) = Extent(stream, chunk, column, metadata);
        var (header, _) = await ReadHeaderAsync(stream, chunk, column, 0, start, end, cancellationToken).ConfigureAwait(false);
        return header.Crc is not null;
    }

    /// <summary>
    /// Walks the pages of one column chunk of <paramref name="chunk"/>'s row group in <paramref name="stream"/> (the file
    /// being read) and checks each stated checksum. Throws <see cref="DatasetException"/> naming the file, row group,
    /// column and page on a mismatch or a page that cannot be walked. Leaves the stream's position anywhere.
    /// </summary>
    public async ValueTask VerifyAsync(Stream stream, ChunkLocation chunk, string column, ColumnMetaData? metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (metadata is null)
        {
            return;
        }

        var (start, end) = Extent(stream, chunk, column, metadata);
        var position = start;
        long values = 0;
        for (var page = 0; position < end && (metadata.NumValues <= 0 || values < metadata.NumValues); page++)
        {
            var (header, buffered) = await ReadHeaderAsync(stream, chunk, column, page, position, end, cancellationToken).ConfigureAwait(false);
            var bodyEnd = position + header.Length + header.CompressedSize;
            if (bodyEnd > end)
            {
                throw DatasetReader.CorruptColumn(chunk, column, $"has a page that runs past the end of its column chunk: page {page} (header at byte {position}) (a page must lie within its column chunk)");
            }

            if (header.Crc is { } expected && await ChecksumAsync(stream, header, buffered, cancellationToken).ConfigureAwait(false) != expected)
            {
                throw DatasetReader.CorruptColumn(chunk, column, $"has a page checksum mismatch: page {page} (header at byte {position}) (a page's bytes must match the CRC-32 its header states)");
            }

            values += header.ValueCount;
            position = bodyEnd;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    /// <summary>The bytes of a column chunk: from its first page (dictionary or data) on, as many as the footer states.</summary>
    private static (long Start, long End) Extent(Stream stream, ChunkLocation chunk, string column, ColumnMetaData metadata)
    {
        var start = metadata.DictionaryPageOffset is > 0 and var dictionary && dictionary < metadata.DataPageOffset ? dictionary : metadata.DataPageOffset;
        var end = start + metadata.TotalCompressedSize;
        if (start < 0 || metadata.TotalCompressedSize < 0 || end > stream.Length)
        {
            throw DatasetReader.CorruptColumn(chunk, column, $"states a column chunk at bytes {start}..{end} of a file of {stream.Length} bytes (a column chunk must lie within its file)");
        }

        return (start, end);
    }

    /// <summary>
    /// Reads the header of the page at <paramref name="at"/> into the buffer: a small window first, a larger one (up
    /// to <see cref="MaxHeaderBytes"/> or the chunk's end) when the header is longer. Returns it and how many bytes
    /// the buffer holds from <paramref name="at"/> on (the page's first bytes follow the header there).
    /// </summary>
    private async ValueTask<(PageHeader Header, int Buffered)> ReadHeaderAsync(
        Stream stream, ChunkLocation chunk, string column, int page, long at, long end, CancellationToken cancellationToken)
    {
        var window = (int)Math.Min(HeaderWindow, end - at);
        while (true)
        {
            if (_buffer.Length < window)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(window);
            }

            stream.Seek(at, SeekOrigin.Begin);
            var read = await stream.ReadAtLeastAsync(_buffer.AsMemory(0, window), window, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read < window)
            {
                throw DatasetReader.CorruptColumn(chunk, column, $"ends with the file inside page {page} (header at byte {at}) (a column chunk must lie within its file)");
            }

            switch (PageHeaderReader.TryRead(_buffer.AsSpan(0, read), out var header, out var problem))
            {
                case PageHeaderStatus.Complete:
                    return (header, read);
                case PageHeaderStatus.Truncated when window < end - at && window < MaxHeaderBytes:
                    window = (int)Math.Min(Math.Min(2L * window, MaxHeaderBytes), end - at);
                    break;
                case PageHeaderStatus.Truncated:
                    var limit = window < end - at ? $"is longer than {MaxHeaderBytes} bytes" : "runs past the end of the column chunk";
                    throw DatasetReader.CorruptColumn(chunk, column, $"has an unreadable page header: page {page} (header at byte {at}) {limit} (a page header must be a Thrift PageHeader)");
                default:
                    throw DatasetReader.CorruptColumn(chunk, column, $"has an unreadable page header: page {page} (header at byte {at}) {problem} (a page header must be a Thrift PageHeader)");
            }
        }
    }

    /// <summary>
    /// The CRC-32 of the page whose header the buffer holds with <paramref name="buffered"/> bytes in all: the page's
    /// bytes already there, then the rest read block by block (the stream stands right after the buffered bytes).
    /// </summary>
    private async ValueTask<uint> ChecksumAsync(Stream stream, PageHeader header, int buffered, CancellationToken cancellationToken)
    {
        _crc.Reset();
        var first = Math.Min(buffered - header.Length, header.CompressedSize);
        _crc.Append(_buffer.AsSpan(header.Length, first));
        var left = header.CompressedSize - first;
        while (left > 0)
        {
            var block = Math.Min(left, _buffer.Length);
            var read = await stream.ReadAtLeastAsync(_buffer.AsMemory(0, block), block, throwOnEndOfStream: true, cancellationToken).ConfigureAwait(false);
            _crc.Append(_buffer.AsSpan(0, read));
            left -= read;
        }

        return _crc.GetCurrentHashAsUInt32();
    }
}
