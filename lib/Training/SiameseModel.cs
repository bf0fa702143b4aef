using ViXml.Models;
using ViXml.Models.Hf;
using ViXml.Torch;
using ViXml.Training.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training;

/// <summary>
/// The Siamese (two-tower, shared weights) retriever: one encoder embeds queries and labels alike; hidden states are
/// pooled, optionally passed through a square linear map, and L2-normalised, so inner products are cosine similarities.
/// The label side is the same tower here; PRIME's enriched label side plugs in later as another component.
/// </summary>
public sealed class SiameseModel : HfModule
{
    public IEncoder Encoder { get; }
    public PoolingMode Pooling { get; }
    /// <summary>Optional (H → H) linear map after pooling; null when model.linear is false.</summary>
    public Linear? Transform { get; }

    public SiameseModel(IEncoder encoder, PoolingMode pooling, bool linear) : base(nameof(SiameseModel))
    {
        Encoder = encoder;
        Pooling = pooling;
        register_module("encoder", encoder.Module);
        if (linear)
        {
            Transform = register_module("transform", nn.Linear(encoder.HiddenSize, encoder.HiddenSize));
            // Start at the identity so the head does not scramble a (pre)trained encoder's geometry.
            using (no_grad())
            {
                Transform.weight.copy_(eye(encoder.HiddenSize));
                Transform.bias!.zero_();
            }
        }
    }

    public int Dim => Encoder.HiddenSize;

    /// <summary>ids, mask (B, T) → unit vectors (B, H).</summary>
    public Tensor Embed(Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var pooled = Encoder is IPromptedEncoder prompted                            // a decoder pools over its prompt
            ? prompted.EncodePooled(ids, mask, Pooling)
            : Models.Pooling.Pool(Encoder.Forward(ids, mask), mask, Pooling);        // (B, H)
        if (Transform is not null) pooled = Transform.forward(pooled);
        return Models.Pooling.L2Normalize(pooled).MoveToOuterDisposeScope();
    }

    /// <summary>Is this parameter part of the encoder (its own learning rate) rather than a head?</summary>
    public static bool IsEncoderParameter(string name) => name.StartsWith("encoder.", StringComparison.Ordinal);

    /// <summary>Builds the model a configuration describes (random init from <paramref name="seed"/> or pretrained).</summary>
    public static SiameseModel Create(ModelConfig m, int vocabSize, long seed)
    {
        IEncoder enc;
        if (m.Encoder == EncoderKind.Qwen2)
        {
            var d = m.Decoder; // Qwen2 backbone + LoRA + prompt template (lib/Models/Qwen2)
            enc = Models.Qwen2.Qwen2Encoders.ForTraining(Models.Qwen2.Qwen2Encoders.Tokenizer(m.Pretrained), m.Pretrained, m.Hidden,
                m.Layers, m.Heads, m.Intermediate, m.MaxPositions, d.LoraR, d.LoraAlpha, d.Rslora, d.LoraDropout, d.LoraTargets,
                d.Template, d.PromptPrefix, d.PromptSuffix, d.Positions, d.Dtype, seed);
        }
        else if (!string.IsNullOrEmpty(m.Pretrained)) enc = Encoders.Load(m.Pretrained);
        else
        {
            var cfg = new BertConfig
            {
                VocabSize = vocabSize, HiddenSize = m.Hidden, NumHiddenLayers = m.Layers, NumAttentionHeads = m.Heads,
                IntermediateSize = m.Intermediate, MaxPositionEmbeddings = m.MaxPositions,
                HiddenDropoutProb = m.Dropout, AttentionProbsDropoutProb = m.Dropout,
                Architectures = ["BertModel"],
            };
            enc = new Models.Bert.BertModel(cfg, addPoolingLayer: false, seed: seed);   // no pooler: we pool ourselves
        }
        if (enc.VocabSize < vocabSize)
            throw new ConfigException($"model: the encoder has {enc.VocabSize} token ids but the vocabulary has {vocabSize}");
        manual_seed(seed + 1);
        return new SiameseModel(enc, m.Pooling switch
        {
            Config.Pooling.Mean => PoolingMode.Mean,
            Config.Pooling.Cls => PoolingMode.Cls,
            _ => PoolingMode.Last,
        }, m.Linear);
    }
}
