using System.CommandLine;

namespace ViXml.Cli;

/// <summary>
/// One top-level CLI command (e.g. <c>doctor</c>, <c>data</c>, <c>metrics</c>, <c>nb</c>).
/// Implementations live in tools/vixml/Commands/, one file per top-level command, and are discovered
/// by reflection, so adding a command never edits Program.cs. Keep them thin: parse options, call lib/, print.
/// </summary>
public interface ICliCommand
{
    Command Build();
}
