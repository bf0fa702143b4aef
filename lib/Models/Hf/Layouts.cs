namespace ViXml.Models.Hf;

/// <summary>
/// Where BERT-family encoders sit inside the checkpoints people publish, and the written allow-list of tensors that may
/// be present but are not part of the encoder we build.
/// </summary>
public static class Layouts
{
    /// <summary>Encoder prefixes: bare (BertModel, sentence-transformers folders), "bert." (BertForMaskedLM,
    /// BertForPreTraining), "0.auto_model." (a whole SentenceTransformer state dict saved in one file).</summary>
    public static readonly CheckpointLayout Bert = new("BertModel", ["", "bert.", "0.auto_model."],
    [
        new("embeddings.position_ids", true, "arange buffer saved by transformers < 4.31; positions are recomputed"),
        new("embeddings.token_type_ids", true, "zeros buffer; we always feed segment 0"),
        new("pooler.*", true, "pooler of a checkpoint loaded into a model built without one (unused by mean/cls/last pooling)"),
        new("cls.*", false, "BertForMaskedLM / BertForPreTraining heads (MLM and next-sentence prediction)"),
    ]);

    /// <summary>Encoder prefixes: bare (DistilBertModel), "distilbert." (DistilBertForMaskedLM), "0.auto_model.".</summary>
    public static readonly CheckpointLayout DistilBert = new("DistilBertModel", ["", "distilbert.", "0.auto_model."],
    [
        new("embeddings.position_ids", true, "arange buffer; positions are recomputed"),
        new("vocab_transform.*", false, "DistilBertForMaskedLM head"),
        new("vocab_layer_norm.*", false, "DistilBertForMaskedLM head"),
        new("vocab_projector.*", false, "DistilBertForMaskedLM head (decoder tied to word embeddings)"),
    ]);
}
