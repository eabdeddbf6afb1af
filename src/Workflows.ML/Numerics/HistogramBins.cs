namespace Workflows.ML.Numerics;

/// <summary>The bin arithmetic every kernel shares, so that all of them put a value into the same bin.</summary>
internal static class HistogramBins
{
    /// <summary>Bins per unit of value; 0 when the range is empty (everything then lands in bin 0).</summary>
    public static double Scale(double min, double max, int bins) => max > min ? bins / (max - min) : 0;

    public static int Bin(double value, double min, double scale, int bins)
    {
        var position = (value - min) * scale;
        return position <= 0 ? 0 : position >= bins - 1 ? (position >= bins ? bins - 1 : (int)position) : (int)position;
    }
}
