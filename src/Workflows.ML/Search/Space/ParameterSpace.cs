using System.Text;
using Workflows.ML.Numerics;

namespace Workflows.ML.Search.Space;

/// <summary>
/// A search space: named parameters with their distributions. <see cref="CandidateAt"/> draws candidate
/// <c>i</c> from (seed, i) alone, so any worker, in any process and .NET version, derives the same candidate
/// without the others.
/// </summary>
/// <param name="Parameters">The parameters; names must be unique (ordinal).</param>
public sealed record ParameterSpace(IReadOnlyList<ParameterDefinition> Parameters)
{
    /// <summary>Throws <see cref="ArgumentException"/> for an empty space, a repeated name or an invalid parameter (named).</summary>
    public void Validate()
    {
        if (Parameters is null || Parameters.Count == 0)
        {
            throw new ArgumentException("The search space is empty: give at least one parameter.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var parameter in Parameters)
        {
            ArgumentNullException.ThrowIfNull(parameter);
            parameter.Validate();
            if (!names.Add(parameter.Name))
            {
                throw new ArgumentException($"Search-space parameter '{parameter.Name}' is defined twice.");
            }
        }
    }

    /// <summary>Candidates 0..<paramref name="count"/>-1 of <paramref name="seed"/>.</summary>
    public IReadOnlyList<Candidate> Sample(long seed, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Validate();
        var candidates = new Candidate[count];
        for (var i = 0; i < count; i++)
        {
            candidates[i] = Draw(seed, i);
        }

        return candidates;
    }

    /// <summary>
    /// Candidate <paramref name="index"/> of <paramref name="seed"/>. Each parameter draws from its own stream, keyed
    /// by (seed, a stable hash of its name, index): adding a parameter to the space leaves the others' values as they were.
    /// </summary>
    public Candidate CandidateAt(long seed, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Validate();
        return Draw(seed, index);
    }

    private Candidate Draw(long seed, int index)
    {
        var values = new SortedDictionary<string, ParameterValue>(StringComparer.Ordinal);
        foreach (var parameter in Parameters)
        {
            var random = new Xoshiro256StarStar(seed ^ (long)NameHash(parameter.Name), index);
            values.Add(parameter.Name, Draw(parameter, ref random));
        }

        return new Candidate(index, values);
    }

    private static ParameterValue Draw(ParameterDefinition parameter, ref Xoshiro256StarStar random)
    {
        var u = random.NextDouble();
        switch (parameter.Kind)
        {
            case ParameterKind.Uniform:
            {
                var (low, high) = (parameter.Min!.Value, parameter.Max!.Value);
                return ParameterValue.Of(Math.Min(high, low + (u * (high - low))));
            }

            case ParameterKind.LogUniform:
            {
                var (low, high) = (Math.Log(parameter.Min!.Value), Math.Log(parameter.Max!.Value));
                return ParameterValue.Of(Math.Clamp(Math.Exp(low + (u * (high - low))), parameter.Min.Value, parameter.Max.Value));
            }

            case ParameterKind.IntRange:
            {
                var (low, high) = ((long)parameter.Min!.Value, (long)parameter.Max!.Value);
                long value;
                if (parameter.Log)
                {
                    // Log-uniform over [low, high + 1), floored: each integer k gets the mass of [k, k + 1) on a log scale.
                    var (logLow, logHigh) = (Math.Log(low), Math.Log(high + 1.0));
                    value = Math.Clamp((long)Math.Floor(Math.Exp(logLow + (u * (logHigh - logLow)))), low, high);
                }
                else
                {
                    value = Math.Min(high, low + (long)Math.Floor(u * (high - low + 1)));
                }

                return ParameterValue.Of(value);
            }

            case ParameterKind.Choice:
            {
                var choices = parameter.Choices!;
                return choices[Math.Min(choices.Count - 1, (int)Math.Floor(u * choices.Count))];
            }

            default:
                throw new ArgumentException($"Search-space parameter '{parameter.Name}': unknown kind {parameter.Kind}.");
        }
    }

    /// <summary>FNV-1a over the name's UTF-8 bytes: fixed forever, unlike <see cref="string.GetHashCode()"/>.</summary>
    private static ulong NameHash(string name)
    {
        var hash = 0xCBF29CE484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * 0x100000001B3UL;
        }

        return hash;
    }
}
