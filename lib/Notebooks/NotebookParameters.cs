using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ViXml.Notebooks;

/// <summary>A bad <c>-p name=value</c>: unknown name, wrong type, or no parameters cell.</summary>
public sealed class NotebookParameterException(string message) : Exception(message);

/// <summary>A default declared in the cell tagged <c>parameters</c>, e.g. <c>string profile = "ci";</c>.</summary>
/// <param name="Name">Variable name.</param>
/// <param name="TypeName">C# keyword of its type (string, int, long, double, float, decimal, bool), or the declared
/// type text when the runner cannot inject it.</param>
/// <param name="DefaultText">The initializer as written.</param>
public sealed record NotebookParameter(string Name, string TypeName, string DefaultText)
{
    public bool Injectable => NotebookParameters.Supported.Contains(TypeName);
}

/// <summary>
/// Papermill conventions in C#: the cell tagged <c>parameters</c> declares defaults; <c>-p</c> values become a new
/// cell tagged <c>injected-parameters</c> right after it, each value typed like its default (a script submission may
/// redeclare a variable, so the later declaration wins).
/// </summary>
public static class NotebookParameters
{
    public const string ParametersTag = "parameters";
    public const string InjectedTag = "injected-parameters";

    internal static readonly HashSet<string> Supported = ["string", "int", "long", "double", "float", "decimal", "bool"];

    /// <summary>Reads the declarations of a parameters cell (top-level variable declarations only).</summary>
    public static IReadOnlyList<NotebookParameter> Declared(string source)
    {
        var tree = CSharpSyntaxTree.ParseText(NotebookRunner.StripMagics(source),
            new CSharpParseOptions(kind: SourceCodeKind.Script));
        var result = new List<NotebookParameter>();
        foreach (var decl in tree.GetRoot().DescendantNodes().OfType<VariableDeclarationSyntax>())
        {
            // Script top level: `int x = 1;` parses as a field, `var x = 1;` as a global local; skip anything nested.
            if (decl.Parent is not (FieldDeclarationSyntax or LocalDeclarationStatementSyntax)) continue;
            if (decl.Parent.Parent is not (CompilationUnitSyntax or GlobalStatementSyntax)) continue;
            foreach (var v in decl.Variables)
            {
                var init = v.Initializer?.Value;
                var type = decl.Type.IsVar ? InferLiteralType(init) : decl.Type.ToString();
                result.Add(new NotebookParameter(v.Identifier.Text, type ?? "var", init?.ToString() ?? ""));
            }
        }
        return result;
    }

    private static string? InferLiteralType(ExpressionSyntax? e)
    {
        if (e is PrefixUnaryExpressionSyntax { OperatorToken.Text: "-" or "+" } u) e = u.Operand;
        if (e is not LiteralExpressionSyntax lit) return null;
        return lit.Token.Value switch
        {
            string => "string",
            bool => "bool",
            int => "int",
            long => "long",
            double => "double",
            float => "float",
            decimal => "decimal",
            _ => null,
        };
    }

    /// <summary>Splits "name=value" (the value may contain '=').</summary>
    public static KeyValuePair<string, string> ParseAssignment(string text)
    {
        var eq = text.IndexOf('=');
        if (eq <= 0) throw new NotebookParameterException($"parameter '{text}' is not in the form name=value");
        return new(text[..eq].Trim(), text[(eq + 1)..]);
    }

    /// <summary>
    /// Inserts (or replaces) the <c>injected-parameters</c> cell after the <c>parameters</c> cell. Returns the cell,
    /// or null when there is nothing to inject.
    /// </summary>
    public static NotebookCell? Inject(Notebook nb, IReadOnlyList<KeyValuePair<string, string>> values)
    {
        // Re-running an executed notebook: papermill replaces the earlier injection; so do we.
        nb.Cells.RemoveAll(c => c.HasTag(InjectedTag));
        if (values.Count == 0) return null;
        var where = nb.Path ?? "notebook";
        var index = nb.Cells.FindIndex(c => c.CellType == "code" && c.HasTag(ParametersTag));
        if (index < 0)
            throw new NotebookParameterException(
                $"{where} has no code cell tagged '{ParametersTag}', so -p {values[0].Key}=... cannot be injected");
        var declared = Declared(nb.Cells[index].Source);
        var byName = new Dictionary<string, NotebookParameter>(StringComparer.Ordinal);
        foreach (var d in declared) byName[d.Name] = d;
        var known = byName.Count == 0 ? "(none)" : string.Join(", ", byName.Values.Select(d => $"{d.Name} ({d.TypeName})"));

        var sb = new StringBuilder("// Parameters injected by vixml nb run\n");
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, raw) in values)
        {
            if (!byName.TryGetValue(name, out var p))
                throw new NotebookParameterException($"{where}: unknown parameter '{name}'; known parameters: {known}");
            if (!p.Injectable)
                throw new NotebookParameterException(
                    $"{where}: parameter '{name}' has type {p.TypeName}; only {string.Join(", ", Supported)} can be set with -p");
            if (!done.Add(name)) throw new NotebookParameterException($"parameter '{name}' is given twice");
            sb.Append(p.TypeName).Append(' ').Append(name).Append(" = ").Append(Literal(p, raw)).Append(";\n");
        }
        var cell = NotebookCell.NewCode(sb.ToString().TrimEnd('\n'), InjectedTag);
        nb.Cells.Insert(index + 1, cell);
        return cell;
    }

    /// <summary>The C# literal for <paramref name="raw"/> typed like <paramref name="p"/>, or an error naming it.</summary>
    public static string Literal(NotebookParameter p, string raw)
    {
        var inv = CultureInfo.InvariantCulture;
        var s = raw.Trim();
        string? lit = p.TypeName switch
        {
            "string" => SymbolDisplay.FormatLiteral(raw, quote: true),
            "int" => int.TryParse(s, NumberStyles.Integer, inv, out var i) ? i.ToString(inv) : null,
            "long" => long.TryParse(s, NumberStyles.Integer, inv, out var l) ? l.ToString(inv) + "L" : null,
            "double" => double.TryParse(s, NumberStyles.Float, inv, out var d) ? DoubleLiteral(d) : null,
            "float" => float.TryParse(s, NumberStyles.Float, inv, out var f) && float.IsFinite(f)
                ? f.ToString("R", inv) + "f" : null,
            "decimal" => decimal.TryParse(s, NumberStyles.Float, inv, out var m) ? m.ToString(inv) + "m" : null,
            "bool" => s.ToLowerInvariant() switch { "true" => "true", "false" => "false", _ => null },
            _ => null,
        };
        return lit ?? throw new NotebookParameterException(
            $"parameter '{p.Name}' is {p.TypeName} (default {p.DefaultText}) but got '{raw}'");
    }

    private static string DoubleLiteral(double d)
    {
        if (double.IsNaN(d)) return "double.NaN";
        if (double.IsPositiveInfinity(d)) return "double.PositiveInfinity";
        if (double.IsNegativeInfinity(d)) return "double.NegativeInfinity";
        var t = d.ToString("R", CultureInfo.InvariantCulture);
        return t.Contains('.') || t.Contains('E') ? t : t + ".0";
    }
}
