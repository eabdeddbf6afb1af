using Azure.Data.Tables;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// The rule of the ids a sentinel remembers (<see cref="RememberedIds"/>), without storage: a window by count for the
/// committer's own ids, other workers' ids kept until their hold ends, and a cap that makes an instance wait instead
/// of forgetting an id whose copy may still come back.
/// </summary>
public sealed class RememberedIdsTests
{
    private const int Window = 8;
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(20);

    [Fact]
    public void OwnIds_AreEvictedByCount_ButNeverThoseOfTheCommitItself()
    {
        var ids = RememberedIds.Of(null);
        for (var commit = 0; commit < 5; commit++)
        {
            ids = Commit(ids, "a", T0, Ids("a" + commit, Window / 2));
        }

        Assert.Equal(Window, ids.Count);
        Assert.Equal([.. Ids("a3", Window / 2), .. Ids("a4", Window / 2)], ids.All);
        Assert.Equal(Window / 2, ids.QueueMessageRoom("a", T0, Window));
    }

    [Fact]
    public void AnotherWorkersIds_StayUntilTheirHoldEnds_ThenTheWindowIsBoundedAgain()
    {
        var ids = Commit(RememberedIds.Of(null), "a", T0, Ids("a", Window / 2));
        var b = T0.AddSeconds(1);
        ids = Commit(ids, "b", b, Ids("b0", Window / 2));
        ids = Commit(ids, "b", b, Ids("b1", Window / 2));
        ids = Commit(ids, "b", b, Ids("b2", Window / 2));

        // "a" may still hold copies: its ids are kept beside b's window.
        Assert.Equal(Window / 2 + Window, ids.Count);
        Assert.All(Ids("a", Window / 2), id => Assert.True(ids.Contains(id)));

        // Its hold over, the next commit evicts them first.
        ids = Commit(ids, "b", T0 + Hold, Ids("b3", 1));
        Assert.Equal(Window, ids.Count);
        Assert.DoesNotContain(ids.All, id => id.StartsWith('a'));
    }

    [Fact]
    public void SentinelRoundTrip_KeepsIdsAndRuns_BeyondOneProperty()
    {
        var window = 2 * RememberedIds.IdsPerProperty;
        var ids = RememberedIds.Of(null).Append("a", T0, T0 + Hold, Ids("a", window / 2), window);
        ids = ids.Append("b", T0, T0 + Hold, Ids("b", window / 2), window);
        ids = ids.Append("c", T0, T0 + Hold, Ids("c", window / 2), window);
        var sentinel = new TableEntity("i", HistoryStore.SentinelRowKey);
        ids.WriteTo(sentinel);
        Assert.NotNull(sentinel.GetString(RememberedIds.IdsProperty + "2"));

        var read = RememberedIds.Of(sentinel);
        Assert.Equal(ids.All, read.All);
        Assert.Equal(ids.HeldCount("d", T0), read.HeldCount("d", T0));
        Assert.Equal(0, read.HeldCount("d", T0 + Hold));
    }

    [Fact]
    public void SentinelWithoutRuns_IsEvictedByCountAsBefore()
    {
        var sentinel = new TableEntity("i", HistoryStore.SentinelRowKey) { [RememberedIds.IdsProperty] = string.Join(',', Ids("old", Window)) };
        var ids = Commit(RememberedIds.Of(sentinel), "a", T0, Ids("a", Window / 2));
        Assert.Equal(Window, ids.Count);
        Assert.Equal(Window / 2, ids.QueueMessageRoom("b", T0, Window));
    }

    [Fact]
    public void HandoversWithinOneHold_FillTheCap_AndTheNextWorkerWaitsForTheEarliestHold()
    {
        // Three workers in turn, each committing two full batches within the holds of those before it.
        var ids = RememberedIds.Of(null);
        var holdEnds = new List<DateTimeOffset>();
        foreach (var (worker, offset) in new[] { ("a", 0), ("b", 1), ("c", 2) })
        {
            var now = T0.AddSeconds(offset);
            holdEnds.Add(now + Hold);
            for (var commit = 0; commit < 2; commit++)
            {
                Assert.Equal(Window / 2, ids.QueueMessageRoom(worker, now, Window));
                ids = Commit(ids, worker, now, Ids(worker + commit, Window / 2));
            }
        }

        // The fourth finds the cap full of ids that other workers may still deliver again: it takes no queue message
        // until the first hold ends, and then has room again.
        var d = T0.AddSeconds(3);
        Assert.Equal(RememberedIds.Cap(Window), ids.Count);
        Assert.Equal(0, ids.QueueMessageRoom("d", d, Window));
        Assert.Equal(holdEnds[0], ids.NextHoldEnd("d", d));
        Assert.Equal(Window / 2, ids.QueueMessageRoom("d", holdEnds[0], Window));
        ids = Commit(ids, "d", holdEnds[0], Ids("d", Window / 2));
        Assert.DoesNotContain(ids.All, id => id.StartsWith('a'));
        Assert.True(ids.Count <= RememberedIds.Cap(Window));
    }

    private static RememberedIds Commit(RememberedIds ids, string worker, DateTimeOffset now, IReadOnlyCollection<string> committed) =>
        ids.Append(worker, now, now + Hold, committed, Window);

    private static List<string> Ids(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => prefix + "-" + i)];
}
