namespace Workflows.ML.Data;

/// <summary>What <see cref="PageHeaderReader.TryRead"/> made of the bytes it was given.</summary>
internal enum PageHeaderStatus
{
    /// <summary>A whole page header: <see cref="PageHeader"/> holds it.</summary>
    Complete,

    /// <summary>The bytes end inside the header: more bytes may complete it.</summary>
    Truncated,

    /// <summary>The bytes are no page header (a bad type, an overlong varint, a negative size, a missing field, too deep a nesting).</summary>
    Invalid,
}

/// <summary>
/// The fields of a Parquet <c>PageHeader</c> the checksum check needs.
/// </summary>
/// <param name="Type">The page type (0 data page, 1 index page, 2 dictionary page, 3 data page v2).</param>
/// <param name="UncompressedSize">The page's size uncompressed, without the header.</param>
/// <param name="CompressedSize">The page's bytes that follow the header: what its CRC covers.</param>
/// <param name="Crc">The CRC-32 the header states, or null when it states none.</param>
/// <param name="ValueCount">The values of a data page (v1 or v2, nulls included); 0 for the other pages.</param>
/// <param name="Length">The header's own length in bytes.</param>
internal readonly record struct PageHeader(int Type, int UncompressedSize, int CompressedSize, uint? Crc, int ValueCount, int Length);

/// <summary>
/// Reads Parquet page headers: Thrift structs in the compact protocol. Only the fields of <see cref="PageHeader"/> are
/// kept; every other field, of whatever type (nested structs, lists, sets, maps, binary, UUID), is skipped generically,
/// so headers of newer writers read too. Works on a span with no allocation; damaged bytes end in
/// <see cref="PageHeaderStatus.Invalid"/> or <see cref="PageHeaderStatus.Truncated"/> with a reason, never an exception
/// and never a loop longer than the bytes (every element of a collection takes at least one byte, and nesting is
/// bounded by <see cref="MaxDepth"/>).
/// </summary>
internal static class PageHeaderReader
{
    /// <summary>The deepest nesting of structs and collections accepted (PageHeader itself is depth 0).</summary>
    public const int MaxDepth = 32;

    // Compact protocol types (a field header's low nibble, a collection's element type).
    private const int BooleanTrue = 1;
    private const int BooleanFalse = 2;
    private const int Byte = 3;
    private const int I16 = 4;
    private const int I32 = 5;
    private const int I64 = 6;
    private const int Double = 7;
    private const int Binary = 8;
    private const int List = 9;
    private const int Set = 10;
    private const int Map = 11;
    private const int Struct = 12;
    private const int Uuid = 13;

    /// <summary>
    /// Reads the page header at the start of <paramref name="bytes"/>. <paramref name="problem"/> says what is wrong
    /// when the status is not <see cref="PageHeaderStatus.Complete"/>.
    /// </summary>
    public static PageHeaderStatus TryRead(ReadOnlySpan<byte> bytes, out PageHeader header, out string? problem)
    {
        var reader = new CompactReader(bytes);
        int? type = null, uncompressed = null, compressed = null;
        uint? crc = null;
        var values = 0;
        short last = 0;
        while (reader.NextField(ref last, out var id, out var fieldType))
        {
            switch (id)
            {
                case 1 when fieldType == I32:
                    type = reader.ReadI32();
                    break;
                case 2 when fieldType == I32:
                    uncompressed = reader.ReadI32();
                    break;
                case 3 when fieldType == I32:
                    compressed = reader.ReadI32();
                    break;
                case 4 when fieldType == I32:
                    crc = unchecked((uint)reader.ReadI32());
                    break;
                case 5 or 8 when fieldType == Struct:
                    // DataPageHeader and DataPageHeaderV2 both start with field 1, num_values.
                    values = reader.ReadFirstI32(depth: 1);
                    break;
                default:
                    reader.Skip(fieldType, depth: 1, inCollection: false);
                    break;
            }
        }

        header = default;
        if (reader.Problem is { } failure)
        {
            problem = failure;
            return reader.Truncated ? PageHeaderStatus.Truncated : PageHeaderStatus.Invalid;
        }

        problem = type is null ? "has no page type"
            : compressed is null ? "has no compressed_page_size"
            : uncompressed is null ? "has no uncompressed_page_size"
            : compressed < 0 || uncompressed < 0 ? "states a negative page size"
            : values < 0 ? "states a negative value count"
            : null;
        if (problem is not null)
        {
            return PageHeaderStatus.Invalid;
        }

        header = new PageHeader(type!.Value, uncompressed!.Value, compressed!.Value, crc, values, reader.Position);
        return PageHeaderStatus.Complete;
    }

    /// <summary>
    /// A forward reader of compact-protocol values over a span. The first failure sticks (<see cref="Problem"/>): every
    /// read after it returns 0 and <see cref="NextField"/> returns false, so callers check once at the end.
    /// </summary>
    private ref struct CompactReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;

        public int Position { get; private set; }

        /// <summary>Why reading stopped, or null while all is well.</summary>
        public string? Problem { get; private set; }

        /// <summary>Whether <see cref="Problem"/> is that the bytes ran out (more bytes may complete the header).</summary>
        public bool Truncated { get; private set; }

        private readonly int Remaining => _bytes.Length - Position;

        /// <summary>The next field of the current struct, false at its end (or after a failure).</summary>
        public bool NextField(ref short last, out short id, out int type)
        {
            id = 0;
            type = 0;
            var header = ReadByte();
            if (header == 0 || Problem is not null)
            {
                return false;
            }

            type = header & 0x0F;
            var delta = header >> 4;
            if (delta != 0)
            {
                id = (short)(last + delta);
            }
            else
            {
                var value = ReadZigZag(3);
                if (value is < short.MinValue or > short.MaxValue)
                {
                    return Fail("states a field id beyond 16 bits");
                }

                id = (short)value;
            }

            last = id;
            return Problem is null;
        }

        public int ReadI32()
        {
            var value = ReadZigZag(5);
            if (value is < int.MinValue or > int.MaxValue)
            {
                Fail("states an i32 beyond 32 bits");
                return 0;
            }

            return (int)value;
        }

        /// <summary>Reads a struct, keeping its field 1 when that is an i32 (0 when absent) and skipping the rest.</summary>
        public int ReadFirstI32(int depth)
        {
            var result = 0;
            short last = 0;
            while (NextField(ref last, out var id, out var type))
            {
                if (id == 1 && type == I32)
                {
                    result = ReadI32();
                }
                else
                {
                    Skip(type, depth + 1, inCollection: false);
                }
            }

            return result;
        }

        /// <summary>
        /// Skips one value of compact type <paramref name="type"/>. A boolean field carries its value in the type, but
        /// a boolean element of a collection is a byte of its own (<paramref name="inCollection"/>).
        /// </summary>
        public void Skip(int type, int depth, bool inCollection)
        {
            if (depth > MaxDepth)
            {
                Fail($"nests structs or collections deeper than {MaxDepth}");
                return;
            }

            switch (type)
            {
                case BooleanTrue or BooleanFalse:
                    if (inCollection)
                    {
                        Advance(1);
                    }

                    break;
                case Byte:
                    Advance(1);
                    break;
                case I16:
                    ReadVarint(3);
                    break;
                case I32:
                    ReadVarint(5);
                    break;
                case I64:
                    ReadVarint(10);
                    break;
                case Double:
                    Advance(8);
                    break;
                case Uuid:
                    Advance(16);
                    break;
                case Binary:
                    Advance(ReadLength());
                    break;
                case List or Set:
                    var sizeAndType = ReadByte();
                    var size = sizeAndType >> 4;
                    if (size == 15)
                    {
                        size = ReadLength();
                    }

                    SkipElements(size, sizeAndType & 0x0F, elementsPerEntry: 1, depth);
                    break;
                case Map:
                    var entries = ReadLength();
                    if (entries > 0)
                    {
                        var types = ReadByte();
                        SkipElements(entries, types >> 4, elementsPerEntry: 2, depth, types & 0x0F);
                    }

                    break;
                case Struct:
                    short last = 0;
                    while (NextField(ref last, out _, out var fieldType))
                    {
                        Skip(fieldType, depth + 1, inCollection: false);
                    }

                    break;
                default:
                    Fail($"has a value of unknown compact type {type}");
                    break;
            }
        }

        /// <summary>Skips <paramref name="count"/> elements (map entries: a key and a value each); each takes a byte at least.</summary>
        private void SkipElements(int count, int type, int elementsPerEntry, int depth, int valueType = 0)
        {
            if (Problem is not null)
            {
                return;
            }

            if ((long)count * elementsPerEntry > Remaining)
            {
                // Each element takes a byte at least: a count beyond the bytes left cannot complete here.
                Truncate();
                return;
            }

            for (var i = 0; i < count && Problem is null; i++)
            {
                Skip(type, depth + 1, inCollection: true);
                if (elementsPerEntry == 2)
                {
                    Skip(valueType, depth + 1, inCollection: true);
                }
            }
        }

        /// <summary>A non-negative i32 varint: the length of a binary, a collection's size.</summary>
        private int ReadLength()
        {
            var value = ReadVarint(5);
            if (value > int.MaxValue)
            {
                Fail("states a length beyond 2^31");
                return 0;
            }

            return (int)value;
        }

        private long ReadZigZag(int maxBytes)
        {
            var value = ReadVarint(maxBytes);
            return (long)(value >> 1) ^ -(long)(value & 1);
        }

        private ulong ReadVarint(int maxBytes)
        {
            ulong value = 0;
            for (var i = 0; i < maxBytes; i++)
            {
                var b = ReadByte();
                if (Problem is not null)
                {
                    return 0;
                }

                value |= (ulong)(b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }

            Fail($"has a varint longer than {maxBytes} bytes");
            return 0;
        }

        private byte ReadByte()
        {
            if (Problem is not null)
            {
                return 0;
            }

            if (Remaining < 1)
            {
                Truncate();
                return 0;
            }

            return _bytes[Position++];
        }

        private void Advance(int count)
        {
            if (Problem is not null)
            {
                return;
            }

            if (count > Remaining)
            {
                Truncate();
                return;
            }

            Position += count;
        }

        private void Truncate()
        {
            if (Problem is null)
            {
                Problem = "ends before the header does";
                Truncated = true;
            }
        }

        private bool Fail(string problem)
        {
            if (Problem is null)
            {
                Problem = problem;
            }

            return false;
        }
    }
}
