using ViXml.Experiments;
using ViXml.Models.Qwen2;
using ViXml.Tests.TestSupport;
using ViXml.Text.Prompts;
using ViXml.Training.Config;

namespace ViXml.Tests.Experiments;

/// <summary>Notebooks 05 and 06: rows from the templates file, the profiles' rows and schedules, the paper profile's dry
/// run, and the decoder plan's counts (by hand from the Qwen2.5-0.5B shapes).</summary>
public class PromptScalingExperimentsTests
{
    [Fact]
    public void PromptRowsComeFromTheTemplatesFile()
    {
        var rows = PromptAblationExperiment.Rows();
        var names = rows.Select(r => r.Name).ToList();
        // One decoder row per built-in template, in file order, then the pooling and attention variants of the paper's.
        Assert.Equal(PromptTemplates.Names.Select(n => "decoder: " + n), names.Take(PromptTemplates.Names.Count()));
        Assert.Contains("decoder: t1-e-eeos, last-token pooling", names);
        Assert.Contains("decoder: t1-e-eeos, bidirectional", names);
        Assert.All(rows.Where(r => r.Encoder == "decoder"), r => Assert.Equal(PromptAblationExperiment.DecoderGroup, r.Group));
        // The encoder path: eos is [SEP] already, prefix-eos = prefix, image-first = t1-e-eeos (images always before [CLS]).
        var minilm = rows.Where(r => r.Group == PromptAblationExperiment.MiniLmGroup).ToList();
        Assert.Equal(["minilm: none", "minilm: prefix", "minilm: t1-e-eeos", "minilm: image-first-no-prefix",
            "minilm: none, cls pooling", "minilm: none, last-token pooling"], minilm.Select(r => r.Name));
        Assert.Contains("also eos", minilm[0].Layout);
        Assert.Contains("also image-first", minilm[2].Layout);
        Assert.Equal(("This product text", true), (minilm[2].TextPrefix, minilm[2].Images));
        Assert.Equal(("", true), (minilm[3].TextPrefix, minilm[3].Images));
        Assert.Equal("causal", Assert.Single(rows, r => r.Group == PromptAblationExperiment.AttentionGroup).Attention);
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void ANewTemplateIsANewRowNotCode()
    {
        var dir = Repo.TempDir("vixml-templates");
        var file = Path.Combine(dir, "templates.yaml");
        File.WriteAllText(file, File.ReadAllText(PromptTemplates.LocateBuiltIn()) +
            "  item-colon:\n    description: a short prefix\n    order: [prefix, text, suffix]\n    prefix: \"Item:\"\n    suffix: <|endoftext|>\n");
        var rows = PromptAblationExperiment.Rows(file);
        var dec = Assert.Single(rows, r => r.Name == "decoder: item-colon");
        Assert.Equal("[Item:][text][<|endoftext|>]", dec.Layout);
        var enc = Assert.Single(rows, r => r.Name == "minilm: item-colon");
        Assert.Equal(("Item:", false), (enc.TextPrefix, enc.Images));
        Assert.Contains("data.text_prefix=Item:", PromptAblationExperiment.RowOverrides(enc, "/d", "resnet18"));
        Assert.Contains("model.decoder.template=item-colon", PromptAblationExperiment.RowOverrides(dec, "/d", "resnet18"));
    }

    [Theory]
    [InlineData("smoke")]
    [InlineData("ci")]
    [InlineData("cpu")]
    [InlineData("paper")]
    public void EveryProfileHasRowsAndASchedule(string profile)
    {
        var rows = PromptAblationExperiment.Rows();
        var chosen = PromptAblationExperiment.DefaultRows(profile, rows);
        Assert.NotEmpty(chosen);
        Assert.All(chosen, n => Assert.Contains(rows, r => r.Name == n));
        Assert.All(ScalingExperiment.DefaultRows(profile), n => Assert.Contains(n, ScalingExperiment.RowNamesKnown()));
        var dec = PromptAblationExperiment.ProfileOverrides(profile, "decoder");
        Assert.Contains(profile == "cpu" ? "optim.epochs=8" : "optim.epochs=3", dec);
        Assert.Equal(profile == "smoke", dec.Contains("data.max_train=256"));
        // Every row's configuration resolves and validates under the profile's overrides.
        foreach (var r in rows.Where(r => chosen.Contains(r.Name)))
        {
            var o = PromptAblationExperiment.ProfileOverrides(profile, r.Encoder).Concat(PromptAblationExperiment.RowOverrides(r, "/d", "resnet18"));
            ConfigLoader.LoadFile<TrainConfig>(Repo.Path_("configs", PromptAblationExperiment.ConfigFile(r.Encoder)), o).Value.Validate();
        }
        foreach (var e in ScalingExperiment.Encoders)
        {
            var (file, o) = ScalingExperiment.ConfigFor(e, profile);
            var c = ConfigLoader.LoadFile<TrainConfig>(Repo.Path_("configs", file), o).Value;
            c.Validate();
            if (e.Pretrained is null) Assert.Equal((e.Hidden, e.Layers), (c.Model.Hidden, c.Model.Layers));
        }
    }

    [Fact]
    public void UnknownProfilesRowsAndDecodersAreClearErrors()
    {
        Assert.Contains("unknown profile 'gpu'",
            Assert.Throws<ArgumentException>(() => PromptAblationExperiment.Run(new PromptAblationConfig { Profile = "gpu" })).Message);
        Assert.Contains("unknown row 'decoder: nope'",
            Assert.Throws<ArgumentException>(() => PromptAblationExperiment.Run(new PromptAblationConfig { RowNames = ["decoder: nope"] })).Message);
        Assert.Contains("unknown decoder 'Qwen2.5-14B'",
            Assert.Throws<ArgumentException>(() => ScalingExperiment.Run(new ScalingConfig { LayerTimings = ["Qwen2.5-14B"] })).Message);
    }

    [Fact]
    public void ThePaperProfileValidatesEveryRowAndTrainsNothing()
    {
        var r = PromptAblationExperiment.Run(new PromptAblationConfig { Profile = "paper", RunsRoot = Repo.TempDir("vixml-prompt-paper") });
        Assert.Empty(r.Runs);
        Assert.Equal(PromptAblationExperiment.Rows().Count, r.Summary.Rows.Count);
        var col = r.Summary.Columns.ToList().IndexOf("validated");
        Assert.All(r.Summary.Rows, row => Assert.Equal("yes", row[col]));
        Assert.Contains("nothing trained", r.Summary.Scale!.Note);
    }

    [Fact]
    public void TheDecoderPlanCountsMatchTheShapesByHand()
    {
        // Qwen2.5-0.5B: H 896, kv 2 x 64 = 128, I 4864, 24 layers. LoRA r: q (896+896) + k, v (896+128) + o (896+896)
        // + gate, up (896+4864) + down (4864+896) = 22,912 per rank per layer.
        var (e, plan) = ScalingExperiment.PaperPlan("Qwen2.5-0.5B", rank: 256, seqLen: 40);
        Assert.Equal(22912L * 256 * 24, e.LoraParameters);
        // Parameters: embeddings 151,936 x 896 (tied) + 24 layers x (attention 896·896·2 + 896·128·2 + biases 896+128+128
        // + MLP 3·896·4864 + 2 norms) + final norm.
        long layer = 896L * 896 * 2 + 896L * 128 * 2 + 896 + 128 + 128 + 3L * 896 * 4864 + 2 * 896;
        Assert.Equal(151936L * 896 + 24 * layer + 896, e.BaseParameters);
        Assert.Equal(2 * e.BaseParameters, e.WeightBytes);
        Assert.Contains("not a dry run", plan);
        Assert.Equal(Qwen2Presets.Qwen25_0_5B.ParameterCount(), e.BaseParameters);
    }
}
