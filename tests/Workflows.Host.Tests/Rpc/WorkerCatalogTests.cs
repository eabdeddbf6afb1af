using Workflows.Host.Rpc;
using Xunit;

namespace Workflows.Host.Tests.Rpc;

public sealed class WorkerCatalogTests(WorkerAppFixture fixture) : IClassFixture<WorkerAppFixture>
{
    [Fact]
    public void The_apps_own_indexing_gives_its_routes_schedules_orchestrators_and_activities()
    {
        WorkerCatalog catalog = WorkerCatalog.From(fixture.Channel.Functions, _ => null);

        WorkerHttpEntry echo = Assert.Single(catalog.Http, entry => entry.Name == "Echo");
        Assert.Equal("echo/{item}", echo.RouteTemplate);
        Assert.Equal(["GET", "POST"], echo.Methods);
        Assert.Equal("Anonymous", echo.AuthLevel);
        Assert.NotNull(echo.Route.GetParameter("item"));
        Assert.Equal("Hello", Assert.Single(catalog.Http, entry => entry.Name == "Hello").RouteTemplate);

        WorkerTimerEntry tick = Assert.Single(catalog.Timers, entry => entry.Name == "Tick");
        Assert.Equal("0 */5 * * * *", tick.ScheduleText);
        Assert.False(tick.RunOnStartup);
        Assert.True(Assert.Single(catalog.Timers, entry => entry.Name == "OnStartup").RunOnStartup);

        Assert.Contains(catalog.Orchestrators, entry => entry.TaskName == "UppercaseAll");
        Assert.Contains(catalog.Activities, entry => entry.TaskName == "Uppercase");
        Assert.DoesNotContain(catalog.Activities, entry => entry.TaskName == "UppercaseAll");
    }

    [Fact]
    public void A_schedule_from_an_app_setting_is_resolved()
    {
        WorkerFunction timer = Function("Nightly", """{"name":"timer","type":"timerTrigger","direction":"In","schedule":"%NightlySchedule%","runOnStartup":true}""");

        WorkerTimerEntry entry = Assert.Single(WorkerCatalog.From([timer], name => name == "NightlySchedule" ? "0 30 2 * * *" : null).Timers);

        Assert.Equal("0 30 2 * * *", entry.ScheduleText);
        Assert.True(entry.RunOnStartup);
    }

    [Theory]
    [InlineData("AzureWebJobs.Nightly.Disabled", "true")]
    [InlineData("AzureWebJobs:Nightly:Disabled", "1")]
    [InlineData("AzureWebJobs.Nightly.Disabled", " True ")]
    public void A_disabled_timer_is_left_out_and_its_schedule_setting_is_not_read(string setting, string value)
    {
        WorkerFunction timer = Function("Nightly", """{"name":"timer","type":"timerTrigger","direction":"In","schedule":"%NotSet%"}""");
        var read = new List<string>();

        var catalog = WorkerCatalog.From([timer], name =>
        {
            read.Add(name);
            return name == setting ? value : null;
        });

        Assert.Empty(catalog.Timers);
        Assert.Equal(["Nightly"], catalog.Disabled);
        Assert.DoesNotContain("NotSet", read);
    }

    [Fact]
    public void A_disabled_http_function_has_no_route_while_orchestrators_and_activities_are_always_served()
    {
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobs.Hello.Disabled"] = "true",
            ["AzureWebJobs.Run.Disabled"] = "true",
            ["AzureWebJobs.Step.Disabled"] = "true",
            ["AzureWebJobs.Other.Disabled"] = "false",
        };
        WorkerFunction[] functions =
        [
            Function("Hello", """{"name":"req","type":"httpTrigger","direction":"In","route":"hello"}"""),
            Function("Other", """{"name":"req","type":"httpTrigger","direction":"In","route":"other"}"""),
            Function("Run", """{"name":"context","type":"orchestrationTrigger","direction":"In"}"""),
            Function("Step", """{"name":"input","type":"activityTrigger","direction":"In"}"""),
        ];

        var catalog = WorkerCatalog.From(functions, name => settings.GetValueOrDefault(name));

        Assert.Equal(["other"], catalog.Http.Select(static entry => entry.RouteTemplate));
        Assert.Equal(["Hello"], catalog.Disabled);
        Assert.Equal("Run", Assert.Single(catalog.Orchestrators).TaskName);
        Assert.Equal("Step", Assert.Single(catalog.Activities).TaskName);
    }

    [Fact]
    public void A_task_named_by_its_trigger_goes_by_that_name()
    {
        WorkerFunction orchestrator = Function("RunTraining", """{"name":"context","type":"orchestrationTrigger","direction":"In","orchestration":"EpochTraining"}""");

        Assert.Equal("EpochTraining", Assert.Single(WorkerCatalog.From([orchestrator], _ => null).Orchestrators).TaskName);
    }

    [Theory]
    [InlineData("""{"name":"timer","type":"timerTrigger","direction":"In","schedule":"every day"}""", "schedule 'every day' is not a six-field NCRONTAB expression")]
    [InlineData("""{"name":"timer","type":"timerTrigger","direction":"In","schedule":"%Missing%"}""", "app setting 'Missing', which is not set")]
    [InlineData("""{"name":"req","type":"httpTrigger","direction":"In","route":"items/{id"}""", "route 'items/{id' is invalid")]
    [InlineData("""{"name":"req","type":"httpTrigger","direction":"In","methods":["get","dance!"]}""", "'dance!' is not an HTTP method")]
    [InlineData("""{"name":"req","type":"httpTrigger","direction":"In","authLevel":"owner"}""", "authLevel 'OWNER' is not Anonymous, Function or Admin")]
    [InlineData("""{"name":"blob","type":"blobTrigger","direction":"In"}""", "'blobTrigger'")]
    public void A_function_the_host_cannot_serve_stops_the_start_naming_it(string trigger, string reason)
    {
        var exception = Assert.Throws<WorkerStartException>(() => WorkerCatalog.From([Function("Broken", trigger)], _ => null));

        Assert.Contains("'Broken'", exception.Message, StringComparison.Ordinal);
        Assert.Contains(reason, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_functions_on_one_route_stop_the_start_naming_both()
    {
        var exception = Assert.Throws<WorkerStartException>(() => WorkerCatalog.From(
            [
                Function("First", """{"name":"req","type":"httpTrigger","direction":"In","route":"items"}"""),
                Function("Second", """{"name":"req","type":"httpTrigger","direction":"In","route":"/items/"}"""),
            ],
            _ => null));

        Assert.Contains("route 'items' is claimed by more than one function: First, Second", exception.Message, StringComparison.Ordinal);
    }

    private static WorkerFunction Function(string name, string triggerJson) =>
        new(name, name + "-id", "App." + name, [WorkerBinding.Parse(triggerJson, name)]);
}
