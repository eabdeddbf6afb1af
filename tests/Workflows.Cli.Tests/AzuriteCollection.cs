using Workflows.Testing;
using Xunit;

namespace Workflows.Cli.Tests;

/// <summary>The tests of this assembly that share one Azurite.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
