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
        var allowChanged = new Option<bool>("--allow-changed-bank") { Description = "score a fusion run with the dataset's image bank even when it differs from the one run.json records (a warning is printed)" };
        var cmd = new Command("eval", "Evaluate a trained run's model on its dataset's test split (exact top-k search).");
        cmd.Options.Add(run);
        cmd.Options.Add(json);
        cmd.Options.Add(allowChanged);
        cmd.SetAction(pr => UserErrors.Guard(() =>
        {
            ViXml.Xmc.XmcMetricsResult m;
            IReadOnlyDictionary<int, ViXml.Xmc.XmcMetricsResult> byImages;
            try
            {
                ViXml.Training.Runs.RunFolder.ReadRunJson(pr.GetValue(run)!);   // a broken run.json is named before anything loads
                (m, byImages) = Trainer.EvaluateRunByImages(pr.GetValue(run)!, null,
                    pr.GetValue(allowChanged) ? w => Console.Error.WriteLine($"warning: {w}") : null);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ViXml.Training.Config.ConfigException
                                          or ViXml.Xmc.XmcFormatException or System.Text.Json.JsonException
                                          or ViXml.Models.Hf.HfConfigException or ViXml.Models.Hf.CheckpointMismatchException
                                          or ViXml.SafeTensors.SafeTensorsException)
            {
                throw new CliException(e.Message);
            }
            if (pr.GetValue(json))
            {
                var o = System.Text.Json.Nodes.JsonNode.Parse(m.ToJson())!.AsObject();
                if (byImages.Count > 0)   // fusion runs: the same keys with at most n images per test item
                    o["by_images"] = new System.Text.Json.Nodes.JsonObject(byImages.Select(kv =>
                        KeyValuePair.Create(kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            (System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonNode.Parse(kv.Value.ToJson()))));
                Console.Out.Write(o.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
            }
            else
            {
                Console.Out.Write(m.ToTable());
                foreach (var (n, mn) in byImages)
                    Console.Out.Write($"\nat most {n} image(s) per test item:\n" + mn.ToTable());
            }
            return 0;
        }));
        return cmd;
    }
}
