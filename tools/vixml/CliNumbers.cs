using System.Globalization;
using ViXml.Notebooks;

namespace ViXml.Cli;

/// <summary>
/// Checks of numeric command-line options before they reach a TimeSpan, an allocation or a loop: a clear
/// "error: --option ..." (exit 2) for NaN, infinities, zero or negative values and values beyond a sane limit.
/// </summary>
internal static class CliNumbers
{
    /// <summary>A time limit in seconds: finite, positive, at most <see cref="NotebookRunOptions.MaxTimeout"/>.</summary>
    public static TimeSpan? Seconds(double? value, string option)
    {
        if (value is not { } s) return null;
        var max = NotebookRunOptions.MaxTimeout.TotalSeconds;
        if (!double.IsFinite(s) || s <= 0 || s > max)
            throw new CliException($"{option} {s.ToString("R", CultureInfo.InvariantCulture)}: expected a number of seconds above 0 and at most " +
                                   $"{max.ToString(CultureInfo.InvariantCulture)} ({NotebookRunOptions.MaxTimeout.TotalDays:0} days)");
        return TimeSpan.FromSeconds(s);
    }
}
