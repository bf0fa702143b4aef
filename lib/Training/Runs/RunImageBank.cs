using System.Text.Json.Nodes;
using ViXml.SafeTensors;
using ViXml.Xmc;

namespace ViXml.Training.Runs;

/// <summary>
/// Re-scoring a saved fusion run (<c>eval --run</c>) with the image bank it was trained with. run.json records the
/// bank's name, width and sha256 (<c>image_bank</c>); the bank now in the dataset folder is compared with that record
/// before anything is scored: a bank re-embedded under the same name (other rows, another model) would otherwise give
/// other numbers without a word. A different width is always an error (the saved adapter cannot read it); a different
/// digest is an error unless the caller accepts it (<c>--allow-changed-bank</c>), which then gets a warning line.
/// </summary>
public static class RunImageBank
{
    /// <param name="runDir">The run folder (run.json, model/).</param>
    /// <param name="runJson">run.json as parsed.</param>
    /// <param name="images">The bank loaded for re-scoring (null for a text-only run: nothing to check).</param>
    /// <param name="dataDir">The dataset folder the bank was loaded from.</param>
    /// <param name="onChanged">Null: a changed bank is refused. Otherwise it receives the warning and scoring goes on.</param>
    public static void Verify(string runDir, JsonNode runJson, SplitImages? images, string dataDir, Action<string>? onChanged)
    {
        if (images is null) return;
        var bankFile = Path.Combine(dataDir, ImageBanks.EmbsFile(images.Name));
        int dim = images.Set.Bank.Dim;
        var adapter = Path.Combine(runDir, "model", Trainer.ImageAdapterFile);
        if (File.Exists(adapter))
        {
            using var f = SafeTensorsFile.Open(adapter);
            foreach (var key in new[] { "image_adapter.proj.weight", "image_adapter.fc1.weight" })
                if (f.Contains(key) && f.Info(key).Shape is { Length: 2 } s && s[1] != dim)
                    throw new InvalidDataException(
                        $"{bankFile}: the bank is {dim}-d but the run's image adapter ({adapter}) reads {s[1]}-d features: the bank was " +
                        "replaced (another vision model?) since training; restore the bank the run was trained with or train again");
        }
        if (runJson["image_bank"] is not JsonObject rec) return;   // a run from before the record: nothing to compare
        var runJsonPath = Path.Combine(runDir, "run.json");
        if (rec["dim"] is JsonValue d && d.TryGetValue(out int recDim) && recDim != dim)
            throw new InvalidDataException(
                $"{bankFile}: the bank is {dim}-d but {runJsonPath} records a {recDim}-d bank '{rec["name"]}': restore the bank the run was trained with or train again");
        if (rec["bank_sha256"] is not JsonValue h || !h.TryGetValue(out string? recorded) || recorded is null) return;
        var now = ImageBanks.Digest(bankFile);
        if (now == recorded) return;
        var what = $"{bankFile} changed since the run was trained (sha256 {recorded[..12]}... in {runJsonPath}, now {now[..12]}...): " +
                   "the scores would come from other image features than the run was trained and evaluated with";
        if (onChanged is null)
            throw new InvalidDataException($"{what}; restore that bank, or pass --allow-changed-bank to score with the new one");
        onChanged($"{what}; scoring with the new bank as asked (--allow-changed-bank)");
    }
}
