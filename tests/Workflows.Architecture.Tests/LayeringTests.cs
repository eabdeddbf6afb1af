using System.Reflection;
using Xunit;

namespace Workflows.Architecture.Tests;

/// <summary>
/// The layering rule (docs/architecture.md): a layer only knows the layers below it. Each product assembly may
/// reference only the Workflows assemblies listed for it here, none of the outside frameworks forbidden to it, and
/// its namespaces form no cycle.
/// </summary>
public sealed class LayeringTests
{
    /// <summary>Each product assembly, the Workflows assemblies it may reference, and outside assemblies it must not.</summary>
    public static TheoryData<string, string[], string[]> Layers => new()
    {
        // The engine: no storage SDK, no web framework, nothing above it.
        { "Workflows.Durable", [], ["Azure.", "Microsoft.AspNetCore.", "Workflows."] },
        { "Workflows.Durable.AzureStorage", ["Workflows.Durable", "Workflows.DurableTask"], ["Microsoft.AspNetCore.", "Workflows."] },
        // The official SDK on Durable Task Framework backends: DTFx, the SDK and nothing of ours.
        { "Workflows.DurableTask", [], ["Azure.", "Microsoft.AspNetCore.", "Workflows."] },
        // ML building blocks know no engine, no host, no Azure SDK (that is Workflows.ML.AzureStorage's).
        { "Workflows.ML", [], ["Azure.", "Microsoft.AspNetCore.", "Workflows."] },
        { "Workflows.ML.AzureStorage", ["Workflows.ML"], ["Microsoft.AspNetCore.", "Workflows."] },
        // The prediction service serves the registry's models: it knows the ML building blocks, never the engine, the host or the app.
        { "Workflows.Serving", ["Workflows.ML", "Workflows.ML.AzureStorage"], ["Workflows."] },
        // The host runs the function app and never knows it, nor the ML building blocks the app uses.
        { "Workflows.Host", ["Workflows.Durable", "Workflows.Durable.AzureStorage", "Workflows.DurableTask"], ["Workflows."] },
        { "Workflows.Functions", ["Workflows.Durable", "Workflows.Durable.AzureStorage", "Workflows.DurableTask", "Workflows.ML", "Workflows.ML.AzureStorage", "Workflows.Host"], ["Workflows."] },
        // The durable command line is a client: the host's HTTP API, or the task hub's storage through the backends'
        // clients (ours and DTFx's) under the SDK's client; never the host, the engine's worker side or a web framework.
        { "Workflows.Cli", ["Workflows.Durable.AzureStorage", "Workflows.DurableTask"], ["Microsoft.AspNetCore.", "Workflows."] },
    };

    public static TheoryData<string> Assemblies => new(Layers.Select(row => (string)row[0]));

    [Theory]
    [MemberData(nameof(Layers))]
    public void ProductAssembly_ReferencesOnlyWhatItsLayerAllows(string assembly, string[] allowed, string[] forbiddenPrefixes)
    {
        var violations = Violations(Load(assembly), allowed, forbiddenPrefixes);

        Assert.True(violations.Count == 0, $"{assembly} references what its layer must not know: {string.Join(", ", violations)}");
    }

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void ProductAssembly_HasNoNamespaceCycles(string assembly)
    {
        var graph = NamespaceDependencies.Of(Load(assembly));
        var cycles = NamespaceDependencies.Cycles(graph);

        Assert.True(
            cycles.Count == 0,
            $"Namespaces of {assembly} form cycles:\n" + string.Join("\n", cycles.Select(cycle => string.Join(", ", NamespaceDependencies.Describe(graph, cycle)))));
    }

    [Fact]
    public void Violations_AReferenceOutsideTheAllowedList_IsNamed()
    {
        // The rule itself can fail: the host is not allowed to know the worker here.
        var violations = Violations(Load("Workflows.Host"), allowed: [], forbiddenPrefixes: ["Workflows."]);

        Assert.Contains("Workflows.DurableTask", violations);
    }

    [Fact]
    public void Cycles_TwoNamespacesThatUseEachOtherThroughAMethodBody_AreOneCycle()
    {
        var graph = NamespaceDependencies.Of(typeof(LayeringTests).Assembly, SampleNamespaces);

        var cycles = NamespaceDependencies.Cycles(graph);

        var cycle = Assert.Single(cycles);
        Assert.Equal([typeof(Samples.Cycle.Left.LeftSide).Namespace!, typeof(Samples.Cycle.Right.RightSide).Namespace!], cycle);
    }

    [Fact]
    public void Cycles_ALayeredPair_HasNone()
    {
        var graph = NamespaceDependencies.Of(typeof(LayeringTests).Assembly, ns => ns.StartsWith(typeof(Samples.Layered.Below.Base).Namespace!, StringComparison.Ordinal) || ns.StartsWith(typeof(Samples.Layered.Above.User).Namespace!, StringComparison.Ordinal));

        Assert.Contains(typeof(Samples.Layered.Below.Base).Namespace!, graph[typeof(Samples.Layered.Above.User).Namespace!]);
        Assert.Empty(NamespaceDependencies.Cycles(graph));
    }

    private static bool SampleNamespaces(string ns) => ns.StartsWith(typeof(Samples.Cycle.Left.LeftSide).Namespace![..^".Left".Length], StringComparison.Ordinal);

    private static Assembly Load(string name) => Assembly.Load(new AssemblyName(name));

    private static List<string> Violations(Assembly assembly, string[] allowed, string[] forbiddenPrefixes) =>
        assembly.GetReferencedAssemblies()
            .Select(reference => reference.Name!)
            .Where(name => !allowed.Contains(name, StringComparer.Ordinal)
                && forbiddenPrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal) || name == prefix.TrimEnd('.')))
            .Order(StringComparer.Ordinal)
            .ToList();
}
