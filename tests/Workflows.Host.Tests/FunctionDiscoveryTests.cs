using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Functions.Samples;
using Workflows.Host.Functions;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests;

public sealed class FunctionDiscoveryTests
{
    [Fact]
    public void Discover_SampleApp_FindsOrchestratorsActivitiesAndTriggers()
    {
        var catalog = FunctionDiscovery.Discover(typeof(HelloSequence).Assembly);

        Assert.Equal(FunctionKind.Orchestrator, catalog.Find("HelloSequence")!.Kind);
        Assert.Equal(FunctionKind.Activity, catalog.Find("SayHello")!.Kind);
        Assert.Equal(FunctionKind.Orchestrator, catalog.Find("FanOutFanIn")!.Kind);
        Assert.Equal(typeof(int), catalog.Find("FanOutFanIn")!.InputType);
        Assert.Equal(typeof(int), catalog.Find("Square")!.InputType);
    }

    [Fact]
    public void Discover_HttpAndTimerFunctions_ReadsRouteMethodsAndSchedule()
    {
        var catalog = FunctionDiscovery.Discover([typeof(GoodFunctions)], name => name == "Schedule" ? "0 0 3 * * *" : null);

        var http = catalog.Find("Echo")!;
        Assert.Equal(FunctionKind.Http, http.Kind);
        Assert.Equal("echo/{id:int}", http.RouteTemplate);
        Assert.Equal(["GET", "POST"], http.HttpMethods);
        Assert.Equal(AuthorizationLevel.Function, http.HttpTrigger!.AuthLevel);
        Assert.Equal("Ping", catalog.Find("Ping")!.RouteTemplate);
        Assert.Equal("0 */5 * * * *", catalog.Find("Every5Minutes")!.ScheduleText);
        Assert.Equal("0 0 3 * * *", catalog.Find("Nightly")!.ScheduleText);
    }

    [Fact]
    public async Task AddFunctions_DurableTaskClasses_RunUnderClassOrGivenName()
    {
        var registry = new DurableTaskRegistry();
        FunctionDiscovery.Discover([typeof(DoubleItOrchestrator), typeof(DoubleActivity)]).AddTo(registry, services: null);
        Assert.Contains(registry.GetOrchestrators(), r => r.Key.Name == "DoubleItOrchestrator");
        Assert.Contains(registry.GetActivities(), r => r.Key.Name == "Double");

        await using var harness = await SdkHarness.StartAsync(r => FunctionDiscovery.Discover([typeof(DoubleItOrchestrator), typeof(DoubleActivity)]).AddTo(r, null));
        var result = await harness.RunAsync("DoubleItOrchestrator", 21);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(42, result.ReadOutputAs<int>());
    }

    [Fact]
    public async Task AddFunctions_ActivityWithFunctionContextAndServices_BindsThem()
    {
        var services = new ServiceCollection()
            .AddSingleton(new Greeting("Ahoy"))
            .BuildServiceProvider();
        await using var harness = await SdkHarness.StartAsync(r => FunctionDiscovery.Discover([typeof(ServiceFunctions)]).AddTo(r, services));

        var result = await harness.RunAsync("GreetOrchestrator", "Ada");

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("Ahoy Ada from Greet", result.ReadOutputAs<string>());
    }

    [Theory]
    [InlineData(typeof(BadRoute), "BadRoute", "route")]
    [InlineData(typeof(BadCron), "BadCron", "NCRONTAB")]
    [InlineData(typeof(DuplicateNames), "twice", "already used")]
    [InlineData(typeof(MissingScheduleSetting), "FromSetting", "app setting 'NoSuchSetting'")]
    [InlineData(typeof(RouteParameterMissing), "Orphan", "'id' is not a parameter of route")]
    [InlineData(typeof(TwoTriggers), "Both", "exactly one trigger")]
    [InlineData(typeof(BadDurableTaskClass), "NotATask", "must derive from TaskOrchestrator")]
    public void Discover_MalformedFunction_FailsNamingTheFunction(Type type, string function, string problem)
    {
        var error = Assert.Throws<FunctionIndexingException>(() => FunctionDiscovery.Discover([type]));

        Assert.Contains($"Function '{function}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    private static class GoodFunctions
    {
        [Function("Echo")]
        public static string Echo([HttpTrigger(AuthorizationLevel.Function, "get", "post", Route = "echo/{id:int}")] HttpRequest request, int id) => $"{request.Method} {id}";

        [Function("Ping")]
        public static string Ping([HttpTrigger("get")] HttpRequest request) => "pong";

        [Function("Every5Minutes")]
        public static void Every5Minutes([TimerTrigger("0 */5 * * * *")] TimerInfo timer)
        {
        }

        [Function("Nightly")]
        public static void Nightly([TimerTrigger("%Schedule%")] TimerInfo timer)
        {
        }
    }

    public sealed record Greeting(string Word);

    private static class ServiceFunctions
    {
        [Function("GreetOrchestrator")]
        public static Task<string> Run([OrchestrationTrigger] TaskOrchestrationContext context, string name) =>
            context.CallActivityAsync<string>("Greet", name);

        [Function("Greet")]
        public static string Greet([ActivityTrigger] string name, FunctionContext context, Greeting greeting) =>
            $"{greeting.Word} {name} from {context.FunctionName}";
    }

    private static class BadRoute
    {
        [Function("BadRoute")]
        public static string Run([HttpTrigger("get", Route = "items/{id")] HttpRequest request) => "x";
    }

    private static class BadCron
    {
        [Function("BadCron")]
        public static void Run([TimerTrigger("*/5 * * * *")] TimerInfo timer)
        {
        }
    }

    private static class DuplicateNames
    {
        [Function("Twice")]
        public static string First([ActivityTrigger] string input) => input;

        [Function("twice")]
        public static string Second([ActivityTrigger] string input) => input;
    }

    private static class MissingScheduleSetting
    {
        [Function("FromSetting")]
        public static void Run([TimerTrigger("%NoSuchSetting%")] TimerInfo timer)
        {
        }
    }

    private static class RouteParameterMissing
    {
        [Function("Orphan")]
        public static string Run([HttpTrigger("get", Route = "items")] HttpRequest request, int id) => "x";
    }

    private static class TwoTriggers
    {
        [Function("Both")]
        public static string Run([ActivityTrigger] string input, [TimerTrigger("0 * * * * *")] TimerInfo timer) => input;
    }

    [DurableTask("NotATask")]
    private sealed class BadDurableTaskClass;
}

[DurableTask]
public sealed class DoubleItOrchestrator : TaskOrchestrator<int, int>
{
    public override Task<int> RunAsync(TaskOrchestrationContext context, int input) => context.CallActivityAsync<int>("Double", input);
}

[DurableTask("Double")]
public sealed class DoubleActivity : TaskActivity<int, int>
{
    public override Task<int> RunAsync(TaskActivityContext context, int input) => Task.FromResult(input * 2);
}
