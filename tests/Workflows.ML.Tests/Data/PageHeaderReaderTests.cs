using Workflows.ML.Data;
using Xunit;

namespace Workflows.ML.Tests.Data;

/// <summary>
/// The compact-protocol page header reader: the fields the checksum check needs are read from a header that also holds
/// every other compact type (nested structs, lists, sets, maps, binary, doubles, UUIDs, booleans, long field ids);
/// every prefix of a header is truncated, and damaged bytes end in a status with a reason, never an exception or a hang.
/// </summary>
public sealed class PageHeaderReaderTests
{
    [Fact]
    public void TryRead_HeaderWithEveryCompactType_ReadsTheChecksumFieldsAndSkipsTheRest()
    {
        var header = DataPageHeader(crc: unchecked((int)0xDEADBEEF), withEveryType: true);
        var bytes = header.Concat(new byte[] { 9, 9, 9 }).ToArray();

        var status = PageHeaderReader.TryRead(bytes, out var read, out var problem);

        Assert.Equal(PageHeaderStatus.Complete, status);
        Assert.Null(problem);
        Assert.Equal(new PageHeader(Type: 0, UncompressedSize: 100, CompressedSize: 80, Crc: 0xDEADBEEF, ValueCount: 25, Length: header.Length), read);
    }

    [Fact]
    public void TryRead_DataPageV2WithoutChecksum_ReadsItsValueCountAndNoChecksum()
    {
        var bytes = new Compact()
            .Field(1, Types.I32).I32(3)
            .Field(2, Types.I32).I32(40)
            .Field(3, Types.I32).I32(30)
            .Field(8, Types.Struct).Begin()
                .Field(1, Types.I32).I32(7)
                .Field(2, Types.I32).I32(1)
                .Field(7, Types.BooleanFalse)
            .End()
            .Stop().ToArray();

        Assert.Equal(PageHeaderStatus.Complete, PageHeaderReader.TryRead(bytes, out var read, out _));
        Assert.Equal(new PageHeader(3, 40, 30, null, 7, bytes.Length), read);
    }

    [Fact]
    public void TryRead_EveryPrefixOfAHeader_IsTruncated()
    {
        var header = DataPageHeader(crc: 5, withEveryType: true);

        for (var length = 0; length < header.Length; length++)
        {
            var status = PageHeaderReader.TryRead(header.AsSpan(0, length), out _, out var problem);

            Assert.True(status == PageHeaderStatus.Truncated, $"prefix of {length} bytes: {status} ({problem})");
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, "varint longer than 5 bytes")]
    [InlineData(new byte[] { 0x1E, 0x00 }, "unknown compact type 14")]
    [InlineData(new byte[] { 0x19, 0x1F, 0x00 }, "unknown compact type 15")]
    [InlineData(new byte[] { 0x00 }, "has no page type")]
    [InlineData(new byte[] { 0x15, 0x00, 0x15, 0x01, 0x15, 0x01, 0x00 }, "negative page size")]
    public void TryRead_GarbledHeader_IsInvalidWithAReason(byte[] bytes, string reason)
    {
        var status = PageHeaderReader.TryRead(bytes, out _, out var problem);

        Assert.Equal(PageHeaderStatus.Invalid, status);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_StructsNestedDeeperThanTheLimit_IsInvalid()
    {
        // Field 1 of each struct is a struct, 40 deep, then the stops.
        var bytes = Enumerable.Repeat((byte)0x1C, 40).Concat(Enumerable.Repeat((byte)0, 41)).ToArray();

        var status = PageHeaderReader.TryRead(bytes, out _, out var problem);

        Assert.Equal(PageHeaderStatus.Invalid, status);
        Assert.Contains($"deeper than {PageHeaderReader.MaxDepth}", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 })] // a list of 2^31 - 1 i32s
    [InlineData(new byte[] { 0x1B, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x55 })] // a map of 2^31 - 1 entries
    [InlineData(new byte[] { 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 })] // a binary of 2^31 - 1 bytes
    public void TryRead_SizeBeyondTheBytes_IsTruncatedAtOnce(byte[] bytes)
    {
        Assert.Equal(PageHeaderStatus.Truncated, PageHeaderReader.TryRead(bytes, out _, out _));
    }

    [Fact]
    public void TryRead_RandomAndMutatedBytes_NeverThrowsAndStaysWithinTheBytes()
    {
        var random = new Random(15);
        var header = DataPageHeader(crc: 7, withEveryType: true);
        for (var i = 0; i < 20_000; i++)
        {
            byte[] bytes;
            if (i % 2 == 0)
            {
                bytes = new byte[random.Next(0, 256)];
                random.NextBytes(bytes);
            }
            else
            {
                bytes = (byte[])header.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }
            }

            var status = PageHeaderReader.TryRead(bytes, out var read, out var problem);

            Assert.True(status == PageHeaderStatus.Complete ? problem is null && read.Length <= bytes.Length : problem is not null, $"input {i}: {status} ({problem})");
        }
    }

    /// <summary>A v1 data page header (100 bytes uncompressed, 80 compressed, 25 values), with a field of each compact type when asked.</summary>
    private static byte[] DataPageHeader(int crc, bool withEveryType)
    {
        var header = new Compact()
            .Field(1, Types.I32).I32(0)
            .Field(2, Types.I32).I32(100)
            .Field(3, Types.I32).I32(80)
            .Field(4, Types.I32).I32(crc)
            .Field(5, Types.Struct).Begin()
                .Field(1, Types.I32).I32(25)
                .Field(2, Types.I32).I32(0)
                .Field(5, Types.Struct).Begin()
                    .Field(1, Types.Binary).Binary(1, 2, 3, 4)
                    .Field(3, Types.I64).Varint(1UL << 40)
                    .Field(5, Types.Binary).Binary()
                    .Field(7, Types.BooleanTrue)
                .End()
            .End();
        if (withEveryType)
        {
            header
                .Field(6, Types.Struct).Begin().End()
                .Field(20, Types.List).Raw(0x35).I32(1).I32(-2).I32(3)
                .Field(21, Types.List).Raw(0xF8).Varint(20);
            for (var i = 0; i < 20; i++)
            {
                header.Binary((byte)i);
            }

            header
                .Field(22, Types.Map).Varint(2).Raw(0x86).Binary(0x61).Varint(4).Binary(0x62).Varint(6)
                .Field(23, Types.Set).Raw(0x21).Raw(1, 2)
                .Field(24, Types.Double).Raw(0, 0, 0, 0, 0, 0, 0xF0, 0x3F)
                .Field(25, Types.Uuid).Raw(new byte[16])
                .Field(26, Types.Byte).Raw(0x7F)
                .Field(27, Types.I16).Varint(600)
                .Field(28, Types.BooleanFalse)
                .Field(29, Types.Struct).Begin().Field(2, Types.Struct).Begin().Field(300, Types.List).Raw(0x1C).Begin().Field(1, Types.I32).I32(9).End().End().End()
                .Field(30, Types.Map).Varint(0);
        }

        return header.Stop().ToArray();
    }

    /// <summary>Compact protocol types.</summary>
    private static class Types
    {
        public const int BooleanTrue = 1;
        public const int BooleanFalse = 2;
        public const int Byte = 3;
        public const int I16 = 4;
        public const int I32 = 5;
        public const int I64 = 6;
        public const int Double = 7;
        public const int Binary = 8;
        public const int List = 9;
        public const int Set = 10;
        public const int Map = 11;
        public const int Struct = 12;
        public const int Uuid = 13;
    }

    /// <summary>A minimal compact-protocol writer for the tests' headers.</summary>
    private sealed class Compact
    {
        private readonly List<byte> _bytes = [];
        private readonly Stack<int> _outer = new();
        private int _last;

        public Compact Field(int id, int type)
        {
            var delta = id - _last;
            if (delta is > 0 and <= 15)
            {
                _bytes.Add((byte)((delta << 4) | type));
            }
            else
            {
                _bytes.Add((byte)type);
                ZigZag(id);
            }

            _last = id;
            return this;
        }

        public Compact I32(int value) => ZigZag(value);

        public Compact Varint(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.Add((byte)(value | 0x80));
                value >>= 7;
            }

            _bytes.Add((byte)value);
            return this;
        }

        public Compact Binary(params byte[] bytes) => Varint((ulong)bytes.Length).Raw(bytes);

        public Compact Raw(params byte[] bytes)
        {
            _bytes.AddRange(bytes);
            return this;
        }

        /// <summary>Opens a struct (the field header, or the list header, is written already).</summary>
        public Compact Begin()
        {
            _outer.Push(_last);
            _last = 0;
            return this;
        }

        public Compact End()
        {
            _bytes.Add(0);
            _last = _outer.Pop();
            return this;
        }

        public Compact Stop() => Raw(0);

        public byte[] ToArray() => [.. _bytes];

        private Compact ZigZag(long value) => Varint((ulong)((value << 1) ^ (value >> 63)));
    }
}
