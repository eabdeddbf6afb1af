namespace Workflows.ML.Search;

/// <summary>The order of scores in every ranking of the search: higher first, NaN (a failed fit) after every number.</summary>
internal static class ScoreOrder
{
    /// <summary>Negative when <paramref name="x"/> ranks before <paramref name="y"/>, zero on a tie (two NaNs tie).</summary>
    public static int BestFirst(double x, double y) => (double.IsNaN(x), double.IsNaN(y)) switch
    {
        (true, false) => 1,
        (false, true) => -1,
        (true, true) => 0,
        _ => y.CompareTo(x),
    };
}
