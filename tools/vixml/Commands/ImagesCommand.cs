using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ViXml.Models.Vision;
using ViXml.SafeTensors;
using ViXml.Torch;
using ViXml.Xmc;
using ViXml.Xmc.Images;

namespace ViXml.Cli.Commands;

/// <summary>
/// <c>vixml images embed --data DIR --model DIR [--batch N] [--name NAME]</c>: an image bank of a dataset folder from a
/// frozen vision tower (an imported ResNet folder or an HF SigLIP vision tower), in the reference layout
/// (<c>{name}_embs.npy</c> + manifest; the maps are the dataset's). Resumable; progress on stderr.
/// <c>vixml images check --data DIR [--name NAME]</c>: loads a bank with its maps (also a bare one copied in from the
/// reference code: <c>{name}_embs.npy</c> + <c>*_img_map.npy</c>, no manifest needed) and prints its shape.
/// </summary>
public sealed class ImagesCommand : ICliCommand
{
    public Command Build()
    {
        var cmd = new Command("images", "Image banks of datasets: embed images with a frozen vision tower, check a bank.");

        var data = new Option<string>("--data") { Description = "dataset folder with img.ids.txt and images/", Required = true };
        var model = new Option<string>("--model") { Description = "vision tower folder: models/resnet18-imagenet (./vixml model import) or an HF SigLIP/SigLIP2-FixRes folder", Required = true };
        var batch = new Option<int>("--batch") { Description = "images per forward pass", DefaultValueFactory = _ => 32 };
        var name = new Option<string?>("--name") { Description = "bank name: writes {name}_embs.npy (default: the model folder's name up to its first '-', e.g. resnet18)" };
        var force = new Option<bool>("--force") { Description = "recompute even when the bank is up to date (same model files and images)" };
        var stopAfter = new Option<int?>("--stop-after") { Description = "stop (resumably) after at least N images; a rerun continues", Hidden = true };
        var embed = new Command("embed", "Embed a dataset's images with a frozen vision tower into an image bank ({name}_embs.npy + manifest) in the dataset folder.");
        foreach (var o in new Option[] { data, model, batch, name, force, stopAfter }) embed.Options.Add(o);
        embed.SetAction(pr => UserErrors.Guard(() =>
        {
            var (dataDir, modelDir, b) = (pr.GetValue(data)!, pr.GetValue(model)!, pr.GetValue(batch));
            if (b < 1 || b > ImageBankBuilder.MaxBatch) throw new CliException($"--batch must be in [1, {ImageBankBuilder.MaxBatch}], got {b}");
            try
            {
                var bankName = pr.GetValue(name) ?? ImageBankBuilder.DefaultName(modelDir);
                var sw = Stopwatch.StartNew();
                using var tower = VisionTowers.Load(modelDir);
                var loadTime = sw.Elapsed;
                var bar = new Bar("images embed");
                var r = ImageBankBuilder.Build(dataDir, modelDir, tower, bankName, b, bar.Report, m => bar.Message($"images embed: {m}"), pr.GetValue(stopAfter), pr.GetValue(force));
                bar.End();
                if (r.UpToDate)
                {
                    Console.WriteLine($"images embed: {dataDir}: bank '{r.Name}' [{r.NumImages}, {r.Dim}] is up to date (same model files and images); nothing to do (--force recomputes)");
                    return 0;
                }
                if (!r.Finished)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"images embed: stopped after {r.ResumedFrom + r.Computed} of {r.NumImages} images ({r.ImagesPerSecond:F1} images/s); rerun to continue"));
                    return 3;
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"images embed: {dataDir}: bank '{r.Name}' [{r.NumImages}, {r.Dim}] -> {string.Join(", ", r.Written)}; " +
                    $"{r.Computed} images embedded{(r.ResumedFrom > 0 ? $" (resumed at {r.ResumedFrom})" : "")} in {r.Elapsed.TotalSeconds:F1} s " +
                    $"({r.ImagesPerSecond:F1} images/s, batch {b}), model loaded in {loadTime.TotalSeconds:F1} s"));
                return 0;
            }
            catch (Exception e) when (e is VisionModelException or XmcFormatException or SafeTensorsException or TorchException
                                          or ArgumentException or IOException or UnauthorizedAccessException)
            {
                throw new CliException(e.Message);
            }
        }));
        cmd.Subcommands.Add(embed);

        var cdata = new Option<string>("--data") { Description = "dataset folder", Required = true };
        var cname = new Option<string>("--name") { Description = "bank name ({name}_embs.npy)", DefaultValueFactory = _ => "img" };
        var check = new Command("check", "Load an image bank with its maps (a bank from elsewhere: {name}_embs.npy + trn/tst/lbl_img_map.npy, manifest optional) and print its shape.");
        check.Options.Add(cdata);
        check.Options.Add(cname);
        check.SetAction(pr => UserErrors.Guard(() =>
        {
            try
            {
                var set = ImageBanks.Load(pr.GetValue(cdata)!, pr.GetValue(cname)!);
                var maps = string.Join(", ", set.Maps.Select(kv => $"{kv.Key} [{kv.Value.Items}, {kv.Value.K}]"));
                Console.WriteLine($"bank '{pr.GetValue(cname)}': [{set.Bank.NumImages}, {set.Bank.Dim}] float32; maps {(maps.Length == 0 ? "none" : maps)}; " +
                                  (set.Manifest is { } m ? $"manifest: {m.Model}" : "no manifest (a bank from elsewhere: loaded as it is)"));
                return 0;
            }
            catch (XmcFormatException e) { throw new CliException(e.Message); }
        }));
        cmd.Subcommands.Add(check);
        return cmd;
    }

    /// <summary>A bar redrawn in place on a terminal; plain lines on stderr every few seconds otherwise.</summary>
    private sealed class Bar(string what)
    {
        private readonly bool _live = !Console.IsErrorRedirected;
        private readonly Stopwatch _sw = Stopwatch.StartNew();
        private double _last = double.NegativeInfinity;
        private int _first = -1;

        public void Report(int done, int total)
        {
            double t = _sw.Elapsed.TotalSeconds;
            if (_first < 0) _first = done;
            double rate = t > 0 ? done / t : 0;
            if (_live)
            {
                if (t - _last < 0.2 && done < total) return;
                _last = t;
                int filled = (int)(24.0 * done / total);
                Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                    $"\r{what} [{new string('#', filled)}{new string('.', 24 - filled)}] {done}/{total} {100.0 * done / total:F1}%   "));
            }
            else if (t - _last >= 5 || done == total)
            {
                _last = t;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: {done}/{total} images, {t:F0} s"));
            }
        }

        public void Message(string m)
        {
            if (_live) Console.Error.Write("\r" + new string(' ', 80) + "\r");
            Console.Error.WriteLine(m);
        }

        public void End()
        {
            if (_live) Console.Error.WriteLine();
        }
    }
}
