using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.Rpc;
using Yarp.ReverseProxy.Forwarder;

namespace Workflows.Host.FunctionApp;

/// <summary>
/// The function app as the host runs it, as the Functions host runs an isolated app: its build output started as the
/// worker process (<see cref="WorkerChannel"/>), its functions as the worker indexed them (<see cref="WorkerCatalog"/>),
/// the bindings the host supplies to them, and the runner and proxy through which orchestrators, activities and HTTP
/// functions are invoked. Starts first among the host's services (the task hub, timers and routes need the catalog)
/// and stops last (work in flight on the worker finishes first). App settings reach the worker as its environment.
/// </summary>
internal sealed class FunctionAppWorker : IHostedService, IAsyncDisposable
{
    /// <summary>Configuration keys of the host's own web server, which must not reach the worker's.</summary>
    private static readonly HashSet<string> HostOnlyKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "urls", "http_ports", "https_ports", "environment", "contentRoot", "applicationName", "AzureWebJobsScriptRoot", "WorkflowsAppPath",
    };

    private readonly FunctionsHostOptions _options;
    private readonly IConfiguration _configuration;
    private readonly IServer _server;
    private readonly IHttpForwarder _forwarder;
    private readonly ILoggerFactory _loggerFactory;
    private string _managementQuery = string.Empty;
    private WorkerChannel? _channel;
    private WorkerCatalog? _catalog;
    private WorkerHttpProxy? _proxy;
    private volatile DurableClientEndpoint? _durableClient;
    private Uri? _sidecar;

    public FunctionAppWorker(IOptions<FunctionsHostOptions> options, IConfiguration configuration, IServer server, IHttpForwarder forwarder, ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _configuration = configuration;
        _server = server;
        _forwarder = forwarder;
        _loggerFactory = loggerFactory;
        Bindings = new WorkerBindings(DurableClient);
    }

    /// <summary>The channel to the worker process.</summary>
    public WorkerChannel Channel => _channel ?? throw NotStarted();

    /// <summary>The app's functions.</summary>
    public WorkerCatalog Catalog => _catalog ?? throw NotStarted();

    /// <summary>The bindings the host supplies to the app's functions.</summary>
    public WorkerBindings Bindings { get; }

    /// <summary>Runs the app's orchestrators and activities.</summary>
    public FunctionsWorkerRunner Runner { get; private set; } = null!;

    /// <summary>Forwards requests to the app's HTTP functions.</summary>
    public WorkerHttpProxy Proxy => _proxy ?? throw NotStarted();

    /// <summary>Whether the app has an orchestrator named <paramref name="name"/>.</summary>
    public bool HasOrchestrator(string name) => Catalog.Orchestrators.Any(entry => string.Equals(entry.TaskName, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether the app has an activity named <paramref name="name"/>.</summary>
    public bool HasActivity(string name) => Catalog.Activities.Any(entry => string.Equals(entry.TaskName, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Called by the task hub once its Durable Task gRPC endpoint listens: the app's durable clients reach it there.</summary>
    public void UseSidecar(Uri address) => _sidecar = address;

    /// <summary>
    /// The query the management links of the app's durable clients carry, as the Durable extension gives it: the system
    /// key of the management API while keys are enforced (set by the key provider once it has the keys), so whoever
    /// started a run can follow them.
    /// </summary>
    public void UseManagementQuery(string query)
    {
        _managementQuery = query;
        _durableClient = null;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var channel = new WorkerChannel(
            new WorkerChannelOptions
            {
                AppDirectory = _options.AppPath,
                WorkingDirectory = _options.ScriptRoot,
                AppSettings = AppSettings(_configuration),
            },
            _loggerFactory);
        _channel = channel;
        await channel.StartAsync(cancellationToken).ConfigureAwait(false);
        _catalog = WorkerCatalog.From(channel.Functions, key => _configuration[key]);
        Runner = new FunctionsWorkerRunner(channel, Bindings);
        _proxy = new WorkerHttpProxy(channel, _forwarder, Bindings);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_channel is not null)
        {
            await _channel.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _proxy?.Dispose();
        if (_channel is not null)
        {
            await _channel.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The app settings the worker gets as environment variables: every top-level setting (local.settings.json's
    /// Values, the environment, the command line) except those of the host's own web server.
    /// </summary>
    internal static Dictionary<string, string> AppSettings(IConfiguration configuration)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var setting in configuration.GetChildren())
        {
            if (setting.Value is { } value && !HostOnlyKeys.Contains(setting.Key)
                && !setting.Key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) && !setting.Key.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase))
            {
                settings[setting.Key] = value;
            }
        }

        return settings;
    }

    /// <summary>Where the app's durable clients reach the task hub; null before the endpoint listens.</summary>
    private DurableClientEndpoint? DurableClient()
    {
        if (_durableClient is not null || _sidecar is not { } sidecar)
        {
            return _durableClient;
        }

        // The host's own address for the management links: known once the server listens (it has, for any request).
        var address = _server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? FunctionsHostOptions.DefaultUrl;
        var endpoint = new DurableClientEndpoint(sidecar, _options.HubName, new Uri(address.TrimEnd('/') + "/" + DurableClientEndpoint.WebhookBase), _managementQuery);
        if (!address.EndsWith(":0", StringComparison.Ordinal))
        {
            _durableClient = endpoint;
        }

        return endpoint;
    }

    private static InvalidOperationException NotStarted() => new("The function app's worker has not started yet.");
}
