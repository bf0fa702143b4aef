using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Text.Unicode;

namespace ViXml.Tests.Text;

public class UnicodeNormalizerTests
{
    private static readonly Lazy<List<(string S, string Nfc, string Nfd)>> Cases = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Repo.Fixture("tokenizers", "unicode_norm.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => (c.GetProperty("s").GetString()!, c.GetProperty("nfc").GetString()!, c.GetProperty("nfd").GetString()!))
            .ToList();
    });

    [Fact]
    public void Matches_python_unicodedata_on_random_tricky_strings()
    {
        Assert.Equal(400, Cases.Value.Count);
        foreach (var (s, nfc, nfd) in Cases.Value)
        {
            Assert.True(nfd == UnicodeNormalizer.Nfd(s), $"NFD of {Escape(s)}: expected {Escape(nfd)} got {Escape(UnicodeNormalizer.Nfd(s))}");
            Assert.True(nfc == UnicodeNormalizer.Nfc(s), $"NFC of {Escape(s)}: expected {Escape(nfc)} got {Escape(UnicodeNormalizer.Nfc(s))}");
        }
    }

    [Fact]
    public void Hand_checked_examples()
    {
        Assert.Equal("e\u0301", UnicodeNormalizer.Nfd("é"));
        Assert.Equal("é", UnicodeNormalizer.Nfc("e\u0301"));
        Assert.Equal("\u1112\u1161\u11AB", UnicodeNormalizer.Nfd("한"));
        Assert.Equal("한", UnicodeNormalizer.Nfc("\u1112\u1161\u11AB"));
        Assert.Equal("\u00C5", UnicodeNormalizer.Nfc("\u212B"));        // Angstrom sign is a singleton
        Assert.Equal("\u0915\u093C", UnicodeNormalizer.Nfc("\u0958"));   // composition exclusion stays decomposed
        Assert.Equal("a\u0323\u0301", UnicodeNormalizer.Nfd("a\u0301\u0323")); // canonical order: 220 before 230
        Assert.Equal("ascii only", UnicodeNormalizer.Nfc("ascii only"));
    }

    private static string Escape(string s) => string.Join(' ', s.EnumerateRunes().Select(r => $"U+{r.Value:X4}"));
}
