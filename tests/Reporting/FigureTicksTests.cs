using System.Text.Json.Nodes;
using ViXml.Reporting;

namespace ViXml.Tests.Reporting;

/// <summary>Integer ticks for epoch axes: Plotly's automatic ticks put 0.5, 1.5 on a 0..2 epoch curve.</summary>
public class FigureTicksTests
{
    private static JsonObject XAxis(Figure f) => f.ToJson()["layout"]!["xaxis"]!.AsObject();

    [Theory]
    [InlineData(2, 1)]    // the ci profile: epochs 0, 1, 2
    [InlineData(10, 1)]
    [InlineData(11, 2)]
    [InlineData(30, 5)]
    [InlineData(100, 10)]
    [InlineData(150, 20)]
    [InlineData(400, 50)]
    public void EpochAxesTickAtWholeNumbersWithAtMostAboutTenTicks(int epochs, int expectedStep)
    {
        var x = Enumerable.Range(0, epochs + 1).Select(e => (double)e).ToList();
        var axis = XAxis(new Figure().XAxis("epoch").IntegerX().Line("loss", x, x.Select(v => 1 / (1 + v))));
        Assert.Equal("linear", (string?)axis["tickmode"]);
        Assert.Equal(0, (int)axis["tick0"]!);
        Assert.Equal(expectedStep, (long)axis["dtick"]!);
        Assert.Equal("epoch", (string?)axis["title"]!["text"]);
    }

    [Fact]
    public void WithoutFiniteXValuesOrWithoutTheOptionPlotlyChooses()
    {
        Assert.False(XAxis(new Figure().IntegerX()).ContainsKey("dtick"));
        Assert.False(XAxis(new Figure().IntegerX().Line("gap", [double.NaN], [1])).ContainsKey("dtick"));
        Assert.False(XAxis(new Figure().Line("l", [0, 1, 2], [1, 2, 3])).ContainsKey("dtick"));
    }
}
