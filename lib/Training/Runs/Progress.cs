using System.Diagnostics;
using System.Globalization;

namespace ViXml.Training.Runs;

/// <summary>
/// Training progress: on a terminal a live line redrawn in place (bar, epoch, loss, throughput, ETA); when output is
/// redirected (CI, logs) a plain line every few seconds. Time per item is smoothed so the ETA does not jump.
/// </summary>
public sealed class Progress
{
    private readonly TextWriter _out;
    private readonly bool _live;
    private readonly double _period;
    private readonly long _total;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lastPrint = double.NegativeInfinity;
    private long _done;
    private readonly long _initialDone; // steps finished before this session (resume)
    private long _items;
    private double _lastRate;

    /// <param name="totalSteps">Steps in the whole run (for the bar and the ETA).</param>
    /// <param name="live">Null = decide from whether stdout is a terminal.</param>
    public Progress(long totalSteps, long doneSteps = 0, TextWriter? output = null, bool? live = null, double periodSeconds = 10)
    {
        _out = output ?? Console.Out;
        _live = live ?? (!Console.IsOutputRedirected && output is null);
        _period = periodSeconds;
        _total = Math.Max(1, totalSteps);
        _done = _initialDone = doneSteps;
    }

    public bool IsLive => _live;

    /// <summary>Reports one finished step of <paramref name="items"/> queries with its loss.</summary>
    public void Step(int epoch, int epochs, double loss, int items)
    {
        _done++;
        _items += items;
        double t = _clock.Elapsed.TotalSeconds;
        double rate = t > 0 ? _items / t : 0;
        _lastRate = rate;
        double stepsPerSec = t > 0 ? (_done - _initialDone) / t : 0;
        double eta = stepsPerSec > 0 ? (_total - _done) / stepsPerSec : double.NaN;
        if (_live)
        {
            if (t - _lastPrint < 0.2 && _done < _total) return;
            _lastPrint = t;
            int width = 24;
            int filled = (int)(width * Math.Min(1.0, _done / (double)_total));
            var bar = new string('#', filled) + new string('.', width - filled);
            _out.Write($"\r[{bar}] {100.0 * _done / _total,5:F1}% epoch {epoch + 1}/{epochs} loss {loss:F4} {rate:F0} q/s ETA {Fmt(eta)}   ");
            _out.Flush();
        }
        else if (t - _lastPrint >= _period || _done == _total)
        {
            _lastPrint = t;
            _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {_done}/{_total} epoch {epoch + 1}/{epochs} loss {loss:F4} {rate:F0} queries/s elapsed {Fmt(t)} ETA {Fmt(eta)}"));
        }
    }


    /// <summary>A message on its own line (ends the live line first).</summary>
    public void Message(string text)
    {
        if (_live) _out.Write("\r" + new string(' ', 100) + "\r");
        _out.WriteLine(text);
    }

    public double QueriesPerSecond => _lastRate;

    public static string Fmt(double seconds)
    {
        if (double.IsNaN(seconds) || double.IsInfinity(seconds)) return "--:--";
        var ts = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return ts.TotalHours >= 1 ? $"{(int)ts.TotalHours}:{ts.Minutes:D2}:{ts.Seconds:D2}" : $"{ts.Minutes:D2}:{ts.Seconds:D2}";
    }
}
