using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Workflows.Cli;

/// <summary>
/// The <c>durable</c> command line: Azure Functions Core Tools' <c>func durable</c> commands, run against a host's
/// Durable Functions HTTP API (HTTP and JSON only, whatever backend the host runs).
/// </summary>
internal static class DurableCli
{
    public const string DefaultUrl = "http://127.0.0.1:7071";
    public const string UrlVariable = "DURABLE_URL";
    public const string KeyVariable = "DURABLE_KEY";

    /// <summary>
    /// Parses <paramref name="args"/> and runs the command, writing to <paramref name="stdout"/> and
    /// <paramref name="stderr"/>; returns the exit code (<see cref="ExitCodes"/>). <paramref name="handler"/>, when
    /// given, carries the HTTP requests.
    /// </summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, HttpMessageHandler? handler = null, CancellationToken cancellationToken = default)
    {
        var root = new DurableCommands(stdout, stderr, handler).Root;
        // '@path' is an option value here (--input @file), never a response file.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        return parse.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr }, cancellationToken);
    }

    /// <summary>The command tree, its options and the actions that run each command.</summary>
    private sealed class DurableCommands
    {
        private readonly TextWriter _stdout;
        private readonly TextWriter _stderr;
        private readonly HttpMessageHandler? _handler;

        private readonly Option<string?> _url = new("--url")
        {
            Description = $"The host's base URL (default: ${UrlVariable}, else {DefaultUrl})",
            Recursive = true,
        };

        private readonly Option<string?> _key = new("--key")
        {
            Description = $"The master key, or DF's durabletask_extension system key (default: ${KeyVariable}); never printed",
            Recursive = true,
        };

        private readonly Option<string> _output = new("--output", "-o")
        {
            Description = "table, or json: the API's JSON, one document on standard output, for scripts",
            DefaultValueFactory = static _ => "table",
            Recursive = true,
        };

        public DurableCommands(TextWriter stdout, TextWriter stderr, HttpMessageHandler? handler)
        {
            _stdout = stdout;
            _stderr = stderr;
            _handler = handler;
            _output.AcceptOnlyFromAmong("table", "json");
            Root = new RootCommand("Manages durable orchestration instances on a running host through the Durable Functions HTTP API (as 'func durable').")
            {
                _url, _key, _output,
                StartNew(), GetInstances(), GetRuntimeStatus(), GetHistory(), RaiseEvent(),
                Operation("terminate", "Terminates a running instance.", "Terminated"),
                Operation("suspend", "Suspends a running instance.", "Suspended"),
                Operation("resume", "Resumes a suspended instance.", "Resumed"),
                Operation("rewind", "Rewinds a failed instance: its failed steps run again.", "Rewound"),
                PurgeHistory(),
            };
        }

        public RootCommand Root { get; }

        private static Option<string> RequiredId(string description) => new("--id") { Description = description, Required = true };

        private static string Escape(string segment) => Uri.EscapeDataString(segment);

        private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

        private static string Query(IEnumerable<(string Name, string? Value)> parameters)
        {
            var query = new StringBuilder();
            foreach (var (name, value) in parameters)
            {
                if (value is null)
                {
                    continue;
                }

                query.Append(query.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }

            return query.ToString();
        }

        private Command StartNew()
        {
            var functionName = new Option<string>("--function-name") { Description = "The orchestrator function to start", Required = true };
            var id = new Option<string?>("--id") { Description = "The instance id (default: the host makes one)" };
            var input = new Option<string?>("--input") { Description = "The input: JSON, or @path to a file holding JSON" };
            var wait = new Option<bool>("--wait") { Description = "Wait for the instance to finish, showing its customStatus; exit 0 only when it completed" };
            var timeout = new Option<int?>("--timeout") { Description = "With --wait: stop waiting after this many seconds (exit 3)" };
            timeout.Validators.Add(static result =>
            {
                if (result.GetValueOrDefault<int?>() is <= 0)
                {
                    result.AddError("--timeout must be a positive number of seconds.");
                }
            });
            var command = new Command("start-new", "Starts a new instance of an orchestrator function.") { functionName, id, input, wait, timeout };
            SetAction(command, async (context, parse, cancellationToken) =>
            {
                var name = parse.GetRequiredValue(functionName);
                var body = JsonInput.Read(parse.GetValue(input), "--input");
                var path = "orchestrators/" + Escape(name) + (parse.GetValue(id) is { } chosen ? "/" + Escape(chosen) : string.Empty);
                var answer = await context.Api.SendAsync(HttpMethod.Post, path, body, null, cancellationToken);
                var instanceId = Views.Text(answer.Json(), "id");
                if (parse.GetValue(wait))
                {
                    var limit = parse.GetValue(timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
                    return await InstanceWaiter.WaitAsync(context, instanceId, limit, cancellationToken);
                }

                if (context.Json)
                {
                    context.Out.WriteLine(Views.RedactKeys(answer.Body));
                }
                else
                {
                    context.Out.WriteLine($"Started '{name}' as instance '{instanceId}'.");
                    context.Out.WriteLine($"Status: durable get-runtime-status --id {instanceId}");
                }

                return ExitCodes.Success;
            });
            return command;
        }

        private Command GetInstances()
        {
            var runtimeStatus = new Option<string[]>("--runtime-status") { Description = "Only instances in these states (Running, Completed, Failed, ...)", AllowMultipleArgumentsPerToken = true };
            var createdAfter = new Option<DateTimeOffset?>("--created-after") { Description = "Only instances created at or after this time (ISO 8601)" };
            var createdBefore = new Option<DateTimeOffset?>("--created-before") { Description = "Only instances created at or before this time (ISO 8601)" };
            var idPrefix = new Option<string?>("--id-prefix") { Description = "Only instances whose id starts with this" };
            var top = new Option<int?>("--top") { Description = "Instances per page (the host's default: 100)" };
            var continuation = new Option<string?>("--continuation-token") { Description = "The token a previous page printed, for the next page" };
            var command = new Command("get-instances", "Lists instances, one page at a time.") { runtimeStatus, createdAfter, createdBefore, idPrefix, top, continuation };
            SetAction(command, async (context, parse, cancellationToken) =>
            {
                var statuses = parse.GetValue(runtimeStatus) ?? [];
                var query = Query(
                [
                    ("runtimeStatus", statuses.Length == 0 ? null : string.Join(',', statuses)),
                    ("createdTimeFrom", parse.GetValue(createdAfter) is { } from ? Time(from) : null),
                    ("createdTimeTo", parse.GetValue(createdBefore) is { } to ? Time(to) : null),
                    ("instanceIdPrefix", parse.GetValue(idPrefix)),
                    ("top", parse.GetValue(top)?.ToString(CultureInfo.InvariantCulture)),
                ]);
                var answer = await context.Api.SendAsync(HttpMethod.Get, "instances" + query, null, null, cancellationToken, parse.GetValue(continuation));
                if (context.Json)
                {
                    context.Out.WriteLine(answer.Body);
                    if (answer.ContinuationToken is { } token)
                    {
                        context.Error.WriteLine($"continuation-token: {token}");
                    }

                    return ExitCodes.Success;
                }

                Views.Instances(context.Console, answer.Json());
                if (answer.ContinuationToken is { } next)
                {
                    context.Out.WriteLine($"Next page: --continuation-token {next}");
                }

                return ExitCodes.Success;
            });
            return command;
        }

        private Command GetRuntimeStatus()
        {
            var id = RequiredId("The instance id");
            var showInput = new Option<bool>("--show-input") { Description = "Show the instance's input" };
            var showOutput = new Option<bool>("--show-output") { Description = "Show the instance's output" };
            var command = new Command("get-runtime-status", "Shows an instance's status.") { id, showInput, showOutput };
            SetAction(command, async (context, parse, cancellationToken) =>
            {
                var instanceId = parse.GetRequiredValue(id);
                var withInput = parse.GetValue(showInput);
                var answer = await context.Api.SendAsync(
                    HttpMethod.Get, DurableApiClient.InstancePath(instanceId) + Query([("showInput", withInput ? "true" : "false")]), null, instanceId, cancellationToken);
                if (context.Json)
                {
                    context.Out.WriteLine(answer.Body);
                }
                else
                {
                    Views.Status(context.Console, answer.Json(), withInput, parse.GetValue(showOutput));
                }

                return ExitCodes.Success;
            });
            return command;
        }

        private Command GetHistory()
        {
            var id = RequiredId("The instance id");
            var command = new Command("get-history", "Shows an instance's history events, inputs and results included.") { id };
            SetAction(command, async (context, parse, cancellationToken) =>
            {
                var instanceId = parse.GetRequiredValue(id);
                var answer = await context.Api.SendAsync(
                    HttpMethod.Get, DurableApiClient.InstancePath(instanceId) + "?showHistory=true&showHistoryOutput=true", null, instanceId, cancellationToken);
                if (context.Json)
                {
                    context.Out.WriteLine(answer.Body);
                }
                else
                {
                    Views.History(context.Console, answer.Json());
                }

                return ExitCodes.Success;
            });
            return command;
        }

        private Command RaiseEvent()
        {
            var id = RequiredId("The instance id");
            var eventName = new Option<string>("--event-name") { Description = "The event's name", Required = true };
            var eventData = new Option<string?>("--event-data") { Description = "The event's data: JSON, or @path to a file holding JSON" };
            var command = new Command("raise-event", "Sends an event to a running instance.") { id, eventName, eventData };
            SetAction(command, async (context, parse, cancellationToken) =>
            {
                var instanceId = parse.GetRequiredValue(id);
                var name = parse.GetRequiredValue(eventName);
                var body = JsonInput.Read(parse.GetValue(eventData), "--event-data");
                await context.Api.SendAsync(HttpMethod.Post, $"{DurableApiClient.InstancePath(instanceId)}/raiseEvent/{Escape(name)}", body, instanceId, cancellationToken);
                Accepted(context, instanceId, "raiseEvent", $"Raised event '{name}' on instance '{instanceId}'.");
                return ExitCodes.Success;
            });
            return command;
        }

        /// <summary>terminate, suspend, resume, rewind: <c>POST instances/{id}/{operation}[?reason=...]</c>.</summary>
        private Command Operation(string name, string description, string done)
        {
            var id = RequiredId("The instance id");
            var reason = new Option<string?>("--reason") { Description = "Why; recorded in the instance's history" };
            var command = new Command(name, description) { id, reason };
            SetAction(command, async (context, parse, cancellationToken) =>
            {
                var instanceId = parse.GetRequiredValue(id);
                await context.Api.SendAsync(
                    HttpMethod.Post, $"{DurableApiClient.InstancePath(instanceId)}/{name}{Query([("reason", parse.GetValue(reason))])}", null, instanceId, cancellationToken);
                Accepted(context, instanceId, name, $"{done} instance '{instanceId}' (the host has taken the request; the instance acts on it next).");
                return ExitCodes.Success;
            });
            return command;
        }

        private Command PurgeHistory()
        {
            var id = new Option<string?>("--id") { Description = "Purge this finished instance" };
            var runtimeStatus = new Option<string[]>("--runtime-status") { Description = "Purge finished instances in these states", AllowMultipleArgumentsPerToken = true };
            var createdAfter = new Option<DateTimeOffset?>("--created-after") { Description = "Purge instances created at or after this time (ISO 8601)" };
            var createdBefore = new Option<DateTimeOffset?>("--created-before") { Description = "Purge instances created at or before this time (ISO 8601)" };
            var command = new Command("purge-history", "Deletes finished instances and their history: one by --id, or all that match the filters.") { id, runtimeStatus, createdAfter, createdBefore };
            command.Validators.Add(result =>
            {
                if (result.GetResult(id) is not null && (result.GetResult(runtimeStatus) ?? result.GetResult(createdAfter) ?? result.GetResult(createdBefore)) is not null)
                {
                    result.AddError("--id purges one instance; it cannot be combined with --runtime-status, --created-after or --created-before.");
                }
            });
            SetAction(command, async (context, parse, cancellationToken) =>
            {
                int deleted;
                string body;
                if (parse.GetValue(id) is { } instanceId)
                {
                    var answer = await context.Api.SendAsync(HttpMethod.Delete, DurableApiClient.InstancePath(instanceId), null, instanceId, cancellationToken);
                    (deleted, body) = (Deleted(answer), answer.Body);
                }
                else
                {
                    var statuses = parse.GetValue(runtimeStatus) ?? [];
                    var query = Query(
                    [
                        ("runtimeStatus", statuses.Length == 0 ? null : string.Join(',', statuses)),
                        ("createdTimeFrom", parse.GetValue(createdAfter) is { } from ? Time(from) : null),
                        ("createdTimeTo", parse.GetValue(createdBefore) is { } to ? Time(to) : null),
                    ]);
                    try
                    {
                        var answer = await context.Api.SendAsync(HttpMethod.Delete, "instances" + query, null, null, cancellationToken);
                        (deleted, body) = (Deleted(answer), answer.Body);
                    }
                    catch (CliException exception) when (exception.ExitCode == ExitCodes.NotFound)
                    {
                        // The API answers 404 when no finished instance matches: nothing to purge is not an error here.
                        (deleted, body) = (0, new JsonObject { ["instancesDeleted"] = 0 }.ToJsonString());
                    }
                }

                context.Out.WriteLine(context.Json ? body : $"Purged {deleted} instance{(deleted == 1 ? string.Empty : "s")}.");
                return ExitCodes.Success;
            });
            return command;
        }

        private static int Deleted(ApiAnswer answer) =>
            answer.Json() is { ValueKind: JsonValueKind.Object } json && json.TryGetProperty("instancesDeleted", out var count) && count.TryGetInt32(out var value) ? value : 0;

        /// <summary>The API answers these operations 202 with no body; JSON output states what was accepted.</summary>
        private static void Accepted(CliContext context, string instanceId, string operation, string message) =>
            context.Out.WriteLine(context.Json
                ? new JsonObject { ["instanceId"] = instanceId, ["operation"] = operation, ["accepted"] = true }.ToJsonString()
                : message);

        /// <summary>Runs <paramref name="run"/> as the command's action: a <see cref="CliException"/> is one line on standard error and its exit code.</summary>
        private void SetAction(Command command, Func<CliContext, ParseResult, CancellationToken, Task<int>> run) =>
            command.SetAction(async (parse, cancellationToken) =>
            {
                try
                {
                    using var api = new DurableApiClient(HostUrl(parse), Key(parse), _handler);
                    var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(_stdout) });
                    if (!console.Profile.Out.IsTerminal)
                    {
                        // Redirected output: wide enough that ids and times stay on one line.
                        console.Profile.Width = 240;
                    }

                    return await run(new CliContext(api, console, _stdout, _stderr, parse.GetValue(_output) == "json"), parse, cancellationToken);
                }
                catch (CliException exception)
                {
                    await _stderr.WriteLineAsync($"durable: {exception.Message}");
                    return exception.ExitCode;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    await _stderr.WriteLineAsync("durable: stopped");
                    return ExitCodes.Canceled;
                }
            });

        private Uri HostUrl(ParseResult parse)
        {
            var text = parse.GetValue(_url) is { Length: > 0 } given ? given
                : Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultUrl;
            return Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
                ? url
                : throw new CliException(ExitCodes.Usage, $"--url must be an absolute http or https URL; got '{text}'");
        }

        private string? Key(ParseResult parse) =>
            parse.GetValue(_key) is { Length: > 0 } key ? key : Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
    }
}
