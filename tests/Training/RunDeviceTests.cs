using ViXml.Tests.TestSupport;
using ViXml.Training;
using ViXml.Training.Config;
using TorchSharp;

namespace ViXml.Tests.Training;

/// <summary>run.device: parsed strictly; a CUDA device this libtorch cannot see is a config error naming the key (this
/// machine has no GPU, so the CUDA path itself is not run here).</summary>
[Collection(TrainingSerial.Name)]
public class RunDeviceTests
{
    [Fact]
    public void DevicesParseAndBadOnesNameTheKey()
    {
        Assert.Equal(DeviceType.CPU, TrainConfigValidation.ParseDevice("cpu").type);
        var c = TrainConfigValidation.ParseDevice("cuda");
        Assert.Equal((DeviceType.CUDA, 0), (c.type, c.index));
        c = TrainConfigValidation.ParseDevice("CUDA:3");
        Assert.Equal((DeviceType.CUDA, 3), (c.type, c.index));
        foreach (var bad in new[] { "gpu", "cuda:", "cuda:-1", "cuda:x", "" })
            Assert.StartsWith("run.device:", Assert.Throws<ConfigException>(() => TrainConfigValidation.ParseDevice(bad)).Message);
        Assert.Contains("holds no values", Assert.Throws<ConfigException>(() => TrainConfigValidation.ParseDevice("meta")).Message);
    }

    [Fact]
    public void AnUnavailableCudaDeviceStopsTheRunBeforeTheModelIsBuilt()
    {
        if (torch.cuda.is_available()) return;   // only meaningful without a GPU (this machine)
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 60, test: 20);
        var yaml = File.ReadAllText(Repo.Path_("configs", "ci.yaml"));
        var cfg = ConfigLoader.LoadText<TrainConfig>(yaml, "ci.yaml",
            [$"data.dir={data}", $"data.vocab={Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt")}", "run.device=cuda:0",
             "model.hidden=16", "model.layers=1", "model.heads=2", "model.intermediate=32", "optim.epochs=1", "run.threads=1"]);
        var e = Assert.ThrowsAny<Exception>(() => new Trainer(cfg, TextWriter.Null).Run(Path.Combine(dir, "run")));
        Assert.Contains("run.device: 'cuda:0' but this libtorch sees 0 CUDA device(s)", e.Message);
        Directory.Delete(dir, true);
    }
}
