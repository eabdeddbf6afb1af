namespace Workflows.Host.Hosting;

/// <summary>Configuration warnings found before logging exists; logged once the host starts.</summary>
internal sealed class HostStartupWarnings : List<string>;
