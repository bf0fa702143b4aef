namespace ViXml.Training.Config;

// The resolved training configuration. YAML keys are the snake_case of these property names (top_k ↔ TopK); every
// key is optional in a file and falls back to the default here, and every key unknown here is an error. The YAML files
// under configs/ carry one comment per key; the summaries below are the reference for what each key means.

/// <summary>A whole training run.</summary>
public sealed class TrainConfig
{
    /// <summary>Run name: results go to &lt;run.out_dir&gt;/&lt;name&gt;/.</summary>
    public string Name { get; set; } = "run";
    /// <summary>Master seed: model init, batch order, positive sampling and clustering all derive from it.</summary>
    public long Seed { get; set; } = 0;
    public DataConfig Data { get; set; } = new();
    /// <summary>Image banks and how their vectors join the text (ViXML fusion); fusion none = text only.</summary>
    public ImagesConfig Images { get; set; } = new();
    public ModelConfig Model { get; set; } = new();
    public LossConfig Loss { get; set; } = new();
    public SamplerConfig Sampler { get; set; } = new();
    public OptimConfig Optim { get; set; } = new();
    public EvalConfig Eval { get; set; } = new();
    public RunConfig Run { get; set; } = new();
}

public sealed class DataConfig
{
    /// <summary>Dataset folder in the Extreme Classification layout (trn_X.txt, tst_X.txt, lbl.txt, trn_X_Y.txt, tst_X_Y.txt, optional filter_labels_test.txt).</summary>
    public string Dir { get; set; } = "data/debian-deps-titles-small";
    /// <summary>Maximum tokens per text, [CLS] and [SEP] included (the paper: 32).</summary>
    public int MaxLen { get; set; } = 32;
    /// <summary>WordPiece vocabulary file (BERT uncased).</summary>
    public string Vocab { get; set; } = "assets/vocab/bert-base-uncased/vocab.txt";
    /// <summary>Use only the first N training queries (0 = all); for quick experiments.</summary>
    public int MaxTrain { get; set; } = 0;
}

public enum EncoderKind { Bert, Qwen2 }
public enum FusionKind { None, Early, Late }
public enum AdapterKind { Linear, Mlp }

public sealed class ImagesConfig
{
    /// <summary>Image bank name in data.dir: {bank}_embs.npy + trn/tst(/lbl)_img_map.npy (lib/Xmc/ImageBankSet.cs).</summary>
    public string Bank { get; set; } = "img";
    /// <summary>none: text only (the bank is not read); early: projected image vectors placed before [CLS] inside the
    /// encoder input (ViXML); late: text and image vectors combined after the encoder by a learned attention (MUFIN-style).</summary>
    public FusionKind Fusion { get; set; } = FusionKind.None;
    /// <summary>Image vector → hidden size: linear (the paper's one Linear) or mlp (Linear-GELU-Linear).</summary>
    public AdapterKind Adapter { get; set; } = AdapterKind.Linear;
    /// <summary>Inner width of the mlp adapter (0 = the encoder's hidden size).</summary>
    public int MlpHidden { get; set; } = 0;
    /// <summary>Training only: each present image slot is dropped (masked) independently with this probability.</summary>
    public double ModalityDropout { get; set; } = 0.0;
    /// <summary>After the final epoch, also evaluate with only the first n image slots of each test item kept, for each n here
    /// (empty = only with all images).</summary>
    public int[] EvalImages { get; set; } = [];
}
public enum Pooling { Mean, Cls, Last }

public sealed class ModelConfig
{
    /// <summary>Encoder family: bert (BERT / DistilBERT / MiniLM layouts) or qwen2 (decoder; reserved for a later issue).</summary>
    public EncoderKind Encoder { get; set; } = EncoderKind.Bert;
    /// <summary>HF folder to start from (config.json + weights); empty = random initialisation with the shape below.</summary>
    public string Pretrained { get; set; } = "";
    /// <summary>Hidden size (MiniLM-L3: 384, DistilBERT: 768).</summary>
    public int Hidden { get; set; } = 384;
    /// <summary>Transformer layers.</summary>
    public int Layers { get; set; } = 3;
    /// <summary>Attention heads.</summary>
    public int Heads { get; set; } = 12;
    /// <summary>Feed-forward inner size.</summary>
    public int Intermediate { get; set; } = 1536;
    /// <summary>Position embeddings available (must be ≥ data.max_len).</summary>
    public int MaxPositions { get; set; } = 512;
    /// <summary>Dropout inside the encoder during training.</summary>
    public double Dropout { get; set; } = 0.1;
    /// <summary>How token states become one vector: mean (over the attention mask), cls, last.</summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;
    /// <summary>Add a learnable square linear map after pooling (before L2 normalisation).</summary>
    public bool Linear { get; set; } = false;
    /// <summary>Decoder-only settings (Qwen2.5 + LoRA): reserved, read and recorded but not used by text encoders.</summary>
    public DecoderConfig Decoder { get; set; } = new();
}

public sealed class DecoderConfig
{
    /// <summary>LoRA rank (paper: 256).</summary>
    public int LoraR { get; set; } = 256;
    /// <summary>LoRA alpha (paper: 256).</summary>
    public double LoraAlpha { get; set; } = 256;
    /// <summary>Rank-stabilised LoRA scaling alpha/sqrt(r) instead of alpha/r.</summary>
    public bool Rslora { get; set; } = true;
    /// <summary>LoRA dropout.</summary>
    public double LoraDropout { get; set; } = 0.0;
    /// <summary>Modules that get LoRA adapters.</summary>
    public string[] LoraTargets { get; set; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    /// <summary>Prompt text before the item text.</summary>
    public string PromptPrefix { get; set; } = "This product text";
    /// <summary>Prompt text after the item text (end-of-sequence marker).</summary>
    public string PromptSuffix { get; set; } = "<|endoftext|>";
    /// <summary>Compute dtype: bf16 or fp32.</summary>
    public string Dtype { get; set; } = "bf16";
    /// <summary>Prompt template by name (lib/Text/Prompts/templates.yaml, or "file.yaml#name"); empty = [prompt_prefix][text][prompt_suffix].</summary>
    public string Template { get; set; } = "";
    /// <summary>Prompt position ids: padded (the reference: pads between text and suffix consume positions) or compact.</summary>
    public string Positions { get; set; } = "padded";
}

public enum MarginKind { Fixed, Dynamic }
public enum LossKind { Triplet, Infonce }

public sealed class LossConfig
{
    /// <summary>triplet: the paper's hinge loss over top-k in-batch hard negatives (the keys below down to tau);
    /// infonce: softmax cross-entropy of each row's drawn positive against all in-batch columns (temperature).</summary>
    public LossKind Kind { get; set; } = LossKind.Triplet;
    /// <summary>Hardest in-batch negatives kept per row.</summary>
    public int TopK { get; set; } = 10;
    /// <summary>fixed: margin_value; dynamic: clamp(|s_p − s_n|, margin_min, margin_max), no gradient through it.</summary>
    public MarginKind Margin { get; set; } = MarginKind.Dynamic;
    /// <summary>The fixed margin.</summary>
    public double MarginValue { get; set; } = 0.3;
    /// <summary>Lower clamp of the dynamic margin.</summary>
    public double MarginMin { get; set; } = 0.1;
    /// <summary>Upper clamp of the dynamic margin.</summary>
    public double MarginMax { get; set; } = 0.3;
    /// <summary>Weight each hinge by softmax(s_n / tau) over the violating negatives ("aggressive" mining).</summary>
    public bool Aggressive { get; set; } = true;
    /// <summary>Temperature of that softmax.</summary>
    public double Tau { get; set; } = 0.1;
    /// <summary>Weight of the label→query direction (0 = query→label only); applies to both kinds.</summary>
    public double LabelToQuery { get; set; } = 1.0;
    /// <summary>InfoNCE temperature: logits = similarity / temperature.</summary>
    public double Temperature { get; set; } = 0.05;
    /// <summary>With kind triplet: train with InfoNCE for the first N epochs, then switch to the triplet loss (0 = off).</summary>
    public int WarmupInfonceEpochs { get; set; } = 0;
}

public sealed class SamplerConfig
{
    /// <summary>Queries per batch.</summary>
    public int BatchSize { get; set; } = 2048;
    /// <summary>How each query's one positive is drawn: uniform or inverse_propensity.</summary>
    public Sampling.PositiveSampling Positives { get; set; } = Sampling.PositiveSampling.InversePropensity;
    /// <summary>Propensity A for sampling (Amazon datasets: 0.6).</summary>
    public double PropensityA { get; set; } = 0.6;
    /// <summary>Propensity B for sampling (Amazon datasets: 2.6).</summary>
    public double PropensityB { get; set; } = 2.6;
    /// <summary>NGAME hard-negative batching; set enabled: false for random batches.</summary>
    public NgameConfig Ngame { get; set; } = new();
}

public sealed class NgameConfig
{
    /// <summary>Cluster queries into batches (false = random batches every epoch).</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>First clustered epoch (0-based).</summary>
    public int ClStart { get; set; } = 10;
    /// <summary>Re-cluster every this many epochs.</summary>
    public int ClUpdate { get; set; } = 5;
    /// <summary>Queries per cluster at cl_start.</summary>
    public int ClSize { get; set; } = 16;
    /// <summary>Epochs at which the cluster size doubles.</summary>
    public int[] ClSizeDoubleAt { get; set; } = [];
    /// <summary>Largest cluster size after doubling.</summary>
    public int ClSizeMax { get; set; } = 1024;
    /// <summary>2-means iterations per split.</summary>
    public int Iterations { get; set; } = 10;
}

public sealed class OptimConfig
{
    /// <summary>Training epochs.</summary>
    public int Epochs { get; set; } = 150;
    /// <summary>Learning rate of the encoder's parameters.</summary>
    public double LrEncoder { get; set; } = 5e-4;
    /// <summary>Learning rate of everything else (linear head, later: projections, free vectors).</summary>
    public double LrOther { get; set; } = 5e-4;
    /// <summary>AdamW weight decay (never on biases, LayerNorm or embeddings-norm weights).</summary>
    public double WeightDecay { get; set; } = 0.01;
    /// <summary>AdamW epsilon.</summary>
    public double Eps { get; set; } = 1e-6;
    /// <summary>AdamW beta1.</summary>
    public double Beta1 { get; set; } = 0.9;
    /// <summary>AdamW beta2.</summary>
    public double Beta2 { get; set; } = 0.999;
    /// <summary>Linear warm-up steps, then linear decay to 0 at the last step.</summary>
    public int WarmupSteps { get; set; } = 100;
    /// <summary>Clip the global gradient norm to this (0 = no clipping).</summary>
    public double GradClip { get; set; } = 1.0;
}

public sealed class EvalConfig
{
    /// <summary>Evaluate every N epochs (0 = only at the end); the final epoch is always evaluated.</summary>
    public int Every { get; set; } = 5;
    /// <summary>Predictions kept per test query (top-k of the exact search).</summary>
    public int TopK { get; set; } = 100;
    /// <summary>Propensity A for PSP metrics.</summary>
    public double PropensityA { get; set; } = 0.6;
    /// <summary>Propensity B for PSP metrics.</summary>
    public double PropensityB { get; set; } = 2.6;
    /// <summary>Texts per forward pass when embedding for evaluation or clustering.</summary>
    public int EmbedBatch { get; set; } = 512;
    /// <summary>Evaluate on the first N test queries only during training (0 = all); the final evaluation uses all.</summary>
    public int MaxTest { get; set; } = 0;
}

public sealed class RunConfig
{
    /// <summary>Folder holding one sub-folder per run.</summary>
    public string OutDir { get; set; } = "results/runs";
    /// <summary>Write a checkpoint every N epochs (0 = only at the end).</summary>
    public int CheckpointEvery { get; set; } = 1;
    /// <summary>libtorch intra-op threads (0 = leave the default).</summary>
    public int Threads { get; set; } = 0;
    /// <summary>Progress line every N seconds when output is not a terminal.</summary>
    public double LogEverySeconds { get; set; } = 10;
    /// <summary>Write the trained model in HF layout at the end.</summary>
    public bool SaveModel { get; set; } = true;
}

public static class TrainConfigValidation
{
    /// <summary>Cross-field checks the binder cannot do; each error names the key.</summary>
    public static void Validate(this TrainConfig c)
    {
        void Check(bool ok, string key, string why) { if (!ok) throw new ConfigException($"{key}: {why}"); }
        Check(c.Name.Length > 0 && c.Name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && c.Name != "." && c.Name != "..",
            "name", $"'{c.Name}' is not a valid folder name");
        Check(c.Data.MaxLen >= 3, "data.max_len", "must be at least 3");
        Check(c.Data.MaxLen <= c.Model.MaxPositions, "data.max_len", $"{c.Data.MaxLen} exceeds model.max_positions {c.Model.MaxPositions}");
        Check(c.Model.Hidden > 0 && c.Model.Heads > 0 && c.Model.Hidden % c.Model.Heads == 0, "model.heads",
            $"hidden {c.Model.Hidden} must be a positive multiple of heads {c.Model.Heads}");
        Check(c.Model.Layers > 0, "model.layers", "must be positive");
        Check(c.Model.Dropout is >= 0 and < 1, "model.dropout", "must be in [0, 1)");
        Check(c.Loss.TopK > 0, "loss.top_k", "must be positive");
        Check(c.Loss.MarginMin <= c.Loss.MarginMax, "loss.margin_min", "must not exceed loss.margin_max");
        Check(c.Loss.Tau > 0, "loss.tau", "must be positive");
        Check(c.Loss.Temperature > 0, "loss.temperature", "must be positive");
        Check(c.Loss.WarmupInfonceEpochs >= 0, "loss.warmup_infonce_epochs", "must be non-negative");
        Check(c.Loss.WarmupInfonceEpochs == 0 || c.Loss.Kind == LossKind.Triplet, "loss.warmup_infonce_epochs",
            "is a warm start for kind triplet; with kind infonce every epoch is InfoNCE already (set it to 0)");
        Check(c.Loss.LabelToQuery >= 0, "loss.label_to_query", "must be non-negative");
        Check(c.Sampler.BatchSize >= 2, "sampler.batch_size", "must be at least 2");
        Check(c.Sampler.Ngame.ClSize > 0, "sampler.ngame.cl_size", "must be positive");
        Check(c.Sampler.Ngame.ClUpdate > 0, "sampler.ngame.cl_update", "must be positive");
        Check(c.Sampler.Ngame.ClStart >= 0, "sampler.ngame.cl_start", "must be non-negative");
        Check(c.Optim.Epochs > 0, "optim.epochs", "must be positive");
        Check(c.Optim.LrEncoder >= 0 && c.Optim.LrOther >= 0, "optim.lr_encoder", "learning rates must be non-negative");
        Check(c.Optim.WarmupSteps >= 0, "optim.warmup_steps", "must be non-negative");
        Check(c.Optim.GradClip >= 0, "optim.grad_clip", "must be non-negative (0 = off)");
        Check(c.Eval.TopK > 0, "eval.top_k", "must be positive");
        Check(c.Eval.Every >= 0, "eval.every", "must be non-negative");
        Check(c.Eval.EmbedBatch > 0, "eval.embed_batch", "must be positive");
        if (c.Images.Fusion != FusionKind.None)
        {
            Check(c.Images.Bank.Length > 0 && c.Images.Bank.IndexOfAny(['/', '\\']) < 0, "images.bank", $"'{c.Images.Bank}' is not a bank name");
            Check(c.Model.Encoder == EncoderKind.Bert || c.Images.Fusion == FusionKind.Late || c.Model.Decoder.Template.Length > 0,
                "images.fusion", "early fusion with a qwen2 decoder needs model.decoder.template with image slots (t1-e-eeos, image-first, image-first-no-prefix)");
            Check(c.Images.MlpHidden >= 0, "images.mlp_hidden", "must be non-negative (0 = hidden size)");
            Check(c.Images.ModalityDropout is >= 0 and < 1, "images.modality_dropout", "must be in [0, 1)");
            Check(c.Images.EvalImages.All(n => n >= 0), "images.eval_images", "counts must be non-negative");
        }
        else
        {
            Check(c.Images.ModalityDropout == 0, "images.modality_dropout", "needs images.fusion early or late");
            Check(c.Images.EvalImages.Length == 0, "images.eval_images", "needs images.fusion early or late");
        }
    }
}
