using System.CommandLine;
using ViXml.Training;
using ViXml.Training.Config;

namespace ViXml.Cli.Commands;

/// <summary><c>vixml train --config F [--out DIR] [--resume] [--set key=value ...]</c>: contrastive XMC training.</summary>
public sealed class TrainCommand : ICliCommand
{
    public Command Build()
    {
        var config = new Option<string>("--config") { Description = "YAML configuration (see configs/: ci, cpu, presets/*)", Required = true };
        var outDir = new Option<string?>("--out") { Description = "run folder (default <run.out_dir>/<name>)" };
        var resume = new Option<bool>("--resume") { Description = "continue the run in the folder from its last checkpoint" };
        var overwrite = new Option<bool>("--overwrite") { Description = "replace an existing run in the folder (only a folder holding run.json, or empty)" };
        var set = new Option<string[]>("--set") { Description = "override a key, e.g. --set optim.epochs=5 (repeatable)", AllowMultipleArgumentsPerToken = false };
        var cmd = new Command("train", "Train a Siamese XMC retriever (triplet loss, in-batch hard negatives, NGAME batches).");
        foreach (var o in new Option[] { config, outDir, resume, overwrite, set }) cmd.Options.Add(o);
        cmd.SetAction(pr => UserErrors.Guard(() =>
        {
            ResolvedConfig<TrainConfig> cfg;
            try
            {
                cfg = ConfigLoader.LoadFile<TrainConfig>(pr.GetValue(config)!, pr.GetValue(set) ?? []);
                cfg.Value.Validate();
            }
            catch (ConfigException e) { throw new CliException(e.Message); }
            var trainer = new Trainer(cfg);
            var dir = pr.GetValue(outDir) ?? trainer.DefaultRunDir;
            bool resuming = pr.GetValue(resume);
            if (resuming && pr.GetValue(overwrite)) throw new CliException("--resume and --overwrite exclude each other");
            try
            {
                if (pr.GetValue(overwrite)) ViXml.Training.Runs.RunFolder.Remove(dir);
                else if (!resuming) ViXml.Training.Runs.RunFolder.CheckNew(dir);
                else
                {
                    ViXml.Training.Runs.RunFolder.ReadRunJson(dir);
                    if (ViXml.Training.Runs.RunFolder.FindCheckpoint(dir) is null)
                        throw new CliException($"{dir}: no checkpoint to resume from");
                }
            }
            catch (Exception e) when (e is InvalidOperationException or InvalidDataException or FileNotFoundException)
            {
                throw new CliException(e.Message);
            }
            Console.Out.WriteLine($"config {cfg.Source} (sha256 {cfg.Hash[..12]}) -> {dir}");
            // A decoder in bf16 on a CPU without bf16 instructions runs emulated bf16 matmuls (80x slower than float32 on
            // an AVX2-only machine): say so before hours go by. Only CPU training exists today.
            if (cfg.Value.Model.Encoder == EncoderKind.Qwen2 && cfg.Value.Model.Decoder.Dtype is "bf16" or "bfloat16"
                && ViXml.Torch.CpuFeatures.Current().Bf16Warning() is { } bf16)
                Console.Error.WriteLine($"warning: model.decoder.dtype bf16: {bf16}");
            try
            {
                var r = trainer.Run(dir, pr.GetValue(resume));
                Console.Out.WriteLine($"done: {r.EpochsDone} epochs in {r.Seconds:F0} s; run folder {r.RunDir}");
            }
            catch (Exception e) when (e is ConfigException or InvalidOperationException or IOException or InvalidDataException
                                          or ViXml.Xmc.XmcFormatException)
            {
                throw new CliException(e.Message);
            }
            return 0;
        }));
        return cmd;
    }
}
