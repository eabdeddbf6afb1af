using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Workflows.ML.Data;
using Workflows.ML.Registry;

namespace Workflows.Functions.Search;

/// <summary>The search orchestrations and activities, written against the official Durable Task SDK.</summary>
public static class SearchRegistrations
{
    /// <summary>
    /// Adds <see cref="HalvingSearchOrchestrator"/>, <see cref="RandomSearchOrchestrator"/> and their activities to
    /// <paramref name="registry"/>. The activities take <see cref="DatasetReader"/>, <see cref="IDatasetStorage"/>
    /// and <see cref="IModelRegistry"/> from the worker's services (what the app registers); the rows they read are
    /// kept in one <see cref="SearchDataLoader"/> per registry, shared by its activities.
    /// </summary>
    public static DurableTaskRegistry AddSearchTasks(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        SearchDataLoader? loader = null;
        var gate = new Lock();
        SearchDataLoader Loader(IServiceProvider services)
        {
            lock (gate)
            {
                return loader ??= new SearchDataLoader(services.GetRequiredService<DatasetReader>());
            }
        }

        registry.AddOrchestratorFunc<SearchInput, SearchOutput>(HalvingSearchOrchestrator.Name, HalvingSearchOrchestrator.RunAsync);
        registry.AddOrchestratorFunc<SearchInput, SearchOutput>(RandomSearchOrchestrator.Name, RandomSearchOrchestrator.RunAsync);
        registry.AddActivity(DescribeSearchDataActivity.Name, services => new DescribeSearchDataActivity(services.GetRequiredService<IDatasetStorage>(), Loader(services)));
        registry.AddActivity(EvaluateCandidateActivity.Name, services => new EvaluateCandidateActivity(services.GetRequiredService<IDatasetStorage>(), Loader(services)));
        registry.AddActivity(RefitAndRegisterActivity.Name, services => new RefitAndRegisterActivity(Loader(services), services.GetRequiredService<IModelRegistry>()));
        return registry;
    }
}
