using Workflows.Durable.Conformance;
using Workflows.Durable.InMemory;
using Workflows.Durable.Storage;

namespace Workflows.Durable.Tests.InMemory;

public sealed class InMemoryStorageProviderConformanceTests : StorageProviderConformanceTests
{
    protected override Task<IStorageProvider> CreateProviderAsync() => Task.FromResult<IStorageProvider>(new InMemoryStorageProvider());
}

public sealed class InMemoryOrchestrationConformanceTests : OrchestrationConformanceTests
{
    protected override Task<IStorageProvider> CreateProviderAsync() => Task.FromResult<IStorageProvider>(new InMemoryStorageProvider());
}
