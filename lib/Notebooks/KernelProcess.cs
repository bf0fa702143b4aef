using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace ViXml.Notebooks;

/// <summary>The worker program (tools/nbkernel) could not be found or did not start.</summary>
public sealed class KernelStartException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One message from the kernel worker, or the end of the process.</summary>
/// <param name="Kind">ready, stream, display, result, error, fatal, exiting, done; "stray" = text the process wrote
/// to stdout/stderr outside the protocol; "exited" = the process is gone.</param>
internal sealed record KernelMessage(string Kind, JsonObject Body);

/// <summary>
/// The .NET Interactive kernel in its own process (tools/nbkernel), as Jupyter runs a kernel beside papermill: a cell
/// that overflows the stack, calls Environment.Exit or crashes a thread ends that process, not the runner. Talks JSON
/// lines over the worker's stdin/stdout (protocol lines carry a per-run token); stderr and stray stdout are kept as text.
/// </summary>
internal sealed class KernelProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _token;
    private readonly Channel<KernelMessage> _messages = Channel.CreateUnbounded<KernelMessage>();
    private readonly StringBuilder _stderrTail = new();
    private readonly Task _stdoutPump, _stderrPump;
    private const int TailChars = 16_000;

    private KernelProcess(Process process, string token)
    {
        _process = process;
        _token = token;
        _stdoutPump = Task.Run(PumpStdout);
        _stderrPump = Task.Run(PumpStderr);
    }

    public int ProcessId => _process.Id;

    /// <summary>The last characters the process wrote to stderr (what the runtime prints when it dies).</summary>
    public string StderrTail
    {
        get { lock (_stderrTail) return _stderrTail.ToString(); }
    }

    /// <summary>
    /// The worker's nbkernel.dll: $VIXML_NBKERNEL, else tools/nbkernel/bin/{Release,Debug}/net10.0/ under the
    /// repository root (./vixml and the test project build it).
    /// </summary>
    public static string WorkerPath()
    {
        var env = Environment.GetEnvironmentVariable("VIXML_NBKERNEL");
        if (!string.IsNullOrEmpty(env))
            return File.Exists(env) ? Path.GetFullPath(env) : throw new KernelStartException($"VIXML_NBKERNEL points to a missing file: {env}");
        var root = ViXml.Reporting.ChartExport.RepoRoot();
        var tried = new List<string>();
        if (root is not null)
            foreach (var config in new[] { "Release", "Debug" })
            {
                var p = Path.Combine(root, "tools", "nbkernel", "bin", config, "net10.0", "nbkernel.dll");
                if (File.Exists(p)) return p;
                tried.Add(p);
            }
        throw new KernelStartException(
            $"the notebook kernel worker is not built (looked for {(tried.Count > 0 ? string.Join(", ", tried) : "tools/nbkernel under the repository root, which was not found")}); " +
            "run `dotnet build tools/nbkernel/nbkernel.csproj -c Release` or ./vixml, or set VIXML_NBKERNEL");
    }

    public static KernelProcess Start(string workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var worker = WorkerPath();
        var token = "\u001eVXK" + Guid.NewGuid().ToString("N")[..8] + " ";
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        var psi = new ProcessStartInfo(string.IsNullOrEmpty(host) || !File.Exists(host) ? "dotnet" : host)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(worker);
        psi.Environment["VIXML_NBKERNEL_TOKEN"] = token;
        // The worker's own telemetry and first-run banners would only add noise and time.
        psi.Environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new KernelStartException($"could not start the kernel worker {worker}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new KernelStartException($"could not start the kernel worker ({psi.FileName} {worker}): {e.Message}", e);
        }
        process.StandardInput.AutoFlush = true;
        process.StandardInput.NewLine = "\n";
        return new KernelProcess(process, token);
    }

    /// <summary>Sends one cell; false when the process is already gone.</summary>
    public bool Submit(int cellIndex, string kernelName, string code)
    {
        try
        {
            var line = new JsonObject { ["op"] = "run", ["cell"] = cellIndex, ["kernel"] = kernelName, ["code"] = code }.ToJsonString();
            _process.StandardInput.WriteLine(line);
            return true;
        }
        catch (IOException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>The next message, or null when <paramref name="timeout"/> passes first.</summary>
    public async Task<KernelMessage?> NextAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout != Timeout.InfiniteTimeSpan) cts.CancelAfter(timeout);
        try
        {
            return await _messages.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>The exit code once the process has ended (waits briefly for the runtime to finish).</summary>
    public int? ExitCode()
    {
        try
        {
            return _process.WaitForExit(5000) ? _process.ExitCode : null;
        }
        catch (InvalidOperationException) { return null; }
    }

    public void Kill()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }

    private async Task PumpStdout()
    {
        var reader = _process.StandardOutput;
        while (await reader.ReadLineAsync() is { } line)
        {
            var at = line.IndexOf(_token, StringComparison.Ordinal);
            if (at >= 0)
            {
                // Native code may have written part of a line before our message: keep that text too.
                if (at > 0) Post("stray", new JsonObject { ["name"] = "stdout", ["text"] = line[..at] + "\n" });
                JsonObject? body = null;
                try { body = JsonNode.Parse(line[(at + _token.Length)..]) as JsonObject; }
                catch (System.Text.Json.JsonException) { }
                if (body is not null) Post((string?)body["ev"] ?? "unknown", body);
                continue;
            }
            Post("stray", new JsonObject { ["name"] = "stdout", ["text"] = line + "\n" });
        }
        await _stderrPump;
        await Task.Run(() => _process.WaitForExit());
        Post("exited", new JsonObject { ["code"] = _process.ExitCode });
        _messages.Writer.TryComplete();
    }

    private async Task PumpStderr()
    {
        var reader = _process.StandardError;
        var buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
        {
            var text = new string(buffer, 0, n);
            lock (_stderrTail)
            {
                _stderrTail.Append(text);
                if (_stderrTail.Length > TailChars) _stderrTail.Remove(0, _stderrTail.Length - TailChars);
            }
            Post("stray", new JsonObject { ["name"] = "stderr", ["text"] = text });
        }
    }

    private void Post(string kind, JsonObject body) => _messages.Writer.TryWrite(new KernelMessage(kind, body));

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                try { _process.StandardInput.WriteLine("{\"op\":\"quit\"}"); _process.StandardInput.Close(); }
                catch (IOException) { }
                if (!_process.WaitForExit(5000)) Kill();
            }
            await Task.WhenAny(Task.WhenAll(_stdoutPump, _stderrPump), Task.Delay(5000));
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
