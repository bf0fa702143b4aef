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
    /// <summary>How labels become the vectors the loss and the search use: plain (the shared encoder) or prime
    /// (PRIME's enriched labels: encoder output + free vector + centroid through one Transformer layer).</summary>
    public LabelSideConfig LabelSide { get; set; } = new();
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
    /// <summary>Text put before every query and label text, separated by a space (a prompt template for a BERT-family
    /// encoder, e.g. "This product text"; empty = none). Decoders take their prompt from model.decoder.template.</summary>
    public string TextPrefix { get; set; } = "";
    /// <summary>Text put after every query and label text, separated by a space (empty = none).</summary>
    public string TextSuffix { get; set; } = "";
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
/// <summary>model.attention: native = the encoder family's own mask (bert: bidirectional, qwen2: causal).</summary>
public enum AttentionKind { Native, Bidirectional, Causal }

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
    /// <summary>Attention mask direction: native (the family's own: BERT / MiniLM / DistilBERT bidirectional, Qwen2
    /// causal), bidirectional (every real token sees every other) or causal (token i sees tokens ≤ i), always combined
    /// with the padding mask. The paper's open question on attention direction.</summary>
    public AttentionKind Attention { get; set; } = AttentionKind.Native;
    /// <summary>Add a learnable square linear map after pooling (before L2 normalisation).</summary>
    public bool Linear { get; set; } = false;
    /// <summary>Storage and compute dtype of the frozen base: float32 (default) | bfloat16. bfloat16 needs a frozen base
    /// (encoder qwen2 with LoRA); trainable tensors (adapters, heads) keep float32 masters and AdamW moments; norms,
    /// softmax, pooling and the loss run in float32.</summary>
    public string Dtype { get; set; } = "float32";
    /// <summary>Per-layer activation checkpointing (recompute each transformer layer in backward): same gradients,
    /// less activation memory, about one more forward of time.</summary>
    public bool GradientCheckpointing { get; set; } = false;
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
    /// <summary>Legacy spelling of model.dtype for the decoder (bf16 | fp32); empty = model.dtype (float32 by default: a CPU
    /// without bf16 instructions (no avx512_bf16 / amx_bf16) emulates bf16 matmul ~80x slower than float32, `vixml doctor`).</summary>
    public string Dtype { get; set; } = "";
    /// <summary>Prompt template by name (lib/Text/Prompts/templates.yaml, or "file.yaml#name"); empty = [prompt_prefix][text][prompt_suffix].</summary>
    public string Template { get; set; } = "";
    /// <summary>Prompt position ids: padded (the reference: pads between text and suffix consume positions) or compact.</summary>
    public string Positions { get; set; } = "padded";
}

public enum LabelSideKind { Plain, Prime }
public enum FreeVectorInit { Xavier, Mean }
public enum CentroidUpdate { Stale, Exact, Ema, Static }

/// <summary>PRIME's label side (lib/Training/Prime; ../shared/paper/PRIME-SPEC.md §2-4). Every key but kind applies to
/// kind prime only; with kind plain they must keep their defaults.</summary>
public sealed class LabelSideConfig
{
    /// <summary>plain: a label is its encoder embedding (today's Siamese model); prime: the enriched embedding
    /// n(mean(TransformerLayer([u_l, free vector, centroid]))) where u_l is the encoder's pooled output before normalisation.</summary>
    public LabelSideKind Kind { get; set; } = LabelSideKind.Plain;
    /// <summary>Number of free vectors, rounded up to a power of two; 0 = the paper's ratio, about two labels per vector
    /// (the power of two nearest to labels/2: 65,536 for 131,073 labels). More vectors than labels is an error.</summary>
    public int FreeVectors { get; set; } = 0;
    /// <summary>Attention heads of the combiner layer (the ViXML scripts: 8; the hidden size must be a multiple).</summary>
    public int Heads { get; set; } = 8;
    /// <summary>Feed-forward width of the combiner layer (reference: 1024).</summary>
    public int Ffn { get; set; } = 1024;
    /// <summary>Dropout inside the combiner during training (reference: 0.1).</summary>
    public double Dropout { get; set; } = 0.1;
    /// <summary>Free-vector init: xavier (uniform, the MiniLM script) or mean (mean of the member labels' normalised
    /// initial embeddings, the Qwen script).</summary>
    public FreeVectorInit Init { get; set; } = FreeVectorInit.Xavier;
    /// <summary>Centroid refresh: stale (after each epoch from the query embeddings the epoch's steps produced, exact
    /// after the last: the ViXML scripts), exact (a fresh eval pass after every epoch), ema (per step,
    /// C[l] ← 0.95·C[l] + 0.05·q of the query that drew l), static (the initial pass only).</summary>
    public CentroidUpdate Centroids { get; set; } = CentroidUpdate.Stale;
}

public enum MarginKind { Fixed, Dynamic }
public enum TieRule { Half, Zero }
public enum LossPositives { PerTerm, Fixed }
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
    /// <summary>label_side prime only. Gradient of the hinge max(0, x) at exactly x = 0: half (the reference's
    /// torch.max, ½; every negative with 0.1 ≤ s_p − s_n ≤ 0.3 sits there exactly) or zero (relu).</summary>
    public TieRule TieRule { get; set; } = TieRule.Half;
    /// <summary>label_side prime only. per_term: each loss term draws its own positive per row, uniformly among the row's
    /// in-batch positives (the reference); fixed: the query's drawn column, and for label→query the first query that drew it.</summary>
    public LossPositives Positives { get; set; } = LossPositives.PerTerm;
    /// <summary>label_side prime only. Weight of PRIME's regulariser L_r (reference: 0.1).</summary>
    public double RegWeight { get; set; } = 0.1;
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
    /// <summary>label_side prime only: learning rate of the combiner and the free vectors (reference: 5e-4).</summary>
    public double LrLabelSide { get; set; } = 5e-4;
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
    /// <summary>
    /// GradCache: embed the batch in chunks of this many queries (and labels) so a large in-batch contrastive batch fits
    /// in bounded memory, with the same gradients as the whole batch in one pass (0 = off: one pass). Pass 1 embeds
    /// every chunk without a graph, the loss and its gradient with respect to the embeddings are computed at full batch,
    /// pass 2 re-embeds each chunk with a graph and back-propagates the cached gradients; one optimiser step. Dropout masks
    /// are drawn from a stream seeded per (step, chunk), identical in both passes (so they differ from the one-pass run's).
    /// </summary>
    public int MicroBatch { get; set; } = 0;
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
    /// <summary>Where the model, the optimiser state and every batch live: cpu | cuda | cuda:N. The model is built on the
    /// CPU, loaded, moved, and only then is the optimiser made.</summary>
    public string Device { get; set; } = "cpu";
}

public static class TrainConfigValidation
{
    /// <summary>run.device → a TorchSharp device: cpu, cuda (= cuda:0) or cuda:N. (meta serves shape-only tests; a
    /// training run must read its losses and embeddings back, which meta tensors cannot.)</summary>
    public static TorchSharp.torch.Device ParseDevice(string value)
    {
        var v = value.Trim().ToLowerInvariant();
        if (v == "cpu") return TorchSharp.torch.CPU;
        if (v == "cuda") return new TorchSharp.torch.Device(TorchSharp.DeviceType.CUDA, 0);
        if (v.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(v[5..], System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var n) && n < 64)
            return new TorchSharp.torch.Device(TorchSharp.DeviceType.CUDA, n);
        throw new ConfigException($"run.device: '{value}' is not cpu | cuda | cuda:N" +
                                  (v == "meta" ? " (the meta device holds no values: training reads losses and embeddings back)" : ""));
    }

    /// <summary>Largest batch: a batch of B queries builds B×B similarity matrices (and B label texts).</summary>
    public const int MaxBatchSize = 1 << 17;
    /// <summary>Largest hidden size (Qwen2.5-72B: 8192).</summary>
    public const int MaxHidden = 16384;
    /// <summary>Largest token length of a text.</summary>
    public const int MaxLen = 8192;

    /// <summary>
    /// Cross-field checks and sane limits the binder cannot do, checked before any data or model is touched. Each error
    /// names the key and, when the configuration came from a file, where it was set ("file:line: key: why").
    /// </summary>
    public static void Validate(this TrainConfig c)
    {
        void Check(bool ok, string key, string why)
        {
            if (ok) return;
            var where = Config.ConfigLoader.Location(c, key);
            throw new ConfigException(where is null ? $"{key} (default or derived): {why}" : $"{where}: {key}: {why}");
        }
        Check(c.Name.Length > 0 && c.Name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && c.Name != "." && c.Name != "..",
            "name", $"'{c.Name}' is not a valid folder name");
        Check(c.Data.Dir.Length > 0, "data.dir", "must name the dataset folder");
        Check(c.Data.MaxLen >= 3, "data.max_len", "must be at least 3");
        Check(c.Data.MaxLen <= MaxLen, "data.max_len", $"{c.Data.MaxLen} exceeds the limit {MaxLen}");
        Check(c.Data.MaxLen <= c.Model.MaxPositions, "data.max_len", $"{c.Data.MaxLen} exceeds model.max_positions {c.Model.MaxPositions}");
        Check(c.Data.MaxTrain >= 0, "data.max_train", "must be non-negative (0 = all)");
        Check(c.Model.Encoder != EncoderKind.Qwen2 || (c.Data.TextPrefix.Length == 0 && c.Data.TextSuffix.Length == 0),
            c.Data.TextPrefix.Length > 0 ? "data.text_prefix" : "data.text_suffix",
            "is for BERT-family encoders; a qwen2 decoder wraps its texts with model.decoder.template");
        Check(c.Model.Hidden > 0 && c.Model.Hidden <= MaxHidden, "model.hidden", $"{c.Model.Hidden} must be in [1, {MaxHidden}]");
        Check(c.Model.Heads > 0 && c.Model.Hidden % c.Model.Heads == 0, "model.heads",
            $"hidden {c.Model.Hidden} must be a positive multiple of heads {c.Model.Heads}");
        Check(c.Model.Layers > 0 && c.Model.Layers <= 512, "model.layers", $"{c.Model.Layers} must be in [1, 512]");
        Check(c.Model.Intermediate > 0 && c.Model.Intermediate <= 16 * MaxHidden, "model.intermediate", $"{c.Model.Intermediate} must be in [1, {16 * MaxHidden}]");
        Check(c.Model.MaxPositions > 0 && c.Model.MaxPositions <= 1 << 20, "model.max_positions", $"{c.Model.MaxPositions} must be in [1, {1 << 20}]");
        Check(c.Model.Dropout is >= 0 and < 1, "model.dropout", "must be in [0, 1)");
        Check(c.Model.Decoder.LoraR is > 0 and <= 65536, "model.decoder.lora_r", $"{c.Model.Decoder.LoraR} must be in [1, 65536]");
        Check(c.Model.Decoder.LoraDropout is >= 0 and < 1, "model.decoder.lora_dropout", "must be in [0, 1)");
        // A randomly initialised text encoder of this shape must fit in memory (weights, gradients, two AdamW moments).
        if (c.Model.Pretrained.Length == 0 && c.Model.Encoder == EncoderKind.Bert)
        {
            const long vocab = 30522; // BERT uncased; the real vocabulary is known only after loading data.vocab
            long h = c.Model.Hidden, layers = c.Model.Layers, inter = c.Model.Intermediate;
            long parameters = (vocab + c.Model.MaxPositions + 2) * h + layers * (4 * h * h + 2 * h * inter + 9 * h + inter);
            long bytes = parameters * 4 * 4;
            long avail = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            Check(bytes <= avail, c.Model.Hidden > 4096 ? "model.hidden" : c.Model.Layers > 48 ? "model.layers" : "model.intermediate",
                $"this model shape has about {parameters:N0} parameters, {bytes / (double)(1L << 30):F1} GiB with gradients and AdamW state; " +
                $"this machine offers {avail / (double)(1L << 30):F1} GiB");
        }
        Check(c.Loss.TopK > 0, "loss.top_k", "must be positive");
        Check(c.Loss.MarginMin <= c.Loss.MarginMax, "loss.margin_min", "must not exceed loss.margin_max");
        Check(c.Loss.Tau > 0, "loss.tau", "must be positive");
        Check(c.Loss.Temperature > 0, "loss.temperature", "must be positive");
        Check(c.Loss.WarmupInfonceEpochs >= 0, "loss.warmup_infonce_epochs", "must be non-negative");
        Check(c.Loss.WarmupInfonceEpochs == 0 || c.Loss.Kind == LossKind.Triplet, "loss.warmup_infonce_epochs",
            "is a warm start for kind triplet; with kind infonce every epoch is InfoNCE already (set it to 0)");
        Check(c.Loss.LabelToQuery >= 0, "loss.label_to_query", "must be non-negative");
        Check(c.Sampler.BatchSize >= 2, "sampler.batch_size", "must be at least 2");
        Check(c.Sampler.BatchSize <= MaxBatchSize, "sampler.batch_size",
            $"{c.Sampler.BatchSize} exceeds the limit {MaxBatchSize:N0} (a batch builds batch_size² similarities: " +
            $"{4.0 * c.Sampler.BatchSize * c.Sampler.BatchSize / (1L << 30):F0} GiB each)");
        CheckPropensity(c.Sampler.PropensityA, c.Sampler.PropensityB, "sampler", Check);
        Check(c.Sampler.Ngame.ClSize > 0, "sampler.ngame.cl_size", "must be positive");
        Check(c.Sampler.Ngame.ClSizeMax >= c.Sampler.Ngame.ClSize, "sampler.ngame.cl_size_max", "must be at least sampler.ngame.cl_size");
        Check(c.Sampler.Ngame.ClUpdate > 0, "sampler.ngame.cl_update", "must be positive");
        Check(c.Sampler.Ngame.ClStart >= 0, "sampler.ngame.cl_start", "must be non-negative");
        Check(c.Sampler.Ngame.Iterations > 0, "sampler.ngame.iterations", "must be positive");
        Check(c.Optim.Epochs > 0 && c.Optim.Epochs <= 1_000_000, "optim.epochs", $"{c.Optim.Epochs} must be in [1, 1,000,000]");
        Check(c.Optim.LrEncoder >= 0, "optim.lr_encoder", "must be non-negative");
        Check(c.Optim.LrOther >= 0, "optim.lr_other", "must be non-negative");
        Check(c.Optim.WeightDecay >= 0, "optim.weight_decay", "must be non-negative");
        Check(c.Optim.Eps > 0, "optim.eps", "must be positive");
        Check(c.Optim.Beta1 is >= 0 and < 1, "optim.beta1", "must be in [0, 1)");
        Check(c.Optim.Beta2 is >= 0 and < 1, "optim.beta2", "must be in [0, 1)");
        Check(c.Optim.WarmupSteps >= 0, "optim.warmup_steps", "must be non-negative");
        Check(c.Optim.GradClip >= 0, "optim.grad_clip", "must be non-negative (0 = off)");
        Check(c.Optim.MicroBatch >= 0, "optim.micro_batch", "must be non-negative (0 = off: the whole batch in one pass)");
        Check(c.Eval.TopK > 0 && c.Eval.TopK <= 100_000, "eval.top_k", $"{c.Eval.TopK} must be in [1, 100,000]");
        Check(c.Eval.Every >= 0, "eval.every", "must be non-negative");
        Check(c.Eval.EmbedBatch > 0 && c.Eval.EmbedBatch <= MaxBatchSize, "eval.embed_batch", $"{c.Eval.EmbedBatch} must be in [1, {MaxBatchSize:N0}]");
        Check(c.Eval.MaxTest >= 0, "eval.max_test", "must be non-negative (0 = all)");
        CheckPropensity(c.Eval.PropensityA, c.Eval.PropensityB, "eval", Check);
        Check(c.Run.OutDir.Length > 0, "run.out_dir", "must name a folder");
        Check(c.Run.CheckpointEvery >= 0, "run.checkpoint_every", "must be non-negative (0 = only at the end)");
        Check(c.Run.Threads >= 0 && c.Run.Threads <= 4096, "run.threads", "must be in [0, 4096] (0 = default)");
        ParseDevice(c.Run.Device);
        Check(c.Run.LogEverySeconds > 0, "run.log_every_seconds", "must be positive");
        CheckLabelSide(c, Check);
        if (c.Images.Fusion != FusionKind.None)
        {
            Check(c.Images.Bank.Length > 0 && c.Images.Bank.IndexOfAny(['/', '\\']) < 0, "images.bank", $"'{c.Images.Bank}' is not a bank name");
            Check(c.Model.Encoder == EncoderKind.Bert || c.Images.Fusion == FusionKind.Late || c.Model.Decoder.Template.Length > 0,
                "images.fusion", "early fusion with a qwen2 decoder needs model.decoder.template with image slots (t1-e-eeos, image-first, image-first-no-prefix)");
            Check(c.Images.MlpHidden >= 0 && c.Images.MlpHidden <= MaxHidden, "images.mlp_hidden",
                $"{c.Images.MlpHidden} must be in [0, {MaxHidden}] (0 = hidden size; the adapter holds bank dim x mlp_hidden weights)");
            Check(c.Images.ModalityDropout is >= 0 and < 1, "images.modality_dropout", "must be in [0, 1)");
            Check(c.Images.EvalImages.All(n => n >= 0), "images.eval_images", "counts must be non-negative");
        }
        else
        {
            Check(c.Images.ModalityDropout == 0, "images.modality_dropout", "needs images.fusion early or late");
            Check(c.Images.EvalImages.Length == 0, "images.eval_images", "needs images.fusion early or late");
        }
    }

    /// <summary>Largest free-vector count asked for (2^30).</summary>
    public const int MaxFreeVectors = 1 << 30;

    private static void CheckLabelSide(TrainConfig c, Action<bool, string, string> check)
    {
        var ls = c.LabelSide;
        var d = new LabelSideConfig();
        var dl = new LossConfig();
        check(ls.FreeVectors is >= 0 and <= MaxFreeVectors, "label_side.free_vectors", $"{ls.FreeVectors} must be in [0, {MaxFreeVectors:N0}] (0 = about two labels per vector)");
        check(ls.Heads > 0, "label_side.heads", "must be positive");
        check(ls.Ffn > 0 && ls.Ffn <= 16 * MaxHidden, "label_side.ffn", $"{ls.Ffn} must be in [1, {16 * MaxHidden}]");
        check(ls.Dropout is >= 0 and < 1, "label_side.dropout", "must be in [0, 1)");
        check(c.Loss.RegWeight >= 0, "loss.reg_weight", "must be non-negative");
        check(c.Optim.LrLabelSide >= 0, "optim.lr_label_side", "must be non-negative");
        if (ls.Kind == LabelSideKind.Prime)
        {
            check(c.Model.Hidden % ls.Heads == 0 || c.Model.Pretrained.Length > 0, "label_side.heads",
                $"model.hidden {c.Model.Hidden} must be a multiple of label_side.heads {ls.Heads}");
            check(c.Loss.Kind == LossKind.Triplet, "loss.kind", "label_side prime trains with PRIME's triplet terms; set loss.kind triplet");
            check(c.Loss.WarmupInfonceEpochs == 0, "loss.warmup_infonce_epochs", "has no PRIME counterpart; set it to 0 with label_side prime");
            return;
        }
        const string why = "applies to label_side.kind prime only (keep the default with kind plain)";
        check(ls.FreeVectors == d.FreeVectors, "label_side.free_vectors", why);
        check(ls.Heads == d.Heads, "label_side.heads", why);
        check(ls.Ffn == d.Ffn, "label_side.ffn", why);
        check(ls.Dropout == d.Dropout, "label_side.dropout", why);
        check(ls.Init == d.Init, "label_side.init", why);
        check(ls.Centroids == d.Centroids, "label_side.centroids", why);
        check(c.Loss.TieRule == dl.TieRule, "loss.tie_rule", why);
        check(c.Loss.Positives == dl.Positives, "loss.positives", why);
        check(c.Loss.RegWeight == dl.RegWeight, "loss.reg_weight", why);
        check(c.Optim.LrLabelSide == new OptimConfig().LrLabelSide, "optim.lr_label_side", why);
    }

    private static void CheckPropensity(double a, double b, string section, Action<bool, string, string> check)
    {
        check(a > 0, $"{section}.propensity_a", $"{a} must be a positive number");
        check(b > 0, $"{section}.propensity_b", $"{b} must be a positive number");
    }
}
