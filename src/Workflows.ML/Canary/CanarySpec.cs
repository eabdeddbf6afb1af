namespace Workflows.ML.Canary;

/// <summary>
/// A canary promotion of a model version: the steps that move traffic from the stable version to the candidate and
/// the checks analysed after each step.
/// </summary>
/// <param name="Model">The registered model's name.</param>
/// <param name="StableVersion">The version serving now.</param>
/// <param name="CandidateVersion">The version to promote.</param>
/// <param name="Steps">Traffic steps; weights increase and the last is 100.</param>
/// <param name="Checks">The analysis's checks.</param>
public sealed record CanarySpec(
    string Model,
    int StableVersion,
    int CandidateVersion,
    IReadOnlyList<CanaryStep> Steps,
    IReadOnlyList<CanaryCheck> Checks)
{
    /// <summary>Every problem of the spec, each naming its field (<c>steps[2].weight</c>, <c>checks[0].threshold</c>); empty when it is valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Model))
        {
            errors.Add("model: a canary needs the model's name.");
        }

        if (StableVersion < 1)
        {
            errors.Add($"stableVersion: versions start at 1; got {StableVersion}.");
        }

        if (CandidateVersion < 1)
        {
            errors.Add($"candidateVersion: versions start at 1; got {CandidateVersion}.");
        }

        if (CandidateVersion == StableVersion)
        {
            errors.Add($"candidateVersion: the candidate must differ from the stable version ({StableVersion}).");
        }

        ValidateSteps(errors);
        ValidateChecks(errors);
        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem <see cref="Validate"/> finds.</summary>
    public void EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid canary spec: " + string.Join(" ", errors));
        }
    }

    private void ValidateSteps(List<string> errors)
    {
        if (Steps is null || Steps.Count == 0)
        {
            errors.Add("steps: a canary needs at least one step, the last at weight 100.");
            return;
        }

        for (var i = 0; i < Steps.Count; i++)
        {
            var step = Steps[i];
            if (step is null)
            {
                errors.Add($"steps[{i}]: missing.");
                continue;
            }

            if (step.Weight is < 0 or > 100)
            {
                errors.Add($"steps[{i}].weight: must be between 0 and 100; got {step.Weight}.");
            }
            else if (i > 0 && Steps[i - 1] is { } previous && step.Weight <= previous.Weight)
            {
                errors.Add($"steps[{i}].weight: weights must increase; {step.Weight} follows {previous.Weight}.");
            }

            if (step.Pause < TimeSpan.Zero)
            {
                errors.Add($"steps[{i}].pause: must not be negative; got {step.Pause}.");
            }
        }

        if (Steps[^1] is { Weight: not 100 } last)
        {
            errors.Add($"steps[{Steps.Count - 1}].weight: the last step must send 100 % of traffic to the candidate; got {last.Weight}.");
        }
    }

    private void ValidateChecks(List<string> errors)
    {
        if (Checks is null || Checks.Count == 0)
        {
            errors.Add("checks: a canary needs at least one check to decide between promotion and rollback.");
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Checks.Count; i++)
        {
            if (Checks[i] is not { } check)
            {
                errors.Add($"checks[{i}]: missing.");
                continue;
            }

            errors.AddRange(check.Validate($"checks[{i}]"));
            if (!string.IsNullOrWhiteSpace(check.Name) && !names.Add(check.Name))
            {
                errors.Add($"checks[{i}].name: '{check.Name}' is used by an earlier check.");
            }
        }
    }
}
