using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Workflows.Serving.Protocol;

namespace Workflows.Serving.Http;

/// <summary>Reads a whole request body from the request's pipe, within the size limit, and hands it to a parser without copying it.</summary>
internal static class RequestBody
{
    public delegate T Parser<out T>(ReadOnlySequence<byte> body);

    public static async Task<T> ParseAsync<T>(HttpRequest request, long limit, Parser<T> parse)
    {
        var reader = request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
            var buffer = read.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                throw new ServingException(StatusCodes.Status413PayloadTooLarge, "too_large", $"The request body is over the limit of {limit} bytes (Serving:MaxRequestBodyBytes).");
            }

            if (read.IsCompleted)
            {
                try
                {
                    return parse(buffer);
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads the body as JSON into <typeparamref name="T"/> (small admin and feedback bodies).</summary>
    public static Task<T> ReadJsonAsync<T>(HttpRequest request, long limit) =>
        ParseAsync(request, limit, body =>
        {
            var reader = new Utf8JsonReader(body);
            return JsonSerializer.Deserialize<T>(ref reader, Json)
                ?? throw new InputException("The request body must be a JSON object.");
        });

    /// <summary>camelCase, as the rest of the service's own JSON.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}
