using Microsoft.AspNetCore.Http;

namespace Workflows.Serving.Http;

/// <summary>
/// RFC 9457 problem+json answers. Each also carries <c>error</c>, the field the Open Inference Protocol's error
/// response names, so v2 clients read the message where they expect it.
/// </summary>
internal static class Problems
{
    public static IResult Create(int status, string title, string detail, string? errorId = null)
    {
        var extensions = new Dictionary<string, object?> { ["error"] = detail };
        if (errorId is not null)
        {
            extensions["errorId"] = errorId;
        }

        return Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);
    }

    public static IResult BadRequest(string detail) => Create(StatusCodes.Status400BadRequest, "Bad request", detail);

    public static IResult NotFound(string detail) => Create(StatusCodes.Status404NotFound, "Not found", detail);

    public static IResult Unavailable(string detail) => Create(StatusCodes.Status503ServiceUnavailable, "Unavailable", detail);

    public static IResult TooLarge(long limit) =>
        Create(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The request body is over the limit of {limit} bytes (Serving:MaxRequestBodyBytes).");
}
