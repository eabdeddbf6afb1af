using Workflows.Serving.Hosting;

namespace Workflows.Serving;

/// <summary>Entry point: <c>dotnet run --project src/Workflows.Serving [-- --urls http://127.0.0.1:7072 --Serving:AdminKey=...]</c>.</summary>
internal static class Program
{
    public static async Task Main(string[] args)
    {
        var app = ServingApplication.Build(ServingApplication.CreateBuilder(args));
        await using (app.ConfigureAwait(false))
        {
            await app.RunAsync().ConfigureAwait(false);
        }
    }
}
