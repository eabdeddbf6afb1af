using Xunit;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// The tests that run the host executable from the repository root (<see cref="FunctionAppProcesses"/>): one at a time,
/// because a host starting in a folder stops the workers that dead hosts left there, and one test's killed host must
/// stay the only one its next host cleans up after.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RepositoryRootHosts
{
    public const string Name = "Hosts in the repository root";
}
