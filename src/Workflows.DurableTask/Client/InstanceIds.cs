namespace Workflows.DurableTask.Client;

/// <summary>Rules for instance ids, strict enough for every backend (Azure Table keys, URLs).</summary>
public static class InstanceIds
{
    /// <summary>Longest accepted instance id.</summary>
    public const int MaxLength = 256;

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="instanceId"/> is not usable.</summary>
    public static void Validate(string instanceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        if (instanceId.Length > MaxLength)
        {
            throw new ArgumentException($"Instance ids are at most {MaxLength} characters; got {instanceId.Length}.", nameof(instanceId));
        }

        foreach (var c in instanceId)
        {
            // Azure Table keys forbid / \ # ? and control characters; we forbid them everywhere so ids travel unchanged.
            if (c is '/' or '\\' or '#' or '?' || char.IsControl(c))
            {
                throw new ArgumentException($"Instance id '{instanceId}' contains '{(char.IsControl(c) ? "control character" : c.ToString())}', which is not allowed (/, \\, #, ? and control characters).", nameof(instanceId));
            }
        }
    }
}
