using Microsoft.AspNetCore.Http;

namespace Workflows.Host.Http;

/// <summary>RFC 9457 problem+json answers.</summary>
internal static class Problems
{
    public static IResult Create(int status, string title, string detail, string? errorId = null) =>
        Results.Problem(
            detail: detail,
            statusCode: status,
            title: title,
            extensions: errorId is null ? null : new Dictionary<string, object?> { ["errorId"] = errorId });

    public static IResult BadRequest(string detail) => Create(StatusCodes.Status400BadRequest, "Bad request", detail);

    public static IResult NotFound(string detail) => Create(StatusCodes.Status404NotFound, "Not found", detail);
}
