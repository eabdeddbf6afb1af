using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Workflows.Cli;

/// <summary>
/// The <c>durable</c> command line: Azure Functions Core Tools' <c>func durable</c> commands, run against a host's
/// Durable Functions HTTP API (the HTTP mode, the default) or straight against the task hub's storage (the storage
/// mode, chosen by <c>--connection-string-setting</c>, <c>--task-hub-name</c> or <c>--storage-provider</c>).
/// </summary>
internal static class DurableCli
{
    public const string DefaultUrl = "http://127.0.0.1:7071";
    public const string UrlVariable = "DURABLE_URL";
    public const string KeyVariable = "DURABLE_KEY";

    /// <summary>
    /// Parses <paramref name="args"/> and runs the command, writing to <paramref name="stdout"/> and
    /// <paramref name="stderr"/>; returns the exit code (<see cref="ExitCodes"/>). <paramref name="handler"/>, when
    /// given, carries the HTTP requests; <paramref name="environment"/>, when given, stands for the process's
    /// environment variables and current directory.
    /// </summary>
    public static Task<int> RunAsync(
        string[] args, TextWriter stdout, TextWriter stderr, HttpMessageHandler? handler = null, CliEnvironment? environment = null, CancellationToken cancellationToken = default)
    {
        var root = new DurableCommands(stdout, stderr, handler, environment ?? CliEnvironment.Process).Root;
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
        private readonly CliEnvironment _environment;

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

        private readonly Option<string?> _connectionSetting = new("--connection-string-setting")
        {
            Description = $"Storage mode: the setting (environment variable, else local.settings.json value) holding the storage connection string (default: {StorageTarget.DefaultSetting}); never printed",
            Recursive = true,
        };

        private readonly Option<string?> _hubName = new("--task-hub-name")
        {
            Description = $"Storage mode: the task hub (default: host.json's extensions.durableTask.hubName, else {StorageTarget.DefaultHubName})",
            Recursive = true,
        };

        private readonly Option<string?> _storageProvider = new("--storage-provider")
        {
            Description = $"Storage mode: Workflows or AzureStorage (default: the {StorageTarget.ProviderSetting} setting, else host.json's extensions.durableTask.storageProvider.type, else Workflows)",
            Recursive = true,
        };

        private readonly Option<string> _output = new("--output", "-o")
        {
            Description = "table, or json: the API's JSON, one document on standard output, for scripts",
            DefaultValueFactory = static _ => "table",
            Recursive = true,
        };

        public DurableCommands(TextWriter stdout, TextWriter stderr, HttpMessageHandler? handler, CliEnvironment environment)
        {
            _stdout = stdout;
            _stderr = stderr;
            _handler = handler;
            _environment = environment;
            _output.AcceptOnlyFromAmong("table", "json");
            Root = new RootCommand(
                "Manages durable orchestration instances (as 'func durable'): on a running host through the Durable Functions HTTP API, "
                + "or straight in the task hub's storage with --connection-string-setting, --task-hub-name or --storage-provider.")
            {
                _url, _key, _connectionSetting, _hubName, _storageProvider, _output,
                StartNew(), GetInstances(), GetRuntimeStatus(), GetHistory(), RaiseEvent(),
                Operation("terminate", "Terminates a running instance.", "Terminated"),
                Operation("suspend", "Suspends a running instance.", "Suspended"),
                Operation("resume", "Resumes a suspended instance.", "Resumed"),
                Operation("rewind", "Rewinds a failed instance: its failed steps run again.", "Rewound"),
                PurgeHistory(),
                DeleteTaskHub(),
            };
        }

        public RootCommand Root { get; }

        private static Option<string> RequiredId(string description) => new("--id") { Description = description, Required = true };

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
                var answer = await context.Backend.StartAsync(name, parse.GetValue(id), body, cancellationToken);
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
            var name = new Option<string?>("--name") { Description = "Only instances of orchestrations whose name starts with this (any case)" };
            var top = new Option<int?>("--top") { Description = "Instances per page (the host's default: 100)" };
            var continuation = new Option<string?>("--continuation-token") { Description = "The token a previous page printed, for the next page" };
            var command = new Command("get-instances", "Lists instances, one page at a time.") { runtimeStatus, createdAfter, createdBefore, idPrefix, name, top, continuation };
            SetAction(command, async (context, parse, cancellationToken) =>
            {
                var filter = new InstanceFilter(parse.GetValue(runtimeStatus) ?? [], parse.GetValue(createdAfter), parse.GetValue(createdBefore), parse.GetValue(idPrefix), parse.GetValue(name));
                var answer = await context.Backend.ListAsync(filter, parse.GetValue(top), parse.GetValue(continuation), cancellationToken);
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
                var answer = await context.Backend.GetAsync(instanceId, withInput, showHistory: false, cancellationToken);
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
                var answer = await context.Backend.GetAsync(instanceId, showInput: true, showHistory: true, cancellationToken);
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
                await context.Backend.RaiseEventAsync(instanceId, name, body, cancellationToken);
                Accepted(context, instanceId, "raiseEvent", $"Raised event '{name}' on instance '{instanceId}'.");
                return ExitCodes.Success;
            });
            return command;
        }

        /// <summary>terminate, suspend, resume, rewind (over HTTP: <c>POST instances/{id}/{operation}[?reason=...]</c>).</summary>
        private Command Operation(string name, string description, string done)
        {
            var id = RequiredId("The instance id");
            var reason = new Option<string?>("--reason") { Description = "Why; recorded in the instance's history" };
            var command = new Command(name, description) { id, reason };
            SetAction(command, async (context, parse, cancellationToken) =>
            {
                var instanceId = parse.GetRequiredValue(id);
                await context.Backend.OperateAsync(instanceId, name, parse.GetValue(reason), cancellationToken);
                var taken = context.Backend is StorageBackend ? "the request is in the task hub" : "the host has taken the request";
                Accepted(context, instanceId, name, $"{done} instance '{instanceId}' ({taken}; the instance acts on it next).");
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
                var answer = parse.GetValue(id) is { } instanceId
                    ? await context.Backend.PurgeAsync(instanceId, cancellationToken)
                    : await context.Backend.PurgeManyAsync(new InstanceFilter(parse.GetValue(runtimeStatus) ?? [], parse.GetValue(createdAfter), parse.GetValue(createdBefore), null), cancellationToken);
                var (deleted, body) = (Deleted(answer), answer.Body);
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

        private Command DeleteTaskHub()
        {
            var command = new Command(
                "delete-task-hub",
                "Deletes the task hub's storage: its tables, queues and containers, with every instance and its history. Storage mode only; it does not ask for confirmation.");
            SetAction(command, storageOnly: true, async (context, parse, cancellationToken) =>
            {
                var target = context.Target!;
                var deleted = await StorageBackend.DeleteTaskHubAsync(target, cancellationToken);
                if (context.Json)
                {
                    context.Out.WriteLine(new JsonObject
                    {
                        ["taskHub"] = target.TaskHubName,
                        ["storageProvider"] = target.Provider.ToString(),
                        ["deleted"] = deleted is not null,
                        ["resources"] = new JsonArray([.. (deleted ?? []).Select(static name => JsonValue.Create(name))]),
                    }.ToJsonString());
                }
                else if (deleted is null)
                {
                    context.Out.WriteLine($"There is no task hub '{target.TaskHubName}' in the storage of setting '{target.SettingName}'; nothing was deleted.");
                }
                else
                {
                    context.Out.WriteLine($"Deleted task hub '{target.TaskHubName}' ({target.Provider}, storage of setting '{target.SettingName}'):");
                    foreach (var name in deleted)
                    {
                        context.Out.WriteLine("  " + name);
                    }

                    context.Out.WriteLine($"The host's own container {target.TaskHubName.ToLowerInvariant()}-host (keys, timer schedules), if any, is kept.");
                }

                return ExitCodes.Success;
            });
            return command;
        }

        private void SetAction(Command command, Func<CliContext, ParseResult, CancellationToken, Task<int>> run) => SetAction(command, storageOnly: false, run);

        /// <summary>
        /// Runs <paramref name="run"/> as the command's action, in the mode the options choose (a storage-only command
        /// gets the storage target and no backend): a <see cref="CliException"/> is one line on standard error and its
        /// exit code.
        /// </summary>
        private void SetAction(Command command, bool storageOnly, Func<CliContext, ParseResult, CancellationToken, Task<int>> run) =>
            command.SetAction(async (parse, cancellationToken) =>
            {
                try
                {
                    var target = StorageMode(parse, command.Name, storageOnly);
                    var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(_stdout) });
                    if (!console.Profile.Out.IsTerminal)
                    {
                        // Redirected output: wide enough that ids and times stay on one line.
                        console.Profile.Width = 240;
                    }

                    var json = parse.GetValue(_output) == "json";
                    if (storageOnly)
                    {
                        return await run(new CliContext(null, target, console, _stdout, _stderr, json), parse, cancellationToken);
                    }

                    await using var backend = target is null
                        ? new HttpBackend(new DurableApiClient(HostUrl(parse), Key(parse), _handler))
                        : (IDurableBackend)await StorageBackend.OpenAsync(target, cancellationToken);
                    return await run(new CliContext(backend, target, console, _stdout, _stderr, json), parse, cancellationToken);
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
                catch (OperationCanceledException)
                {
                    await _stderr.WriteLineAsync("durable: storage did not answer in time");
                    return ExitCodes.HostError;
                }
            });

        /// <summary>
        /// The storage target when an option of the storage mode is given (<c>--connection-string-setting</c>,
        /// <c>--task-hub-name</c>, <c>--storage-provider</c>); null for the HTTP mode. Mixing the modes' options, or a
        /// storage-only command in the HTTP mode, is a usage error.
        /// </summary>
        private StorageTarget? StorageMode(ParseResult parse, string commandName, bool storageOnly)
        {
            var storageOption = new Option[] { _connectionSetting, _hubName, _storageProvider }.FirstOrDefault(option => parse.GetResult(option) is not null);
            var httpOption = new Option[] { _url, _key }.FirstOrDefault(option => parse.GetResult(option) is not null);
            if (storageOption is not null && httpOption is not null)
            {
                throw new CliException(
                    ExitCodes.Usage, $"{storageOption.Name} chooses the storage mode (straight to the task hub's storage) and {httpOption.Name} the HTTP mode (through a host); give one or the other");
            }

            if (storageOption is null)
            {
                return storageOnly
                    ? throw new CliException(
                        ExitCodes.Usage,
                        $"{commandName} needs the storage mode: give --task-hub-name (with --connection-string-setting and --storage-provider where the defaults do not fit); it has no HTTP mode")
                    : null;
            }

            if (storageOnly && parse.GetResult(_hubName) is null)
            {
                // Deleting takes the hub's name from the command line only: never from host.json or a default.
                throw new CliException(ExitCodes.Usage, $"{commandName} deletes only a task hub named on its command line: give --task-hub-name");
            }

            return StorageTarget.Resolve(parse.GetValue(_connectionSetting), parse.GetValue(_hubName), parse.GetValue(_storageProvider), _environment);
        }

        private Uri HostUrl(ParseResult parse)
        {
            var text = parse.GetValue(_url) is { Length: > 0 } given ? given : _environment.Variable(UrlVariable) ?? DefaultUrl;
            return Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
                ? url
                : throw new CliException(ExitCodes.Usage, $"--url must be an absolute http or https URL; got '{text}'");
        }

        private string? Key(ParseResult parse) => parse.GetValue(_key) is { Length: > 0 } key ? key : _environment.Variable(KeyVariable);
    }
}
