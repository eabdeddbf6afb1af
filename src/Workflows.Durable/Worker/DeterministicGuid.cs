using System.Security.Cryptography;
using System.Text;

namespace Workflows.Durable.Worker;

/// <summary>Name-based version 5 UUIDs (RFC 9562 §5.5), the deterministic GUIDs of orchestrations.</summary>
internal static class DeterministicGuid
{
    /// <summary>The namespace of orchestration GUIDs (a fixed random UUID).</summary>
    private static readonly Guid Namespace = new("9e952958-5e33-4daf-827f-2fa12937b875");

    public static Guid Create(string name)
    {
        Span<byte> namespaceBytes = stackalloc byte[16];
        Namespace.TryWriteBytes(namespaceBytes, bigEndian: true, out _);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        namespaceBytes.CopyTo(input);
        nameBytes.CopyTo(input, 16);

        // RFC 9562 defines version 5 over SHA-1; it names, it does not protect anything.
#pragma warning disable CA5350
        var hash = SHA1.HashData(input);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
