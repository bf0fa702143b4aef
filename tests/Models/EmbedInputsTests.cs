using ViXml.Models;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Models;

public class EmbedInputsTests
{
    private static string Write(string text)
    {
        var p = Path.Combine(Repo.TempDir("vixml-ids"), "ids.txt");
        File.WriteAllText(p, text);
        return p;
    }

    [Fact]
    public void Ids_are_used_exactly_as_given_and_padded_to_the_longest_row()
    {
        var rows = EmbedInputs.ReadIds(Write("5 9 10 6\n7\n 5  8\t6 \n"), vocabSize: 51, maxPositions: 40);
        Assert.Equal([[5, 9, 10, 6], [7], [5, 8, 6]], rows);
        var (ids, mask, b, t) = EmbedInputs.Pad(rows, 1, 2, padId: 0);
        Assert.Equal((2, 3), (b, t));
        Assert.Equal([7, 0, 0, 5, 8, 6], ids);
        Assert.Equal([1, 0, 0, 1, 1, 1], mask);
    }

    [Theory]
    [InlineData("5 6\n5 51\n", ":2: id 51 is out of range [0, 51)")]
    [InlineData("5 6\n-1\n", ":2: id -1 is out of range")]
    [InlineData("5 x 6\n", ":1: token 2 'x' is not an integer id")]
    [InlineData("5 6\n\n7\n", ":2: empty sequence")]
    [InlineData("1 2 3 4 5\n", ":1: 5 ids exceed the model's max_position_embeddings 4")]
    public void Bad_ids_name_file_and_line(string text, string expected)
    {
        var p = Write(text);
        var e = Assert.Throws<EmbedInputException>(() => EmbedInputs.ReadIds(p, 51, 4));
        Assert.Contains(p + expected, e.Message);
    }
}
