using System.Buffers.Text;
using System.Text;

namespace Workflows.Durable.Storage;

/// <summary>
/// The form of query continuation tokens: a provider's position (its own text) behind a marker, base64url-encoded.
/// Decoding refuses any text that was not produced by <see cref="Encode"/>, so a client's stray or truncated token is
/// an error rather than a position in the middle of nowhere (an empty page).
/// </summary>
public static class ContinuationTokens
{
    private const string Marker = "wf1.";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The token for <paramref name="position"/> (non-empty).</summary>
    public static string Encode(string position)
    {
        ArgumentException.ThrowIfNullOrEmpty(position);
        return Marker + Base64Url.EncodeToString(StrictUtf8.GetBytes(position));
    }

    /// <summary>The position in <paramref name="token"/>.</summary>
    /// <exception cref="InvalidContinuationTokenException">The token was not produced by <see cref="Encode"/>.</exception>
    public static string Decode(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!token.StartsWith(Marker, StringComparison.Ordinal) || token.Length == Marker.Length)
        {
            throw new InvalidContinuationTokenException();
        }

        try
        {
            return StrictUtf8.GetString(Base64Url.DecodeFromChars(token.AsSpan(Marker.Length)));
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException)
        {
            throw new InvalidContinuationTokenException("The continuation token is not one this task hub issued.", exception);
        }
    }
}
