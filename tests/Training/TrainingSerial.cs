namespace ViXml.Tests.Training;

/// <summary>
/// Tests that train (libtorch's global generator drives dropout; thread count is process-wide) or capture Console run
/// alone, after the parallel tests: another test drawing from the global generator at the same time would change the
/// dropout masks and break the bitwise resume comparison.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrainingSerial
{
    public const string Name = "Training (serial: global torch RNG, Console)";
}
