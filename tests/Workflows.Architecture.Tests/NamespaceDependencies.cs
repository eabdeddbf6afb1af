using System.Reflection;

namespace Workflows.Architecture.Tests;

/// <summary>
/// The namespaces of one assembly and which of them each one uses: through base types, interfaces, fields,
/// properties, method signatures, attributes, locals and every type, method and field a method body refers to.
/// Compiler-generated nested types (closures, state machines) count for the namespace of the type they are nested in.
/// </summary>
internal static class NamespaceDependencies
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Namespace → the other namespaces of <paramref name="assembly"/> it uses, for the namespaces <paramref name="include"/> keeps.</summary>
    public static Dictionary<string, HashSet<string>> Of(Assembly assembly, Func<string, bool>? include = null)
    {
        include ??= _ => true;
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var type in assembly.GetTypes())
        {
            var from = NamespaceOf(type);
            if (from is null || !include(from))
            {
                continue;
            }

            var edges = graph.TryGetValue(from, out var existing) ? existing : graph[from] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var used in UsedTypes(type))
            {
                foreach (var part in Flatten(used))
                {
                    if (part.Assembly == assembly && NamespaceOf(part) is { } to && to != from && include(to))
                    {
                        edges.Add(to);
                    }
                }
            }
        }

        return graph;
    }

    /// <summary>The cycles among <paramref name="graph"/>'s nodes: each strongly connected component of more than one node, sorted.</summary>
    public static List<List<string>> Cycles(Dictionary<string, HashSet<string>> graph)
    {
        // Tarjan's algorithm.
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var components = new List<List<string>>();
        var next = 0;

        void Visit(string node)
        {
            index[node] = low[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var target in graph.TryGetValue(node, out var targets) ? targets : [])
            {
                if (!index.TryGetValue(target, out var targetIndex))
                {
                    Visit(target);
                    low[node] = Math.Min(low[node], low[target]);
                }
                else if (onStack.Contains(target))
                {
                    low[node] = Math.Min(low[node], targetIndex);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);

                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    components.Add(component);
                }
            }
        }

        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return components;
    }

    /// <summary>One edge of each cycle member into the cycle, as "A -> B", to say where to look.</summary>
    public static IEnumerable<string> Describe(Dictionary<string, HashSet<string>> graph, List<string> cycle) =>
        cycle.SelectMany(from => graph[from].Where(cycle.Contains).Order(StringComparer.Ordinal).Select(to => $"{from} -> {to}"));

    private static string? NamespaceOf(Type type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return string.IsNullOrEmpty(type.Namespace) ? null : type.Namespace;
    }

    private static IEnumerable<Type> Flatten(Type type)
    {
        if (type.HasElementType)
        {
            foreach (var inner in Flatten(type.GetElementType()!))
            {
                yield return inner;
            }

            yield break;
        }

        if (type.IsGenericParameter)
        {
            yield break;
        }

        yield return type.IsConstructedGenericType ? type.GetGenericTypeDefinition() : type;
        if (type.IsConstructedGenericType)
        {
            foreach (var argument in type.GetGenericArguments().SelectMany(Flatten))
            {
                yield return argument;
            }
        }
    }

    private static IEnumerable<Type> UsedTypes(Type type)
    {
        if (type.BaseType is { } baseType)
        {
            yield return baseType;
        }

        foreach (var contract in type.GetInterfaces())
        {
            yield return contract;
        }

        foreach (var attribute in type.GetCustomAttributesData())
        {
            yield return attribute.AttributeType;
        }

        foreach (var field in type.GetFields(Declared))
        {
            yield return field.FieldType;
        }

        foreach (var property in type.GetProperties(Declared))
        {
            yield return property.PropertyType;
        }

        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (method is MethodInfo { ReturnType: var returnType })
            {
                yield return returnType;
            }

            foreach (var parameter in method.GetParameters())
            {
                yield return parameter.ParameterType;
            }

            foreach (var attribute in method.GetCustomAttributesData())
            {
                yield return attribute.AttributeType;
            }

            foreach (var used in BodyTypes(method))
            {
                yield return used;
            }
        }
    }

    private static IEnumerable<Type> BodyTypes(MethodBase method)
    {
        foreach (var local in method.GetMethodBody()?.LocalVariables ?? [])
        {
            yield return local.LocalType;
        }

        foreach (var member in IlReader.ReferencedMembers(method))
        {
            switch (member)
            {
                case Type type:
                    yield return type;
                    break;
                case FieldInfo field:
                    yield return field.DeclaringType!;
                    yield return field.FieldType;
                    break;
                case MethodBase called:
                    if (called.DeclaringType is { } owner)
                    {
                        yield return owner;
                    }

                    if (called is MethodInfo { ReturnType: var returnType })
                    {
                        yield return returnType;
                    }

                    if (called.IsGenericMethod)
                    {
                        foreach (var argument in called.GetGenericArguments())
                        {
                            yield return argument;
                        }
                    }

                    break;
            }
        }
    }
}
