// Several suites swap the process-wide Console.Out/Error (in-process CLI runs, the notebook runner's stream capture).
// Running test classes in parallel let one suite's swap steal another's output, so the assembly runs serially.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
