namespace ViXml.Tests.Qwen2;

/// <summary>
/// The "Console" collection (trainer and CLI tests, which redirect Console and reseed libtorch's global generator, and
/// the Qwen2 torch tests) runs with no other test in parallel: a concurrent test drawing from the global generator
/// (e.g. an nn.Linear constructor) would otherwise shift the trainer's dropout draws and break its bitwise
/// stop/resume check (observed: TrainerTests.StopAndResumeEqualsUninterrupted failing about every other full run).
/// </summary>
[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;
