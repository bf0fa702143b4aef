namespace ViXml.Experiments;

/// <summary>
/// What every notebook experiment's configuration has: the profile, the data, the methods and seeds, the metric
/// settings and where runs go. <see cref="TextEncodersConfig"/>, <see cref="PretrainedEncodersConfig"/> and
/// <see cref="FusionConfig"/> add their own settings and set their defaults (dataset, methods, seeds) in their
/// constructors; a notebook's object initializer overrides any of them.
/// </summary>
public abstract record ExperimentConfig
{
    /// <summary>smoke (a few hundred queries, seconds of training), ci (small data, short schedule), cpu (full data) or
    /// paper (a user-supplied dataset folder); <see cref="ExperimentProfile"/>.</summary>
    public string Profile { get; init; } = "ci";

    /// <summary>Embedded dataset to train and evaluate on (ignored when <see cref="DataDir"/> is given).</summary>
    public string Dataset { get; init; } = "debian-deps-titles";

    /// <summary>Methods to compare, in table order (each experiment lists its known ones).</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];

    /// <summary>Seeds of the trained methods (deterministic ones run once).</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [1, 2, 3];

    /// <summary>Largest k of P@k / PSP@k.</summary>
    public int K { get; init; } = 5;

    /// <summary>Propensity model parameters of PSP@k (pyxclib; the paper's Amazon values).</summary>
    public double PropensityA { get; init; } = 0.6;

    public double PropensityB { get; init; } = 2.6;

    /// <summary>Parent of the embedded dataset folders (default &lt;repo&gt;/data).</summary>
    public string? DataRoot { get; init; }

    /// <summary>A dataset folder to use as it is (profile paper: the user's XC folder; also test fixtures).</summary>
    public string? DataDir { get; init; }

    /// <summary>Build the Debian datasets from this apt folder (tests/fixtures/apt-fake layout) instead of the system's lists.</summary>
    public string? AptDir { get; init; }

    /// <summary>Extra <c>key.sub=value</c> overrides applied last (e.g. "optim.epochs=1").</summary>
    public IReadOnlyList<string> TrainOverrides { get; init; } = [];

    /// <summary>What a table's scale line adds when <see cref="TrainOverrides"/> changed the profile's schedule
    /// ("; training overrides: a, b"), so a tweaked re-run never passes for the profile's own; "" without overrides.</summary>
    public string OverridesNote() => TrainOverrides.Count == 0 ? "" : "; training overrides: " + string.Join(", ", TrainOverrides);

    /// <summary>What a table's scale line adds about the schedule that ran: "; schedule: FILE + key=value, ..." (the
    /// profile's overrides of the training file, run.* bookkeeping left out), so the line says which schedule produced
    /// the numbers; "" when nothing was trained.</summary>
    public static string ScheduleNote(string configFile, IEnumerable<string> profileOverrides, bool trained = true)
    {
        if (!trained) return "";
        var keys = profileOverrides.Where(o => !o.StartsWith("run.", StringComparison.Ordinal)).ToList();
        return $"; schedule: {configFile}" + (keys.Count == 0 ? " as written" : " + " + string.Join(", ", keys));
    }

    /// <summary>Parent of the run folders (default &lt;repo&gt;/results/runs/&lt;experiment&gt;-&lt;profile&gt;).</summary>
    public string? RunsRoot { get; init; }
}
