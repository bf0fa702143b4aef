using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using ViXml.Common;
using ViXml.Models.Import;
using ViXml.Models.Vision;
using ViXml.SafeTensors;
using ViXml.Tests.TestSupport;
using ViXml.Tests.Xmc;
using ViXml.Training;
using ViXml.Training.Runs;
using ViXml.Xmc;
using ViXml.Xmc.Debian;
using ViXml.Xmc.Images;

namespace ViXml.Tests.Cli;

/// <summary>
/// The data, manifest and CLI classes of the third bad-input probe (issue 20): names that leave their folder, devices
/// and FIFOs, silent re-scoring, data loss on rebuilds and parallel runs, user errors reported as internal ones, absurd
/// allocations and unclear messages. Each test drives the mechanism (the shared rule), not only the one input found.
/// </summary>
public class ProbeDataTests : IDisposable
{
    private readonly string _dir = Repo.TempDir("vixml-probe-data");
    public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

    private string W(string name, string text)
    {
        var p = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
        return p;
    }

    private static void OneLineError((int Code, string Out, string Err) r, string expected)
    {
        Assert.InRange(r.Code, 1, 125);
        Assert.True(r.Code is not (70 or 71), $"exit {r.Code}: an internal or memory error for bad input\n{r.Err}");
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("note:")).ToArray();
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: "), $"expected one error line, got:\n{r.Err}");
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("internal error", r.Err);
    }

    /// <summary>Runs <paramref name="a"/> with a time limit: a reader that blocks on a FIFO or reads /dev/zero fails the test instead of hanging it.</summary>
    private static T Within<T>(Func<T> a, int seconds = 60)
    {
        var t = Task.Run(a);
        bool done;
        try { done = t.Wait(TimeSpan.FromSeconds(seconds)); }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException!).Throw();
            throw;
        }
        Assert.True(done, $"still running after {seconds} s (blocked on a device or pipe?)");
        return t.Result;
    }

    private static void MkFifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]) { RedirectStandardError = true })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    private static string? _appsCache;
    private static readonly object Gate = new();

    /// <summary>A private copy of a debian-apps-mm build of the apt fixture (images, img bank, maps, manifest).</summary>
    private string Apps()
    {
        lock (Gate)
        {
            if (_appsCache is null)
            {
                var d = Path.Combine(Path.GetTempPath(), $"vixml-probe-apps-{Environment.ProcessId}");
                if (!File.Exists(Path.Combine(d, "manifest.json")))
                    DebianDatasets.BuildTo("debian-apps-mm", "full", AptInputs.FromDirectory(Repo.Fixture("apt-fake")), d);
                _appsCache = d;
            }
        }
        var mine = Path.Combine(_dir, "apps");
        Copy(_appsCache, mine);
        return mine;
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)), true);
        foreach (var d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    private static void WriteManifest(string ds, string name, params (string File, string Sha)[] inputs)
    {
        var bank = ImageBank.Read(Path.Combine(ds, ImageBanks.EmbsFile("img")));
        if (name != "img") File.Copy(Path.Combine(ds, ImageBanks.EmbsFile("img")), Path.Combine(ds, ImageBanks.EmbsFile(name)), true);
        var m = new ImageBankManifest
        {
            Name = name, Model = "test", Preprocessing = "none", NumImages = bank.NumImages, Dim = bank.Dim,
            Inputs = inputs.Select(i => new FileDigest(i.File, i.Sha)).ToList(),
            Outputs = [new FileDigest(ImageBanks.EmbsFile(name), ImageBanks.Digest(Path.Combine(ds, ImageBanks.EmbsFile(name))))],
        };
        File.WriteAllBytes(Path.Combine(ds, ImageBanks.ManifestFile(name)), m.ToJson());
    }

    // ---- 1. path traversal: one rule for every folder-relative name

    [Theory]
    [InlineData("../../etc/passwd", "'..'")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("images/../../x", "'..'")]
    [InlineData("a//b", "empty path component")]
    [InlineData("./x", "'.'")]
    [InlineData("a\\b", "backslash")]
    [InlineData("a\0b", "control character")]
    [InlineData("", "empty")]
    public void FolderNamesThatLeaveTheFolderAreRefused(string name, string why)
    {
        Assert.Contains(why, FolderName.Problem(name));
        Assert.Throws<InputFileException>(() => FolderName.Resolve("/tmp/x", name, "m.json"));
    }

    [Fact]
    public void FolderNamesInsideTheFolderPass()
    {
        foreach (var ok in new[] { "images", "img.ids.txt", "images/a.png", "a..b", "..a", "model-00001-of-00002.safetensors" })
            Assert.Null(FolderName.Problem(ok));
        Assert.Contains("plain file name", FolderName.Problem("images/a.png", subfolders: false));
    }

    [Theory]
    [InlineData("../../../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("/dev/zero")]
    public void BankManifestInputsOutsideTheFolderAreRefusedBeforeAnythingIsOpened(string input)
    {
        var ds = Apps();
        WriteManifest(ds, "img", (input, new string('0', 64)));
        var e = Assert.Throws<XmcFormatException>(() => Within(() => ImageBanks.Load(ds, "img")));
        Assert.Contains("inputs[0].file", e.Message);
        OneLineError(Within(() => CliRunner.Run("images", "check", "--data", ds, "--name", "img")), "inputs[0].file");
        var check = Within(() => CliRunner.Run("data", "check", ds));
        Assert.Equal(1, check.Code);
        Assert.Contains("inputs[0].file", check.Err);
    }

    [Fact]
    public void DatasetManifestAndShardIndexUseTheSameRule()
    {
        var ds = Apps();
        var m = File.ReadAllText(Path.Combine(ds, "manifest.json"));
        File.WriteAllText(Path.Combine(ds, "manifest.json"), m.Replace("\"file\": \"trn.raw.txt\"", "\"file\": \"images/../../../etc/passwd\""));
        Assert.Contains(DatasetManifest.Verify(ds, true), e => e.Contains("'images/../../../etc/passwd' has a '..' component"));

        var model = Path.Combine(_dir, "sharded");
        Directory.CreateDirectory(model);
        var index = W("sharded/model.safetensors.index.json", "{\"weight_map\": {\"w\": \"sub/../../x.safetensors\"}}");
        var se = Assert.Throws<SafeTensorsException>(() => ShardedSafeTensors.Open(index));
        Assert.Contains("plain file name", se.Message);
    }

    [Fact]
    public void ImageListNamesLeavingImagesAreRefused()
    {
        var ds = Apps();
        var ids = File.ReadAllLines(Path.Combine(ds, "img.ids.txt"));
        ids[0] = "../manifest.json";
        File.WriteAllLines(Path.Combine(ds, "img.ids.txt"), ids);
        var check = CliRunner.Run("data", "check", ds);
        Assert.Equal(1, check.Code);
        Assert.Contains("img.ids.txt:1: '../manifest.json' is not a file name inside images/", check.Err);
    }

    // ---- 2. devices and FIFOs: stat before reading

    [Fact]
    public void AnImageSymlinkedToADeviceIsRefusedNotRead()
    {
        var ds = Apps();
        var first = File.ReadLines(Path.Combine(ds, "img.ids.txt")).First();
        var img = Path.Combine(ds, "images", first);
        File.Delete(img);
        File.CreateSymbolicLink(img, "/dev/zero");
        WriteManifest(ds, "img", ("images", new string('0', 64)), ("img.ids.txt", ImageBanks.Digest(Path.Combine(ds, "img.ids.txt"))));
        OneLineError(Within(() => CliRunner.Run("images", "check", "--data", ds, "--name", "img")), "device, pipe or socket");
        var check = Within(() => CliRunner.Run("data", "check", ds));
        Assert.Equal(1, check.Code);
        Assert.Contains($"images/{first}: is a device, pipe or socket", check.Err);
        // images embed refuses it while checking the list, before the model runs
        var e = Assert.Throws<XmcFormatException>(() => Within(() => ImageBankBuilder.Build(ds, _dir, new FakeTower(), "fake", 4)));
        Assert.Contains("device, pipe or socket", e.Message);
    }

    [Fact]
    public void FifosAndDevicesAsModelFilesFailFast()
    {
        var model = Path.Combine(_dir, "model");
        Directory.CreateDirectory(model);
        File.Copy(Repo.Fixture("bert", "bert_plain", "config.json"), Path.Combine(model, "config.json"));
        MkFifo(Path.Combine(model, "model.safetensors"));
        OneLineError(Within(() => CliRunner.Run("model", "info", model)), "device, pipe or socket");
        var se = Assert.Throws<SafeTensorsException>(() => Within(() => SafeTensorsFile.Open(Path.Combine(model, "model.safetensors"))));
        Assert.Contains("device, pipe or socket", se.Message);

        File.Delete(Path.Combine(model, "config.json"));
        File.CreateSymbolicLink(Path.Combine(model, "config.json"), "/dev/zero");   // once read 2 GB before refusing
        long before = GC.GetAllocatedBytesForCurrentThread();
        OneLineError(CliRunner.Run("model", "info", model), "config.json");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20, "read the device before refusing it");
        Assert.Equal(InputFile.FileKind.Other, InputFile.Stat(Path.Combine(model, "config.json")).Kind);
    }

    [Fact]
    public void InputFileOnlyOpensRegularFiles()
    {
        var fifo = Path.Combine(_dir, "fifo");
        MkFifo(fifo);
        foreach (var p in new[] { fifo, "/dev/zero", "/dev/null" })
        {
            Assert.Contains("device, pipe or socket", InputFile.Problem(p));
            Assert.Throws<InputFileException>(() => Within(() => InputFile.ReadAllBytes(p)));
            Assert.Throws<InputFileException>(() => Within(() => InputFile.Sha256(p)));
        }
        var big = W("big.json", new string(' ', 4096));
        Assert.Throws<InputLimitException>(() => InputFile.OpenRead(big, maxBytes: 100));
    }

    // ---- 3. silent wrong results

    [Fact]
    public void EvalComparesTheBankWithTheRunRecord()
    {
        var ds = Apps();
        var images = new SplitImages(null!, null!, null!, ImageBanks.Load(ds, "img"), "img");
        var bankSha = ImageBanks.Digest(Path.Combine(ds, "img_embs.npy"));
        var run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(Path.Combine(run, "model"));
        JsonNode Rec(string sha, int dim) => new JsonObject { ["image_bank"] = new JsonObject { ["name"] = "img", ["dim"] = dim, ["bank_sha256"] = sha } };

        RunImageBank.Verify(run, Rec(bankSha, images.Set.Bank.Dim), images, ds, null);   // unchanged: scores
        var changed = Assert.Throws<InvalidDataException>(() => RunImageBank.Verify(run, Rec(new string('a', 64), images.Set.Bank.Dim), images, ds, null));
        Assert.Contains("changed since the run was trained", changed.Message);
        Assert.Contains("--allow-changed-bank", changed.Message);
        var warnings = new List<string>();
        RunImageBank.Verify(run, Rec(new string('a', 64), images.Set.Bank.Dim), images, ds, warnings.Add);
        Assert.Contains("scoring with the new bank as asked", Assert.Single(warnings));
        var width = Assert.Throws<InvalidDataException>(() => RunImageBank.Verify(run, Rec(bankSha, 512), images, ds, warnings.Add));
        Assert.Contains($"the bank is {images.Set.Bank.Dim}-d", width.Message);
        Assert.Equal(ErrorKind.Input, UserError.Classify(width));

        // the adapter's width is read from its header: a run without a record is still caught
        using (var w = torch_zeros(8, images.Set.Bank.Dim + 1))
            TensorFile.Save(Path.Combine(run, "model", Trainer.ImageAdapterFile), new Dictionary<string, TorchSharp.torch.Tensor> { ["image_adapter.proj.weight"] = w });
        var adapter = Assert.Throws<InvalidDataException>(() => RunImageBank.Verify(run, new JsonObject(), images, ds, null));
        Assert.Contains($"reads {images.Set.Bank.Dim + 1}-d features", adapter.Message);
    }

    private static TorchSharp.torch.Tensor torch_zeros(long a, long b) => TorchSharp.torch.zeros(a, b);

    [Fact]
    public void Bm25ParametersAreRangeChecked()
    {
        var ds = Path.Combine(_dir, "ds");
        Assert.Equal(0, CliRunner.Run("data", "build", "debian-deps-titles", "--size", "full", "--apt-dir", Repo.Fixture("apt-fake"), "--out", ds).Code);
        OneLineError(CliRunner.Run("baseline", "bm25", "--data", ds, "--k1", "NaN"), "--k1/--bm25-b: k1 must be a number in [0, 100]");
        OneLineError(CliRunner.Run("baseline", "bm25", "--data", ds, "--k1", "-1"), "k1 must be");
        OneLineError(CliRunner.Run("baseline", "bm25", "--data", ds, "--k1", "1e308"), "k1 must be");
        OneLineError(CliRunner.Run("baseline", "bm25", "--data", ds, "--bm25-b", "5"), "b must be a number in [0, 1]");
        Assert.Equal(0, CliRunner.Run("baseline", "bm25", "--data", ds, "--k1", "0", "--bm25-b", "1").Code);
        Assert.Throws<ArgumentException>(() => new ViXml.Training.Baselines.Bm25(["a"], double.PositiveInfinity));
    }

    [Fact]
    public void ZeroTestRowsAreAUserError()
    {
        var y = W("y0.txt", "0 3\n");
        OneLineError(CliRunner.Run("metrics", "--truth", y, "--scores", y), "no rows");
        OneLineError(CliRunner.Run("metrics", "--truth", y, "--scores", y, "--json"), "no rows");
        var e = Assert.Throws<InvalidDataException>(() => XmcMetrics.Compute(XcSparse.Read(y), XcSparse.Read(y), null, 5));
        Assert.Contains("no rows", e.Message);
    }

    [Fact]
    public void DataBuildOutputAlwaysPassesDataCheck()
    {
        var apt = Path.Combine(_dir, "apt");
        Copy(Repo.Fixture("apt-fake"), apt);
        var tr = File.ReadAllText(Path.Combine(apt, "Translation-en"));
        var huge = string.Join(' ', Enumerable.Repeat("word", 3_600_000));   // 18 MB in one description
        tr = tr.Replace(" Alpha is a small editor for plain text.", " Alpha is a small\0 editor for plain text. " + huge);
        File.WriteAllText(Path.Combine(apt, "Translation-en"), tr);
        var ds = Path.Combine(_dir, "deps");
        var build = CliRunner.Run("data", "build", "debian-deps", "--size", "full", "--apt-dir", apt, "--out", ds);
        Assert.True(build.Code == 0, build.Err);
        var rep = DatasetCheck.Run(ds);
        Assert.True(rep.Ok, string.Join("\n", rep.Errors));
        Assert.Contains("\"texts_sanitised\"", File.ReadAllText(Path.Combine(ds, "manifest.json")));
        Assert.DoesNotContain('\0', File.ReadAllText(Path.Combine(ds, "trn.raw.txt")) + File.ReadAllText(Path.Combine(ds, "tst.raw.txt")));
    }

    [Fact]
    public void RawTextWriteRefusesWhatReadRefuses()
    {
        Assert.Throws<ArgumentException>(() => RawText.Write(Path.Combine(_dir, "x.txt"), ["a\0b"]));
        Assert.Throws<ArgumentException>(() => RawText.Write(Path.Combine(_dir, "x.txt"), [new string('é', RawText.MaxLineBytes / 2 + 1)]));
        var cut = RawText.ForLine(new string('é', RawText.MaxLineBytes / 2 + 10), out bool changed);
        Assert.True(changed);
        Assert.True(Encoding.UTF8.GetByteCount(cut) <= RawText.MaxLineBytes);
        Assert.Equal("a b", RawText.ForLine("a\0b", out _));
        Assert.Equal("plain", RawText.ForLine("plain", out bool same));
        Assert.False(same);
    }

    // ---- 4. data loss

    [Fact]
    public void ASecondRunOnTheSameFolderIsRefusedWithTheHoldersPid()
    {
        var run = Path.Combine(_dir, "runs", "r1");
        using (RunFolder.Lock(run))
        {
            using (RunFolder.Lock(run)) { }   // re-entrant on the holder's thread (CLI, then Trainer.Run)
            var other = Assert.Throws<InvalidOperationException>(() => OnAnotherThread(() => RunFolder.Lock(run).Dispose()));
            Assert.Contains($"process {Environment.ProcessId}", other.Message);
            Assert.Contains("in use by another run", other.Message);
            Assert.False(Directory.Exists(run));   // the lock lives beside the folder: a new folder stays empty
        }
        OnAnotherThread(() => RunFolder.Lock(run).Dispose());   // released

        // a lock file left by a killed run (its pid gone, its flock dropped by the kernel) is taken over
        File.WriteAllText(RunFolder.LockPath(run) + ".pid", "999999999\n");
        using (RunFolder.Lock(run))
            Assert.Equal($"{Environment.ProcessId}", File.ReadAllText(RunFolder.LockPath(run) + ".pid").Trim());
    }

    /// <summary>Runs <paramref name="a"/> on a new thread (a task could be inlined on the waiting one) and rethrows its exception.</summary>
    private static void OnAnotherThread(Action a)
    {
        Exception? error = null;
        var t = new Thread(() => { try { a(); } catch (Exception e) { error = e; } });
        t.Start();
        t.Join();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
    }

    [Fact]
    public void ALockHeldByAnotherProcessIsRespected()
    {
        var run = Path.Combine(_dir, "r2");
        Directory.CreateDirectory(_dir);
        File.WriteAllText(RunFolder.LockPath(run), "");
        using var holder = Process.Start(new ProcessStartInfo("flock", [RunFolder.LockPath(run), "sleep", "20"]))!;   // waits for any gap of ours
        try
        {
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < 10)
            {
                try { RunFolder.Lock(run).Dispose(); Thread.Sleep(50); }
                catch (InvalidOperationException e) { Assert.Contains("in use by another run", e.Message); return; }
            }
            Assert.Fail("the flock(1) holder's lock was not seen");
        }
        finally { holder.Kill(); holder.WaitForExit(); }
    }

    [Fact]
    public void DatasetRebuildKeepsBanksAndUserFilesAndNamesStaleBanks()
    {
        var ds = Path.Combine(_dir, "ds");
        var args = new[] { "data", "build", "debian-apps-mm", "--size", "full", "--apt-dir", Repo.Fixture("apt-fake"), "--out", ds };
        Assert.Equal(0, CliRunner.Run(args).Code);
        File.WriteAllText(Path.Combine(ds, "my-notes.txt"), "mine\n");
        WriteManifest(ds, "enc", ("images", new string('1', 64)), ("img.ids.txt", ImageBanks.Digest(Path.Combine(ds, "img.ids.txt"))));
        var again = CliRunner.Run(args);
        Assert.Equal(0, again.Code);
        Assert.Equal("mine\n", File.ReadAllText(Path.Combine(ds, "my-notes.txt")));
        Assert.True(File.Exists(Path.Combine(ds, "enc_embs.npy")) && File.Exists(Path.Combine(ds, "enc_embs.json")));
        Assert.Contains("note: kept 3 entries the build does not write: enc_embs.json, enc_embs.npy, my-notes.txt", again.Err);
        Assert.Contains("note: image bank 'enc' is stale", again.Err);
        Assert.Contains("sha256 differs", DatasetCheck.Run(ds).Errors.Single());

        // a folder that is not a built dataset is still never replaced
        var foreign = Path.Combine(_dir, "foreign");
        W("foreign/x.txt", "x");
        OneLineError(CliRunner.Run("data", "build", "debian-deps-titles", "--apt-dir", Repo.Fixture("apt-fake"), "--out", foreign), "not a built dataset");
    }

    [Fact]
    public void BankNamesCannotOverwriteTheDatasetsOwnFiles()
    {
        var ds = Apps();
        var before = File.ReadAllBytes(Path.Combine(ds, "img_embs.npy"));
        var e = Assert.Throws<ArgumentException>(() => ImageBankBuilder.Build(ds, _dir, new FakeTower(), "img", 4));
        Assert.Contains("is the dataset's own file", e.Message);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(ds, "img_embs.npy")));
        var ok = ImageBankBuilder.Build(ds, _dir, new FakeTower(), "fake", 4);   // another name works
        Assert.True(ok.Finished);
        Assert.True(DatasetCheck.Run(ds).Ok);
    }

    [Fact]
    public void ModelReimportKeepsUserFilesAndCleansStaleTemps()
    {
        var target = Path.Combine(_dir, "m");
        ModelImporter.WriteFolderAtomically(target, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, "SOURCE.md"), "v1");
            File.WriteAllText(Path.Combine(tmp, "config.json"), "{}");
        });
        File.WriteAllText(Path.Combine(target, "my-eval.md"), "mine");
        var stale = Path.Combine(_dir, ".m.import-999999999-abc");
        Directory.CreateDirectory(stale);
        Directory.CreateDirectory(stale + ".old");
        var live = Path.Combine(_dir, $".m.import-{Environment.ProcessId}-live");   // ours, still running: kept
        Directory.CreateDirectory(live);
        var log = new List<string>();
        ModelImporter.WriteFolderAtomically(target, tmp => File.WriteAllText(Path.Combine(tmp, "SOURCE.md"), "v2"), log.Add);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(target, "my-eval.md")));
        Assert.Equal("v2", File.ReadAllText(Path.Combine(target, "SOURCE.md")));
        Assert.False(File.Exists(Path.Combine(target, "config.json")));   // the import's own files are replaced, not kept
        Assert.False(Directory.Exists(stale));
        Assert.False(Directory.Exists(stale + ".old"));
        Assert.True(Directory.Exists(live));
        Assert.Contains(log, l => l.Contains("kept 1 file(s) you added") && l.Contains("my-eval.md"));
    }

    // ---- 5. user errors, not internal ones

    [Fact]
    public void HugeSizesInOptionsAndConfigsAreUserErrors()
    {
        OneLineError(CliRunner.Run("images", "embed", "--data", _dir, "--model", _dir, "--batch", "2000000000"), "--batch must be in [1, 4096]");
        OneLineError(CliRunner.Run("train", "--config", W("m.yaml", "name: m\nimages:\n  fusion: late\n  mlp_hidden: 1000000000\n")), "m.yaml:4: images.mlp_hidden");
    }

    // ---- 6, 7. absurd allocations and unclear errors

    private static byte[] Png(uint w, uint h, int ihdrLength = 13)
    {
        var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        void Chunk(string type, byte[] data)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, (uint)data.Length);
            ms.Write(b);
            var td = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            ms.Write(td);
            BinaryPrimitives.WriteUInt32BigEndian(b, ViXml.Xmc.Images.Png.Crc32(td));
            ms.Write(b);
        }
        var ihdr = new byte[ihdrLength];
        if (ihdrLength >= 13)
        {
            BinaryPrimitives.WriteUInt32BigEndian(ihdr, w);
            BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), h);
            ihdr[8] = 8; ihdr[9] = 6;
        }
        Chunk("IHDR", ihdr);
        var z = new MemoryStream();
        using (var zs = new System.IO.Compression.ZLibStream(z, System.IO.Compression.CompressionLevel.Optimal, true)) zs.Write(new byte[1 << 20]);
        Chunk("IDAT", z.ToArray());
        Chunk("IEND", []);
        return ms.ToArray();
    }

    [Fact]
    public void PngSizesAreLimitedAndExplained()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var big = Assert.Throws<InvalidDataException>(() => ViXml.Xmc.Images.Png.Decode(Png(16384, 16384), "big.png"));
        Assert.Contains("declares 16384x16384 pixels, more than the 16,777,216 (4096x4096)", big.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 32L << 20, "allocated before refusing");
        foreach (var (w, h) in new[] { (0x80000000u, 1u), (1u, 0xFFFFFFFFu), (0u, 5u) })
        {
            var e = Assert.Throws<InvalidDataException>(() => ViXml.Xmc.Images.Png.Decode(Png(w, h), "x.png"));
            Assert.Contains($"bad image size {w}x{h}", e.Message);
        }
        Assert.Contains("IHDR chunk has 4 bytes", Assert.Throws<InvalidDataException>(() => ViXml.Xmc.Images.Png.Decode(Png(1, 1, 4), "s.png")).Message);
        var bytes = Png(1, 1);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(33), 0xFFFFFFF0u);   // the IDAT length field
        Assert.Contains("IDAT chunk declares", Assert.Throws<InvalidDataException>(() => ViXml.Xmc.Images.Png.Decode(bytes, "l.png")).Message);
        Assert.Equal(64, ViXml.Xmc.Images.Png.Decode(Png(64, 64), "ok.png").Width);
    }

    [Fact]
    public void ASymlinkToAnIdenticalCopyIsNotReportedAsModified()
    {
        var ds = Apps();
        var copy = Path.Combine(_dir, "trn_X_Y.copy");
        File.Copy(Path.Combine(ds, "trn_X_Y.txt"), copy);
        File.Delete(Path.Combine(ds, "trn_X_Y.txt"));
        File.CreateSymbolicLink(Path.Combine(ds, "trn_X_Y.txt"), copy);
        Assert.Empty(DatasetManifest.Verify(ds, true));
        File.AppendAllText(copy, "0:1\n");
        Assert.Contains(DatasetManifest.Verify(ds, true), e => e.Contains($"{new FileInfo(copy).Length} bytes but manifest.json records"));
    }

    /// <summary>A vision tower stand-in: the mean of each channel, repeated (the builder's checks run before it).</summary>
    private sealed class FakeTower : IImageEncoder
    {
        public int InputSize => 8;
        public int OutputDim => 3;
        public string Preprocessing => "channel means";
        public float[] Embed(float[] rgb, int batch)
        {
            var y = new float[batch * 3];
            for (int b = 0; b < batch; b++)
                for (int c = 0; c < 3; c++)
                    y[b * 3 + c] = rgb.AsSpan((b * 3 + c) * 64, 64).ToArray().Average();
            return y;
        }
        public void Dispose() { }
    }
}
