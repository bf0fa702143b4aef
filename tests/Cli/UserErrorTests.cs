using ViXml.Common;
using ViXml.Training.Config;
using ViXml.Xmc;

namespace ViXml.Tests.Cli;

/// <summary>How the CLI's top level prints any exception: one line, a kind, an exit code in 1..125.</summary>
public class UserErrorTests
{
    [Fact]
    public void KindsCodesAndOneLine()
    {
        Assert.Equal(ErrorKind.Input, UserError.Classify(new XmcFormatException("f.txt", 3, "bad")));
        Assert.Equal(ErrorKind.Input, UserError.Classify(new ConfigException("c.yaml:2: k: bad")));
        Assert.Equal(ErrorKind.Environment, UserError.Classify(new OutputPathException("cannot write x: disk full")));
        Assert.Equal(ErrorKind.Memory, UserError.Classify(new OutOfMemoryException()));
        Assert.Equal(ErrorKind.Internal, UserError.Classify(new NullReferenceException()));
        foreach (var k in Enum.GetValues<ErrorKind>()) Assert.InRange(UserError.ExitCode(k), 1, 125);
        var native = new InvalidDataException("libtorch said no\n  frame #0: c10::Error\n  frame #1: ...");
        Assert.Equal("libtorch said no (more with --verbose)", UserError.OneLine(native));
        Assert.StartsWith("internal error (NullReferenceException:", UserError.OneLine(new NullReferenceException()));
        Assert.Contains("--verbose", UserError.OneLine(new NullReferenceException()));
    }
}
