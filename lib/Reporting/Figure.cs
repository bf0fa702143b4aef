using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ViXml.Reporting;

/// <summary>Axis scale, as Plotly names it.</summary>
public enum AxisType { Linear, Log, Category }

/// <summary>
/// A small typed builder for Plotly figures: line, scatter, grouped bar and histogram traces, log axes, titles, axis
/// labels and legends. <see cref="ToJson"/> gives the figure JSON ({"data": [...], "layout": {...}}) that Plotly.newPlot,
/// Jupyter's plotly renderer and VS Code consume; <see cref="ChartExport"/> writes HTML and PNG.
/// </summary>
[TypeFormatterSource(typeof(RichDisplayFormatterSource), PreferredMimeTypes = [MimeTypes.Plotly, MimeTypes.Html, MimeTypes.Plain])]
public sealed class Figure : IRichDisplay
{
    private readonly List<JsonObject> _traces = [];
    private string? _title, _xLabel, _yLabel;
    // null = let Plotly infer from the data (numbers → linear, strings → category).
    private AxisType? _xType, _yType;
    private bool? _showLegend;
    private bool _integerX;

    public Figure(string? title = null) => _title = title;

    /// <summary>Width and height used for HTML/PNG export, in CSS pixels.</summary>
    public int Width { get; set; } = 800;

    public int Height { get; set; } = 500;

    public string? Title => _title;

    public int TraceCount => _traces.Count;

    public Figure WithTitle(string title)
    {
        _title = title;
        return this;
    }

    public Figure XAxis(string? label, AxisType? type = null)
    {
        (_xLabel, _xType) = (label, type);
        return this;
    }

    public Figure YAxis(string? label, AxisType? type = null)
    {
        (_yLabel, _yType) = (label, type);
        return this;
    }

    public Figure LogX() { _xType = AxisType.Log; return this; }

    /// <summary>
    /// Ticks on the x axis only at whole numbers (epochs, steps, k): a step of 1, 2, 5, 10, 20, ... chosen from the data
    /// so there are at most about ten ticks, and never a fractional label such as 0.5.
    /// </summary>
    public Figure IntegerX()
    {
        _integerX = true;
        return this;
    }

    public Figure LogY() { _yType = AxisType.Log; return this; }

    /// <summary>Forces the legend on or off (Plotly's default shows it only with two or more traces).</summary>
    public Figure Legend(bool show = true)
    {
        _showLegend = show;
        return this;
    }

    /// <summary>A line through (x, y) points, e.g. a training curve.</summary>
    public Figure Line(string name, IEnumerable<double> x, IEnumerable<double> y, bool markers = false) =>
        AddXY(name, "scatter", markers ? "lines+markers" : "lines", x, y);

    /// <summary>Unconnected points.</summary>
    public Figure Scatter(string name, IEnumerable<double> x, IEnumerable<double> y) => AddXY(name, "scatter", "markers", x, y);

    /// <summary>One bar series over categories; several Bar calls are drawn side by side (grouped). Optional symmetric
    /// error bars (e.g. the sample std over seeds).</summary>
    public Figure Bar(string name, IEnumerable<string> categories, IEnumerable<double> values, IEnumerable<double>? errors = null)
    {
        var cats = categories.ToList();
        var vals = values.ToList();
        if (cats.Count != vals.Count)
            throw new ArgumentException($"bar '{name}': {cats.Count} categories but {vals.Count} values");
        var trace = new JsonObject
        {
            ["type"] = "bar", ["name"] = name,
            ["x"] = new JsonArray(cats.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray()),
            ["y"] = Numbers(vals),
        };
        if (errors is not null)
        {
            var errs = errors.ToList();
            if (errs.Count != vals.Count) throw new ArgumentException($"bar '{name}': {vals.Count} values but {errs.Count} error bars");
            trace["error_y"] = new JsonObject { ["type"] = "data", ["array"] = Numbers(errs), ["visible"] = true };
        }
        _traces.Add(trace);
        return this;
    }

    /// <summary>Plotly bins <paramref name="values"/> itself; <paramref name="bins"/> is the maximum bin count.</summary>
    public Figure Histogram(string name, IEnumerable<double> values, int? bins = null)
    {
        var t = new JsonObject { ["type"] = "histogram", ["name"] = name, ["x"] = Numbers(values.ToList()) };
        if (bins is { } b) t["nbinsx"] = b;
        _traces.Add(t);
        return this;
    }

    /// <summary>
    /// A long-tail histogram: counts in logarithmic bins (<see cref="Binning.Log"/>) as points on log-log axes, empty
    /// bins left out (log axes cannot show 0). Values ≤ 0 cannot be placed; their number is added to the trace name.
    /// </summary>
    public Figure LogHistogram(string name, IEnumerable<double> values, int binsPerDecade = 5)
    {
        var bins = Binning.Log(values, binsPerDecade);
        var keep = Enumerable.Range(0, bins.Counts.Length).Where(i => bins.Counts[i] > 0).ToList();
        var centers = bins.Centers;
        var label = bins.NonPositive > 0 ? $"{name} ({bins.NonPositive} values ≤ 0 not shown)" : name;
        _xType = AxisType.Log;
        _yType = AxisType.Log;
        return AddXY(label, "scatter", "lines+markers", keep.Select(i => centers[i]), keep.Select(i => (double)bins.Counts[i]));
    }

    private Figure AddXY(string name, string type, string mode, IEnumerable<double> x, IEnumerable<double> y)
    {
        var xs = x.ToList();
        var ys = y.ToList();
        if (xs.Count != ys.Count) throw new ArgumentException($"trace '{name}': {xs.Count} x values but {ys.Count} y values");
        _traces.Add(new JsonObject { ["type"] = type, ["mode"] = mode, ["name"] = name, ["x"] = Numbers(xs), ["y"] = Numbers(ys) });
        return this;
    }

    // Plotly draws null as a gap; JSON has no NaN/Infinity.
    private static JsonArray Numbers(IReadOnlyList<double> v) =>
        new(v.Select(d => double.IsFinite(d) ? (JsonNode?)JsonValue.Create(d) : null).ToArray());

    /// <summary>The Plotly figure: {"data": [traces], "layout": {...}}.</summary>
    public JsonObject ToJson()
    {
        var bars = _traces.Any(t => (string?)t["type"] == "bar");
        var layout = new JsonObject
        {
            // Bars are over named categories; say so, or a numeric-looking category list would be read as numbers.
            ["xaxis"] = Axis(_xLabel, _xType ?? (bars ? AxisType.Category : null)),
            ["yaxis"] = Axis(_yLabel, _yType),
        };
        if (_integerX && IntegerTickStep() is { } step)
        {
            var x = layout["xaxis"]!.AsObject();
            x["tickmode"] = "linear";
            x["tick0"] = 0;
            x["dtick"] = step;
        }
        if (_title is not null) layout["title"] = new JsonObject { ["text"] = _title };
        if (bars) layout["barmode"] = "group";
        if (_showLegend is { } show) layout["showlegend"] = show;
        return new JsonObject
        {
            ["data"] = new JsonArray(_traces.Select(t => (JsonNode?)t.DeepClone()).ToArray()),
            ["layout"] = layout,
        };
    }

    // The smallest of 1, 2, 5, 10, 20, 50, ... that keeps the x range under ~10 ticks; null without finite x values.
    private long? IntegerTickStep()
    {
        var xs = _traces.Where(t => t["x"] is JsonArray).SelectMany(t => t["x"]!.AsArray())
            .Select(v => v is JsonValue jv && jv.TryGetValue<double>(out var d) ? d : double.NaN).Where(double.IsFinite).ToList();
        if (xs.Count == 0) return null;
        var range = xs.Max() - xs.Min();
        for (long scale = 1; ; scale *= 10)
            foreach (var m in new long[] { 1, 2, 5 })
                if (range / (m * scale) <= 10) return m * scale;
    }

    private static JsonObject Axis(string? label, AxisType? type)
    {
        var a = new JsonObject();
        if (type is { } t) a["type"] = t switch { AxisType.Log => "log", AxisType.Category => "category", _ => "linear" };
        if (label is not null) a["title"] = new JsonObject { ["text"] = label };
        return a;
    }

    public string ToJsonString(bool indented = false) => ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = indented });

    /// <summary>Plotly JSON for renderers that have plotly, an HTML snippet for those that only render HTML.</summary>
    public Dictionary<string, object> ToMimeBundle() => new()
    {
        [MimeTypes.Plotly] = ToJson(),
        [MimeTypes.Html] = ChartExport.HtmlSnippet(this),
        [MimeTypes.Plain] = $"Figure \"{_title ?? "(untitled)"}\" with {_traces.Count} trace(s): " +
                            string.Join(", ", _traces.Select(t => $"{t["type"]} '{t["name"]}'")),
    };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Figure({_title}, {_traces.Count} traces)");
}
