using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ViXml.Common;

namespace ViXml.Reporting.Site;

/// <summary>One page as headless Chromium saw it.</summary>
public sealed record PageCheck(string Page, IReadOnlyList<string> ConsoleErrors, IReadOnlyList<string> ExternalRequests,
    IReadOnlyList<string> FailedRequests, int Charts, int ChartsWithTraces, IReadOnlyList<string> EmptyCharts)
{
    public bool Ok => ConsoleErrors.Count == 0 && ExternalRequests.Count == 0 && FailedRequests.Count == 0 && EmptyCharts.Count == 0;

    /// <summary>document.title once the page settled (a script that ran could have changed it).</summary>
    public string? Title { get; init; }

    /// <summary>The value of the caller's probe expression on this page (<see cref="SiteCheck.Run"/>), as text.</summary>
    public string? Probe { get; init; }
}

/// <summary>The whole site's check; <see cref="Screenshot"/> is the index page as a PNG.</summary>
public sealed record SiteCheckResult(IReadOnlyList<PageCheck> Pages, string? Screenshot, double Seconds)
{
    public bool Ok => Pages.All(p => p.Ok) && Screenshot is not null;

    public IEnumerable<string> Problems() => Pages.SelectMany(p =>
        p.ConsoleErrors.Select(e => $"{p.Page}: console error: {e}")
            .Concat(p.ExternalRequests.Select(u => $"{p.Page}: request leaves the machine: {u}"))
            .Concat(p.FailedRequests.Select(u => $"{p.Page}: request failed: {u}"))
            .Concat(p.EmptyCharts.Select(c => $"{p.Page}: chart '{c}' drew no traces")));
}

/// <summary>
/// Opens every page of a results site in Debian's headless Chromium over the DevTools protocol (a local port) and
/// checks what a reader would see: no console errors or uncaught exceptions, no request that leaves the machine (only
/// file:, data:, blob:, about: and localhost), no failed request (a broken relative link to plotly.js shows up here),
/// every <c>div.vixml-chart</c> drew an SVG with at least one <c>.trace</c> per figure trace; then saves a full-page
/// screenshot of the index. Chromium runs with a fresh profile and is ended when the check ends.
/// </summary>
public static class SiteCheck
{
    /// <param name="probe">A JavaScript expression evaluated on each page after it settled (e.g. whether a hostile payload
    /// left a marker); its value is <see cref="PageCheck.Probe"/>.</param>
    public static SiteCheckResult Run(string siteDirectory, string screenshotPath, TextWriter? log = null, TimeSpan? pageTimeout = null,
        string? probe = null)
    {
        var site = Path.GetFullPath(siteDirectory);
        var index = Path.Combine(site, "index.html");
        if (!File.Exists(index)) throw new FileNotFoundException($"no index.html in {site} (run ./vixml report first)", index);
        var chromium = ChartExport.FindChromium()
                       ?? throw new FileNotFoundException("chromium is not installed (apt-get install chromium, or tools/setup.sh reproduce)");
        var pages = Directory.GetFiles(site, "*.html", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(site, p).Replace('\\', '/'))
            .OrderBy(p => p == "index.html" ? 0 : 1).ThenBy(p => p, StringComparer.Ordinal).ToList();
        var clock = Stopwatch.StartNew();
        var profile = Path.Combine(Path.GetTempPath(), "vixml-sitecheck-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var psi = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--disable-default-apps", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
                     "--disable-features=Translate,MediaRouter,OptimizationHints", "--remote-debugging-port=0",
                     "--remote-debugging-address=127.0.0.1", "--remote-allow-origins=*",
                     // no name resolves and no proxy is used: even a request the check would flag cannot reach a host
                     "--host-resolver-rules=MAP * ~NOTFOUND", "--no-proxy-server",
                     $"--user-data-dir={profile}", "--window-size=1280,900", "about:blank",
                 })
            psi.ArgumentList.Add(a);
        using var proc = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {chromium}");
        _ = proc.StandardOutput.ReadToEndAsync();
        var stderr = proc.StandardError.ReadToEndAsync();
        try
        {
            var endpoint = WaitForDevTools(profile, proc, stderr);
            using var cdp = Cdp.ConnectAsync(endpoint).GetAwaiter().GetResult();
            var checks = new List<PageCheck>();
            string? shot = null;
            foreach (var page in pages)
            {
                var check = CheckPage(cdp, new Uri(Path.Combine(site, page)).AbsoluteUri, page, pageTimeout ?? TimeSpan.FromSeconds(60), probe);
                checks.Add(check);
                log?.WriteLine($"{(check.Ok ? "ok  " : "FAIL")} {page}: {check.ChartsWithTraces}/{check.Charts} charts drawn, " +
                               $"{check.ConsoleErrors.Count} console errors, {check.ExternalRequests.Count} external requests");
                if (page == "index.html")
                {
                    Atomic.WriteAllBytes(screenshotPath, Screenshot(cdp));
                    shot = screenshotPath;
                }
            }
            return new SiteCheckResult(checks, shot, Math.Round(clock.Elapsed.TotalSeconds, 2));
        }
        finally
        {
            try { proc.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            proc.WaitForExit(10_000);
            try { Directory.Delete(profile, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    // Chromium writes "PORT\n/devtools/browser/ID" into DevToolsActivePort once it listens.
    private static Uri WaitForDevTools(string profile, Process proc, Task<string> stderr)
    {
        var file = Path.Combine(profile, "DevToolsActivePort");
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            if (proc.HasExited)
                throw new InvalidOperationException($"chromium exited with {proc.ExitCode} before DevTools listened: {Tail(stderr.Result)}");
            if (File.Exists(file))
            {
                var lines = File.ReadAllLines(file);
                if (lines.Length >= 2 && int.TryParse(lines[0], out var port))
                {
                    // A page target, not the browser target: Page/Runtime domains live there.
                    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
                    var list = JsonNode.Parse(http.GetStringAsync($"http://127.0.0.1:{port}/json/list").GetAwaiter().GetResult()) as JsonArray;
                    var ws = list?.FirstOrDefault(t => (string?)t?["type"] == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
                    if (ws is not null) return new Uri(ws);
                }
            }
            Thread.Sleep(100);
        }
        throw new TimeoutException("chromium did not open its DevTools port within 30 s");
    }

    private static string Tail(string s) => s.Length > 600 ? s[^600..] : s;

    private static bool LeavesMachine(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u)) return false;
        return u.Scheme switch
        {
            "file" or "data" or "blob" or "about" or "chrome" or "devtools" => false,
            _ => !(u.IsLoopback || u.Host == "localhost"),
        };
    }

    private static string? Level(JsonNode p) => (string?)p["entry"]?["level"];

    private static PageCheck CheckPage(Cdp cdp, string url, string page, TimeSpan timeout, string? probeExpression)
    {
        var consoleErrors = new List<string>();
        var external = new List<string>();
        var failed = new List<string>();
        var requestUrls = new Dictionary<string, string>();
        var loaded = false;
        void OnEvent(string method, JsonNode p)
        {
            switch (method)
            {
                case "Runtime.consoleAPICalled" when (string?)p["type"] is "error" or "assert":
                    consoleErrors.Add(string.Join(" ", (p["args"] as JsonArray ?? []).Select(a => a?["value"]?.ToString() ?? a?["description"]?.ToString() ?? "")));
                    break;
                case "Runtime.exceptionThrown":
                    var d = p["exceptionDetails"];
                    var what = (string?)d?["exception"]?["description"] ?? (string?)d?["text"];
                    var where = (string?)d?["url"] + ":" + d?["lineNumber"]?.ToString();
                    consoleErrors.Add($"uncaught: {what} ({where})");
                    break;
                case "Log.entryAdded" when Level(p) == "error":
                    var entry = p["entry"]!;
                    consoleErrors.Add(($"{entry["source"]}: {entry["text"]} " + (string?)entry["url"]).Trim());
                    break;
                case "Network.requestWillBeSent":
                    var u = (string?)p["request"]?["url"] ?? "";
                    requestUrls[(string?)p["requestId"] ?? ""] = u;
                    if (LeavesMachine(u)) external.Add(u);
                    break;
                case "Network.loadingFailed":
                    var id = (string?)p["requestId"] ?? "";
                    var reqUrl = requestUrls.GetValueOrDefault(id, id);
                    if (!LeavesMachine(reqUrl)) failed.Add($"{reqUrl} ({p["errorText"]})");
                    break;
                case "Page.loadEventFired":
                    loaded = true;
                    break;
            }
        }
        cdp.OnEvent = OnEvent;
        cdp.Call("Page.enable");
        cdp.Call("Runtime.enable");
        cdp.Call("Log.enable");
        cdp.Call("Network.enable");
        cdp.Call("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = 1280, ["height"] = 900, ["deviceScaleFactor"] = 1, ["mobile"] = false });
        cdp.Call("Page.navigate", new JsonObject { ["url"] = url });
        var until = DateTime.UtcNow + timeout;
        while (!loaded && DateTime.UtcNow < until) cdp.Pump(TimeSpan.FromMilliseconds(100));
        if (!loaded) consoleErrors.Add($"page did not finish loading within {timeout.TotalSeconds:0} s");

        // Plotly draws synchronously in newPlot, but give late work (fonts, responsive relayout) a moment.
        const string probe = """
            JSON.stringify(Array.from(document.querySelectorAll('div.vixml-chart')).map(function (el) {
              return { id: el.id, expected: (el.data || []).length,
                       svg: el.querySelectorAll('svg.main-svg').length, traces: el.querySelectorAll('svg.main-svg .trace').length };
            }))
            """;
        JsonArray charts = [];
        for (var attempt = 0; attempt < 20; attempt++)
        {
            cdp.Pump(TimeSpan.FromMilliseconds(attempt == 0 ? 200 : 250));
            var r = cdp.Call("Runtime.evaluate", new JsonObject { ["expression"] = probe, ["returnByValue"] = true });
            charts = JsonNode.Parse((string?)r?["result"]?["value"] ?? "[]") as JsonArray ?? [];
            if (charts.All(c => (int)c!["svg"]! > 0 && (int)c["traces"]! >= Math.Max(1, (int)c["expected"]!))) break;
        }
        var empty = charts.Where(c => !((int)c!["svg"]! > 0 && (int)c["traces"]! >= Math.Max(1, (int)c["expected"]!)))
            .Select(c => $"{c!["id"]} ({c["traces"]} of {c["expected"]} traces)").ToList();
        string? Eval(string expression) =>
            cdp.Call("Runtime.evaluate", new JsonObject { ["expression"] = $"String({expression})", ["returnByValue"] = true })?["result"]?["value"]?.ToString();
        var title = Eval("document.title");
        var probed = probeExpression is null ? null : Eval(probeExpression);
        cdp.OnEvent = null;
        return new PageCheck(page, consoleErrors, external.Distinct().ToList(), failed, charts.Count, charts.Count - empty.Count, empty)
            { Title = title, Probe = probed };
    }

    private static byte[] Screenshot(Cdp cdp)
    {
        var metrics = cdp.Call("Page.getLayoutMetrics");
        var size = metrics?["cssContentSize"] ?? metrics?["contentSize"];
        var height = Math.Min(16000, (int)Math.Ceiling(size?["height"]?.GetValue<double>() ?? 900));
        var r = cdp.Call("Page.captureScreenshot", new JsonObject
        {
            ["format"] = "png", ["captureBeyondViewport"] = true,
            ["clip"] = new JsonObject { ["x"] = 0, ["y"] = 0, ["width"] = 1280, ["height"] = height, ["scale"] = 1 },
        });
        return Convert.FromBase64String((string?)r?["data"] ?? throw new InvalidOperationException("chromium returned no screenshot"));
    }

    /// <summary>A minimal DevTools-protocol client: numbered calls, answers matched by id, events to a callback.</summary>
    private sealed class Cdp : IDisposable
    {
        private readonly ClientWebSocket _ws = new();
        private int _next;

        public Action<string, JsonNode>? OnEvent { get; set; }

        public static async Task<Cdp> ConnectAsync(Uri endpoint)
        {
            var c = new Cdp();
            c._ws.Options.KeepAliveInterval = TimeSpan.Zero;
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await c._ws.ConnectAsync(endpoint, cts.Token).ConfigureAwait(false);
            return c;
        }

        public JsonNode? Call(string method, JsonObject? parameters = null)
        {
            var id = ++_next;
            var msg = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
            _ws.SendAsync(Encoding.UTF8.GetBytes(msg.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None).GetAwaiter().GetResult();
            var until = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < until)
            {
                var m = Receive(TimeSpan.FromSeconds(60));
                if (m is null) continue;
                if (m["id"] is JsonValue v && v.GetValue<int>() == id)
                {
                    if (m["error"] is { } err) throw new InvalidOperationException($"DevTools {method}: {err["message"]}");
                    return m["result"];
                }
                Dispatch(m);
            }
            throw new TimeoutException($"DevTools {method}: no answer within 60 s");
        }

        /// <summary>Handles events for up to <paramref name="wait"/>.</summary>
        public void Pump(TimeSpan wait)
        {
            var until = DateTime.UtcNow + wait;
            while (true)
            {
                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return;
                var m = Receive(left);
                if (m is null) return;
                Dispatch(m);
            }
        }

        private void Dispatch(JsonNode m)
        {
            if ((string?)m["method"] is { } method) OnEvent?.Invoke(method, m["params"] ?? new JsonObject());
        }

        private Task<WebSocketReceiveResult>? _pending;
        private readonly byte[] _buffer = new byte[1 << 16];
        private readonly MemoryStream _message = new();

        // One outstanding receive at a time, kept across timeouts so no frame is lost.
        private JsonNode? Receive(TimeSpan wait)
        {
            while (true)
            {
                _pending ??= _ws.ReceiveAsync(_buffer, CancellationToken.None);
                if (!_pending.Wait(wait)) return null;
                var r = _pending.Result;
                _pending = null;
                if (r.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException("chromium closed the DevTools connection");
                _message.Write(_buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                var node = JsonNode.Parse(_message.ToArray());
                _message.SetLength(0);
                return node;
            }
        }

        public void Dispose() => _ws.Dispose();
    }

    /// <summary>The check as JSON (site-check.json beside the screenshot).</summary>
    public static string ToJson(SiteCheckResult r) => JsonSerializer.Serialize(new
    {
        ok = r.Ok,
        seconds = r.Seconds,
        screenshot = r.Screenshot is null ? null : Path.GetFileName(r.Screenshot),
        pages = r.Pages.Select(p => new
        {
            page = p.Page, ok = p.Ok, charts = p.Charts, charts_with_traces = p.ChartsWithTraces, console_errors = p.ConsoleErrors,
            external_requests = p.ExternalRequests, failed_requests = p.FailedRequests, empty_charts = p.EmptyCharts,
        }),
    }, new JsonSerializerOptions { WriteIndented = true });
}
