namespace ViXml.Notebooks;

/// <summary>
/// <c>display(x)</c> for library code and cells: inside a running cell it adds a <c>display_data</c> output (the rich
/// mime bundle of an <see cref="ViXml.Reporting.IRichDisplay"/>, else REPL-style text/plain); elsewhere it prints the
/// text form to the console, so the same call works from the CLI or a test.
/// </summary>
public static class Display
{
    public static void Show(object? value)
    {
        var outputs = RoutedConsole.Active;
        if (outputs is not null) outputs.AddDisplay(value);
        else Console.WriteLine(value is string s ? s : CellOutputs.PlainText(value));
    }
}

/// <summary>
/// The globals object of every notebook script: its public members are in scope in each cell. Lower-case
/// <c>display</c> matches the name .NET Interactive and Jupyter users know.
/// </summary>
public class NotebookGlobals
{
    // ReSharper disable once InconsistentNaming
    public void display(object? value) => Display.Show(value);
}
