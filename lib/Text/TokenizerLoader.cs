using System.Text.Json;

namespace ViXml.Text;

/// <summary>Picks and loads the tokenizer of a model folder (Hugging Face layout).</summary>
public static class TokenizerLoader
{
    /// <summary>
    /// tokenizer.json if present (model.type WordPiece → <see cref="WordPieceTokenizer"/>, BPE →
    /// <see cref="ByteLevelBpeTokenizer"/>), else vocab.txt (WordPiece; casing from tokenizer_config.json's
    /// do_lower_case / strip_accents / tokenize_chinese_chars when present, uncased BERT defaults otherwise).
    /// For BPE, tokenizer_config.json's pad_token is used when tokenizer.json has no padding section.
    /// </summary>
    public static ITokenizer FromModelDir(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"model folder not found: {dir}");
        var json = Path.Combine(dir, "tokenizer.json");
        var vocab = Path.Combine(dir, "vocab.txt");
        var config = Path.Combine(dir, "tokenizer_config.json");
        if (File.Exists(json))
        {
            var type = TokenizerJson.ModelType(json);
            return type switch
            {
                "WordPiece" => TokenizerJson.LoadWordPiece(json),
                "BPE" => TokenizerJson.LoadBpe(json, padToken: ConfigString(config, "pad_token")),
                _ => throw TokenizerJson.Unsupported(json, "model.type", type, "WordPiece, BPE"),
            };
        }
        if (File.Exists(vocab))
        {
            var opts = new WordPieceOptions();
            if (File.Exists(config))
            {
                using var doc = ParseConfig(config);
                var root = doc.RootElement;
                opts = opts with
                {
                    Lowercase = TokenizerJson.OptBool(root, "do_lower_case", config) ?? true,
                    StripAccents = TokenizerJson.OptBool(root, "strip_accents", config),
                    HandleChineseChars = TokenizerJson.OptBool(root, "tokenize_chinese_chars", config) ?? true,
                };
            }
            return WordPieceTokenizer.FromVocabFile(vocab, opts);
        }
        throw new FileNotFoundException($"{dir}: no tokenizer.json or vocab.txt in the model folder", json);
    }

    /// <summary>A tokenizer file: *.json as tokenizer.json, anything else as a WordPiece vocab.txt.</summary>
    public static ITokenizer FromFile(string path)
    {
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return WordPieceTokenizer.FromVocabFile(path);
        var type = TokenizerJson.ModelType(path);
        return type switch
        {
            "WordPiece" => TokenizerJson.LoadWordPiece(path),
            "BPE" => TokenizerJson.LoadBpe(path),
            _ => throw TokenizerJson.Unsupported(path, "model.type", type, "WordPiece, BPE"),
        };
    }

    private static JsonDocument ParseConfig(string path)
    {
        try { return JsonDocument.Parse(ViXml.Common.InputFile.ReadAllBytes(path)); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }

    /// <summary>A token setting of tokenizer_config.json: a string or an {"content": …} object; null if absent.</summary>
    private static string? ConfigString(string config, string key)
    {
        if (!File.Exists(config)) return null;
        using var doc = ParseConfig(config);
        if (!doc.RootElement.TryGetProperty(key, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            JsonValueKind.Null => null,
            _ => throw TokenizerJson.Bad(config, key, "a string, {\"content\": …} or null"),
        };
    }
}
