using System.Diagnostics;
using System.Text.Json.Nodes;

namespace ViXml.Tests.Notebooks;

/// <summary>Helpers for reading executed notebooks and validating them with Debian's nbformat.</summary>
internal static class NbSupport
{
    public static JsonObject Read(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    public static JsonArray Cells(JsonObject nb) => (JsonArray)nb["cells"]!;

    public static JsonObject Cell(JsonObject nb, int i) => (JsonObject)Cells(nb)[i]!;

    public static List<JsonObject> Outputs(JsonObject cell) => ((JsonArray)cell["outputs"]!).Select(o => (JsonObject)o!).ToList();

    /// <summary>nbformat "multiline string" joined.</summary>
    public static string SourceText(JsonNode? n) => n switch
    {
        JsonArray a => string.Concat(a.Select(x => (string?)x)),
        null => "",
        _ => (string)n!,
    };

    public static string Source(JsonObject cell) => SourceText(cell["source"]);

    /// <summary>
    /// Validates with Debian's python3-nbformat (the independent check the issue asks for). Skips only when
    /// /usr/bin/python3 lacks nbformat.
    /// </summary>
    public static void AssertValidNbformat(string path)
    {
        var r = ViXml.Notebooks.NbformatCheck.Validate(path);
        if (!r.Checked) Assert.Skip("Debian's python3-nbformat is not installed for /usr/bin/python3 (apt-get install python3-nbformat)");
        Assert.True(r.Valid, r.Error);
    }

    public static (int Code, string Out, string Err) Python(string script, params string[] args)
    {
        if (!File.Exists("/usr/bin/python3")) return (127, "", "No such file: /usr/bin/python3");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    }
}

public class NbformatCheckTests
{
    [Fact]
    public void TheValidatorRejectsANotebookWithoutCellIds()
    {
        // nbformat 4.5 requires cell ids; the same cell without one must be rejected, or the checks above prove nothing.
        var dir = ViXml.Tests.TestSupport.Repo.TempDir();
        var path = Path.Combine(dir, "noid.ipynb");
        File.WriteAllText(path, """
            {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "x"}],
             "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            """);
        var r = ViXml.Notebooks.NbformatCheck.Validate(path);
        if (!r.Checked) Assert.Skip("Debian's python3-nbformat is not installed for /usr/bin/python3");
        Assert.False(r.Valid);
        Assert.Contains("noid.ipynb", r.Error);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"metadata\": {}, \"source\"", "\"id\": \"a\", \"metadata\": {}, \"source\""));
        Assert.True(ViXml.Notebooks.NbformatCheck.Validate(path).Valid);
    }
}
