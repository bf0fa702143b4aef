using System.CommandLine;
using ViXml.Training;

namespace ViXml.Cli.Commands;

/// <summary><c>vixml eval --run DIR [--json]</c>: re-embeds the test split with a run's saved model and scores it.</summary>
public sealed class EvalCommand : ICliCommand
{
    public Command Build()
    {
        var run = new Option<string>("--run") { Description = "run folder written by `vixml train` (run.json + model/)", Required = true };
        var json = new Option<bool>("--json") { Description = "print one JSON object with the keys of `vixml metrics --json`" };
        var cmd = new Command("eval", "Evaluate a trained run's model on its dataset's test split (exact top-k search).");
        cmd.Options.Add(run);
        cmd.Options.Add(json);
        cmd.SetAction(pr => UserErrors.Guard(() =>
        {
            ViXml.Xmc.XmcMetricsResult m;
            try
            {
                ViXml.Training.Runs.RunFolder.ReadRunJson(pr.GetValue(run)!);   // a broken run.json is named before anything loads
                m = Trainer.EvaluateRun(pr.GetValue(run)!);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ViXml.Training.Config.ConfigException
                                          or ViXml.Xmc.XmcFormatException or System.Text.Json.JsonException
                                          or ViXml.Models.Hf.HfConfigException or ViXml.Models.Hf.CheckpointMismatchException
                                          or ViXml.Torch.SafeTensors.SafeTensorsException)
            {
                throw new CliException(e.Message);
            }
            Console.Out.Write(pr.GetValue(json) ? m.ToJson() + "\n" : m.ToTable());
            return 0;
        }));
        return cmd;
    }
}
