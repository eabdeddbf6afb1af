using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.DurableTask;

namespace Workflows.Architecture.Tests;

/// <summary>
/// Orchestrator code is replayed, so it must be deterministic (docs/engine.md): it reads time, new ids and timers from
/// its context, and leaves I/O to activities. This finds the orchestrators of an assembly (classes implementing
/// <see cref="ITaskOrchestrator"/>, methods with an <c>[OrchestrationTrigger]</c> parameter), follows everything they
/// run in that assembly (their state machines, lambdas and helpers), and names each banned API it reaches.
/// </summary>
internal static class OrchestratorDeterminism
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Members that differ between a run and its replay, by declaring type and name.</summary>
    private static readonly HashSet<(string Type, string Member)> BannedMembers =
    [
        ("System.DateTime", "get_Now"),
        ("System.DateTime", "get_UtcNow"),
        ("System.DateTime", "get_Today"),
        ("System.DateTimeOffset", "get_Now"),
        ("System.DateTimeOffset", "get_UtcNow"),
        ("System.Guid", "NewGuid"),
        ("System.Guid", "CreateVersion7"),
        ("System.Threading.Tasks.Task", "Delay"),
        ("System.Threading.Tasks.Task", "Run"),
        ("System.Threading.Thread", "Sleep"),
        ("System.TimeProvider", "get_System"),
        ("System.Environment", "GetEnvironmentVariable"),
    ];

    /// <summary>Types none of whose members orchestrator code may use: randomness and direct I/O.</summary>
    private static readonly HashSet<string> BannedTypes =
    [
        "System.Random",
        "System.IO.File",
        "System.IO.Directory",
        "System.IO.FileInfo",
        "System.IO.DirectoryInfo",
        "System.IO.FileStream",
        "System.IO.StreamReader",
        "System.IO.StreamWriter",
        "System.Net.Http.HttpClient",
        "System.Net.Sockets.Socket",
        "System.Net.Sockets.TcpClient",
    ];

    /// <summary>"orchestrator: method uses API" for each banned API the orchestrators of <paramref name="assembly"/> reach.</summary>
    public static List<string> Violations(Assembly assembly)
    {
        var violations = new List<string>();
        foreach (var (orchestrator, entryPoints) in Orchestrators(assembly))
        {
            var seen = new HashSet<MethodBase>();
            var pending = new Stack<MethodBase>(entryPoints);
            while (pending.TryPop(out var method))
            {
                if (!seen.Add(method))
                {
                    continue;
                }

                if (method.GetCustomAttribute<StateMachineAttribute>() is { } stateMachine
                    && stateMachine.StateMachineType.GetMethod(nameof(IAsyncStateMachine.MoveNext), Declared) is { } moveNext)
                {
                    pending.Push(moveNext);
                }

                foreach (var member in IlReader.ReferencedMembers(method))
                {
                    if (Banned(member) is { } banned)
                    {
                        violations.Add($"{orchestrator}: {Describe(method)} uses {banned}");
                    }
                    else if (member is MethodBase called && called.Module == assembly.ManifestModule)
                    {
                        pending.Push(called is MethodInfo { IsGenericMethod: true, IsGenericMethodDefinition: false } generic ? generic.GetGenericMethodDefinition() : called);
                    }
                }
            }
        }

        return violations.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Each orchestrator of <paramref name="assembly"/> by name, with the methods its code starts in.</summary>
    public static IEnumerable<(string Name, MethodBase[] EntryPoints)> Orchestrators(Assembly assembly)
    {
        foreach (var type in assembly.GetTypes())
        {
            if (!type.IsAbstract && typeof(ITaskOrchestrator).IsAssignableFrom(type))
            {
                yield return (type.FullName!, type.GetMethods(Declared).Cast<MethodBase>().ToArray());
                continue;
            }

            foreach (var method in type.GetMethods(Declared))
            {
                if (method.GetParameters().Any(parameter => parameter.GetCustomAttributesData().Any(attribute => attribute.AttributeType.Name == "OrchestrationTriggerAttribute")))
                {
                    yield return ($"{type.FullName}.{method.Name}", [method]);
                }
            }
        }
    }

    private static string? Banned(MemberInfo member)
    {
        var owner = member as Type ?? member.DeclaringType;
        if (owner is null)
        {
            return null;
        }

        var ownerName = (owner.IsConstructedGenericType ? owner.GetGenericTypeDefinition() : owner).FullName ?? owner.Name;
        if (BannedTypes.Contains(ownerName))
        {
            return member is Type ? ownerName : $"{ownerName}.{member.Name}";
        }

        return BannedMembers.Contains((ownerName, member.Name)) ? $"{ownerName}.{member.Name}" : null;
    }

    /// <summary>"Type.Method" of the source method: a state machine's MoveNext is named for the async method it runs.</summary>
    private static string Describe(MethodBase method)
    {
        var type = method.DeclaringType!;
        var name = type.Name.StartsWith('<') && type.Name.IndexOf('>', StringComparison.Ordinal) is > 1 and var end ? type.Name[1..end] : method.Name;
        while (type.DeclaringType is not null && type.Name.StartsWith('<'))
        {
            type = type.DeclaringType;
        }

        return $"{type.Name}.{name}";
    }
}
