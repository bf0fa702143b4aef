namespace ViXml.Models.Qwen2;

/// <summary>
/// The Qwen2.5 family's published config.json values, for memory planning and from-scratch shapes.
///
/// Source: the config.json files of Qwen/Qwen2.5-{0.5B,1.5B,3B,7B}[-Instruct] on the Hugging Face Hub, written here from
/// the project's knowledge of those files (no network access to re-check them). The shape-defining values (hidden,
/// intermediate, layers, heads, kv heads, vocab 151,936, rope_theta 1e6, rms_norm_eps 1e-6, tied embeddings) are the
/// well-known ones and are what every computation here uses. Fields marked "inert" (max_position_embeddings,
/// sliding_window, max_window_layers) do not change an embedding forward while use_sliding_window is false; they are
/// given as best recalled and may differ from the Hub files in detail. A real checkpoint is always loaded from its own
/// config.json, never from a preset.
/// </summary>
public static class Qwen2Presets
{
    private static Qwen2Config Make(int hidden, int inter, int layers, int heads, int kv, bool tied, int maxPos,
                                    int window, int maxWindowLayers, int eos) => new()
    {
        HiddenSize = hidden,
        IntermediateSize = inter,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kv,
        VocabSize = 151936,
        RmsNormEps = 1e-6,
        RopeTheta = 1000000.0,
        TieWordEmbeddings = tied,
        MaxPositionEmbeddings = maxPos, // inert
        UseSlidingWindow = false,
        SlidingWindow = window,         // inert
        MaxWindowLayers = maxWindowLayers, // inert
        BosTokenId = 151643,
        EosTokenId = eos,               // base: <|endoftext|> 151643; -Instruct: <|im_end|> 151645
        TorchDtype = "bfloat16",
    };

    /// <summary>Qwen2.5-0.5B: 494M parameters, hidden 896, 24 layers, 14/2 heads, tied.</summary>
    public static Qwen2Config Qwen25_0_5B => Make(896, 4864, 24, 14, 2, true, 32768, 32768, 24, 151643);
    /// <summary>Qwen2.5-0.5B-Instruct: same shapes; eos &lt;|im_end|&gt;.</summary>
    public static Qwen2Config Qwen25_0_5B_Instruct => Make(896, 4864, 24, 14, 2, true, 32768, 32768, 21, 151645);
    /// <summary>Qwen2.5-1.5B: hidden 1536, 28 layers, 12/2 heads, tied.</summary>
    public static Qwen2Config Qwen25_1_5B => Make(1536, 8960, 28, 12, 2, true, 131072, 131072, 28, 151643);
    /// <summary>Qwen2.5-1.5B-Instruct: same shapes; eos &lt;|im_end|&gt;.</summary>
    public static Qwen2Config Qwen25_1_5B_Instruct => Make(1536, 8960, 28, 12, 2, true, 32768, 32768, 21, 151645);
    /// <summary>Qwen2.5-3B: hidden 2048, 36 layers, 16/2 heads, tied.</summary>
    public static Qwen2Config Qwen25_3B => Make(2048, 11008, 36, 16, 2, true, 32768, 32768, 36, 151643);
    /// <summary>Qwen2.5-3B-Instruct (the paper's decoder): same shapes; eos &lt;|im_end|&gt;.</summary>
    public static Qwen2Config Qwen25_3B_Instruct => Make(2048, 11008, 36, 16, 2, true, 32768, 32768, 70, 151645);
    /// <summary>Qwen2.5-7B: hidden 3584, 28 layers, 28/4 heads, untied (separate lm_head).</summary>
    public static Qwen2Config Qwen25_7B => Make(3584, 18944, 28, 28, 4, false, 131072, 131072, 28, 151643);
    /// <summary>Qwen2.5-7B-Instruct: same shapes; eos &lt;|im_end|&gt;.</summary>
    public static Qwen2Config Qwen25_7B_Instruct => Make(3584, 18944, 28, 28, 4, false, 32768, 131072, 28, 151645);

    /// <summary>Presets by the Hub name (case-insensitive, with or without the "Qwen/" owner).</summary>
    public static IReadOnlyDictionary<string, Qwen2Config> ByName { get; } =
        new Dictionary<string, Qwen2Config>(StringComparer.OrdinalIgnoreCase)
        {
            ["Qwen2.5-0.5B"] = Qwen25_0_5B, ["Qwen2.5-0.5B-Instruct"] = Qwen25_0_5B_Instruct,
            ["Qwen2.5-1.5B"] = Qwen25_1_5B, ["Qwen2.5-1.5B-Instruct"] = Qwen25_1_5B_Instruct,
            ["Qwen2.5-3B"] = Qwen25_3B, ["Qwen2.5-3B-Instruct"] = Qwen25_3B_Instruct,
            ["Qwen2.5-7B"] = Qwen25_7B, ["Qwen2.5-7B-Instruct"] = Qwen25_7B_Instruct,
        };

    public static Qwen2Config Get(string name)
    {
        var key = name.StartsWith("Qwen/", StringComparison.OrdinalIgnoreCase) ? name[5..] : name;
        return ByName.TryGetValue(key, out var c)
            ? c
            : throw new ArgumentException($"unknown Qwen2 preset '{name}'; known: {string.Join(", ", ByName.Keys)}");
    }
}
