namespace ViXml.Models.Import;

/// <summary>One convolution as the graph runs it (ONNX pads order: top, left, bottom, right).</summary>
public sealed record ConvSpec(string Name, int OutChannels, int InChannels, int[] Kernel, int[] Stride, int[] Pads);

/// <summary>The pooled-feature ResNet read from a graph: stage layout, every conv's geometry, BN eps, pools.</summary>
public sealed record ResNetImport(
    int[] Blocks, int[] Widths, int OutputDim, double BatchNormEps, int InputSize,
    IReadOnlyList<ConvSpec> Convs, int[] MaxPoolKernel, int[] MaxPoolStride, int[] MaxPoolPads,
    int[] AvgPoolKernel, bool AvgPoolCountIncludePad,
    IReadOnlyList<ImportedTensor> Tensors);

/// <summary>The preprocessing graph: input channel order to the model and the mean image subtracted after it.</summary>
public sealed record ImagePreprocessImport(int[] ChannelPermutation, string ChannelOrder, long[] MeanShape, float[] MeanImage);

/// <summary>
/// Maps a ResNet with basic blocks (as CNTK exports it to ONNX: Conv without bias → BatchNormalization → Relu, residual
/// Add → Relu, a 1×1 strided Conv + BN on the shortcut when the shape changes, global AveragePool at the end) to
/// torchvision-style names by walking the graph from its input: <c>conv1</c>, <c>bn1</c>, <c>layerS.B.conv1/bn1/conv2/bn2</c>,
/// <c>layerS.B.downsample.0/1</c>. BN tensors keep their four roles (scale → weight, B → bias, mean → running_mean,
/// var → running_var); nothing is folded. Every initializer must be used exactly once; anything off the expected path
/// (other ops, grouped or dilated convs, biases, differing eps) is an error naming the node.
/// </summary>
public static class ResNetOnnxImporter
{
    public static ResNetImport Import(OnnxModel model)
    {
        var g = new OnnxGraphIndex(model);
        var tensors = new Dictionary<string, ImportedTensor>(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var convs = new List<ConvSpec>();
        var eps = new HashSet<float>();

        if (model.Graph.Inputs.Count != 1) throw g.Error($"expected one graph input, found {model.Graph.Inputs.Count}");
        var input = model.Graph.Inputs[0];
        if (input.Dims is not [_, 3, var h, var w] || h != w || h <= 0)
            throw g.Error($"input '{input.Name}' has dims [{string.Join(", ", input.Dims)}], expected [N, 3, S, S]");

        void Take(string hfName, string onnxName, string via)
        {
            if (!g.Initializers.TryGetValue(onnxName, out var t)) throw g.Error($"{via}: input '{onnxName}' is not an initializer");
            if (!used.Add(onnxName)) throw g.Error($"initializer '{onnxName}' is used twice (second time as {hfName})");
            if (!tensors.TryAdd(hfName, new ImportedTensor(hfName, t.Dims.ToArray(), t.ToFloats(), onnxName, false, via)))
                throw g.Error($"two initializers map to '{hfName}'");
        }

        OnnxNode Single(string value, string op, string context)
        {
            var c = g.Consumers(value);
            var hit = c.Where(n => n.OpType == op).ToList();
            if (hit.Count != 1) throw g.Error($"{context}: expected one {op} consuming '{value}', found {Describe(c)}");
            return hit[0];
        }

        // Conv (no bias) + BatchNormalization under prefix names; returns the BN output.
        string ConvBn(OnnxNode conv, string convName, string bnName)
        {
            if (conv.Inputs.Length != 2) throw g.Error($"Conv '{conv.Name}' ({convName}) has a bias input; expected Conv without bias followed by BatchNormalization");
            if ((conv.Attr("group")?.I ?? 1) != 1) throw g.Error($"Conv '{conv.Name}' is grouped");
            if (conv.Attr("dilations")?.Ints is { } dil && dil.Any(d => d != 1)) throw g.Error($"Conv '{conv.Name}' is dilated");
            if (conv.Attr("auto_pad") is { } ap && ap.Text is not ("" or "NOTSET")) throw g.Error($"Conv '{conv.Name}' uses auto_pad {ap.Text}");
            var wt = g.Initializers.GetValueOrDefault(conv.Inputs[1]) ?? throw g.Error($"Conv '{conv.Name}': weight '{conv.Inputs[1]}' is not an initializer");
            if (wt.Dims.Length != 4) throw g.Error($"Conv '{conv.Name}': weight has dims [{string.Join(", ", wt.Dims)}]");
            var kernel = conv.Attr("kernel_shape")?.Ints.Select(i => (int)i).ToArray() ?? [(int)wt.Dims[2], (int)wt.Dims[3]];
            if (kernel[0] != wt.Dims[2] || kernel[1] != wt.Dims[3]) throw g.Error($"Conv '{conv.Name}': kernel_shape disagrees with its weight");
            var stride = conv.Attr("strides")?.Ints.Select(i => (int)i).ToArray() ?? [1, 1];
            var pads = conv.Attr("pads")?.Ints.Select(i => (int)i).ToArray() ?? [0, 0, 0, 0];
            convs.Add(new ConvSpec(convName, (int)wt.Dims[0], (int)wt.Dims[1], kernel, stride, pads));
            Take(convName + ".weight", conv.Inputs[1], $"Conv '{conv.Name}'");

            var bn = Single(conv.Outputs[0], "BatchNormalization", $"Conv '{conv.Name}'");
            if (bn.Inputs.Length != 5) throw g.Error($"BatchNormalization '{bn.Name}' has {bn.Inputs.Length} inputs, expected 5");
            if (bn.Attr("spatial") is { } sp && sp.I != 1) throw g.Error($"BatchNormalization '{bn.Name}': spatial={sp.I} (per-pixel statistics) not supported");
            eps.Add(bn.Attr("epsilon")?.F ?? 1e-5f);
            string[] roles = ["weight", "bias", "running_mean", "running_var"];
            for (int i = 0; i < 4; i++) Take($"{bnName}.{roles[i]}", bn.Inputs[i + 1], $"BatchNormalization '{bn.Name}' input {i + 1}");
            foreach (var r in roles)
                if (!tensors[$"{bnName}.{r}"].Shape.SequenceEqual(new long[] { wt.Dims[0] }))
                    throw g.Error($"BatchNormalization '{bn.Name}': {r} has shape [{string.Join(", ", tensors[$"{bnName}.{r}"].Shape)}], expected [{wt.Dims[0]}]");
            return bn.Outputs[0];
        }

        // Stem: conv1 → bn1 → relu → maxpool.
        var stemConv = Single(input.Name, "Conv", $"input '{input.Name}'");
        var x = ConvBn(stemConv, "conv1", "bn1");
        x = Single(x, "Relu", "stem").Outputs[0];
        var maxPool = Single(x, "MaxPool", "stem");
        if (maxPool.Attr("auto_pad") is { } mpap && mpap.Text is not ("" or "NOTSET")) throw g.Error($"MaxPool '{maxPool.Name}' uses auto_pad");
        var mpKernel = maxPool.Attr("kernel_shape")!.Ints.Select(i => (int)i).ToArray();
        var mpStride = maxPool.Attr("strides")?.Ints.Select(i => (int)i).ToArray() ?? [1, 1];
        var mpPads = maxPool.Attr("pads")?.Ints.Select(i => (int)i).ToArray() ?? [0, 0, 0, 0];
        x = maxPool.Outputs[0];

        var blocks = new List<int>();
        var widths = new List<int>();
        int blockInStage = 0;
        OnnxNode? avgPool = null;
        while (avgPool is null)
        {
            var consumers = g.Consumers(x);
            if (consumers is [{ OpType: "AveragePool" } ap]) { avgPool = ap; break; }
            var convsHere = consumers.Where(c => c.OpType == "Conv").ToList();
            var adds = consumers.Where(c => c.OpType == "Add").ToList();
            if (convsHere.Count is < 1 or > 2 || consumers.Count != convsHere.Count + adds.Count || adds.Count > 1)
                throw g.Error($"after '{x}': expected a basic block (Conv, and Add or a 1x1 downsample Conv), found {Describe(consumers)}");
            var main = convsHere.Where(c => c.Attr("kernel_shape")?.Ints is [3, 3]).ToList();
            var down = convsHere.Where(c => c.Attr("kernel_shape")?.Ints is [1, 1]).ToList();
            if (main.Count != 1 || down.Count + main.Count != convsHere.Count)
                throw g.Error($"after '{x}': expected one 3x3 Conv and at most one 1x1 Conv, found {Describe(convsHere)}");
            bool newStage = blocks.Count == 0 || down.Count == 1;
            if (newStage) { blocks.Add(0); blockInStage = 0; }
            var p = $"layer{blocks.Count}.{blockInStage}";
            var y = ConvBn(main[0], p + ".conv1", p + ".bn1");
            y = Single(y, "Relu", p).Outputs[0];
            y = ConvBn(Single(y, "Conv", p), p + ".conv2", p + ".bn2");
            string shortcut = x;
            if (down.Count == 1) shortcut = ConvBn(down[0], p + ".downsample.0", p + ".downsample.1");
            var add = Single(y, "Add", p);
            if (!add.Inputs.OrderBy(s => s, StringComparer.Ordinal).SequenceEqual(new[] { y, shortcut }.OrderBy(s => s, StringComparer.Ordinal)))
                throw g.Error($"{p}: Add '{add.Name}' does not join the block's main path and its shortcut (inputs {string.Join(", ", add.Inputs)})");
            x = Single(add.Outputs[0], "Relu", p).Outputs[0];
            if (newStage) widths.Add(convs[^1].OutChannels);
            blocks[^1]++;
            blockInStage++;
        }

        if (eps.Count != 1) throw g.Error($"BatchNormalization epsilons differ: {string.Join(", ", eps)}");
        var apKernel = avgPool.Attr("kernel_shape")!.Ints.Select(i => (int)i).ToArray();
        var apStride = avgPool.Attr("strides")?.Ints ?? [1, 1];
        if (avgPool.Attr("pads")?.Ints is { } app && app.Any(v => v != 0)) throw g.Error($"AveragePool '{avgPool.Name}' pads");
        bool countPad = (avgPool.Attr("count_include_pad")?.I ?? 0) != 0;
        if (model.Graph.Outputs.Count != 1 || model.Graph.Outputs[0].Name != avgPool.Outputs[0])
            throw g.Error($"the graph output is not the AveragePool '{avgPool.Name}' output");
        var outDims = model.Graph.Outputs[0].Dims;
        int outDim = widths[^1];
        if (outDims is not [_, var oc, 1, 1] || oc != outDim)
            throw g.Error($"output dims [{string.Join(", ", outDims)}], expected [N, {outDim}, 1, 1] (global pooling)");
        // Global pooling: the last feature map must be exactly the pool kernel (input / 32 for this stem and 3 stride-2 stages).
        if (apKernel is not [var k0, var k1] || k0 != h / 32 || k1 != h / 32 || apStride.Any(s => s != 1) && k0 != 1)
            throw g.Error($"AveragePool kernel [{string.Join(", ", apKernel)}] is not global over a {h / 32}x{h / 32} map");

        var unused = g.Initializers.Keys.Where(k => !used.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (unused.Count > 0) throw g.Error($"initializer(s) not on the ResNet path: {string.Join(", ", unused)}");
        var others = g.Graph.Nodes.Select(n => n.OpType).Distinct().Except(["Conv", "BatchNormalization", "Relu", "MaxPool", "Add", "AveragePool"]).ToList();
        if (others.Count > 0) throw g.Error($"unexpected op(s) in the graph: {string.Join(", ", others)}");

        return new ResNetImport(blocks.ToArray(), widths.ToArray(), outDim, OnnxGraphIndex.Shortest(eps.Single()), (int)h,
            convs, mpKernel, mpStride, mpPads, apKernel, countPad,
            tensors.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// Reads the preprocessing graph: Split(input, axis 1) → Concat(channels in some order) → Sub(·, mean image).
    /// Anything else is an error: the importer records exactly this transform, so it must be exactly this.
    /// </summary>
    public static ImagePreprocessImport ImportPreprocess(OnnxModel model)
    {
        var g = new OnnxGraphIndex(model);
        if (model.Graph.Inputs.Count != 1 || model.Graph.Outputs.Count != 1)
            throw g.Error("expected one input and one output");
        var ops = model.Graph.Nodes.Select(n => n.OpType).ToList();
        if (!ops.SequenceEqual(["Split", "Concat", "Sub"])) throw g.Error($"expected nodes Split, Concat, Sub; found {string.Join(", ", ops)}");
        var (split, concat, sub) = (model.Graph.Nodes[0], model.Graph.Nodes[1], model.Graph.Nodes[2]);
        if (split.Inputs is not [var inName] || inName != model.Graph.Inputs[0].Name || split.Attr("axis")?.I != 1 || split.Outputs.Length != 3)
            throw g.Error($"Split '{split.Name}' does not split the input into its 3 channels");
        if (split.Attr("split")?.Ints is { } parts && !parts.SequenceEqual([1L, 1, 1])) throw g.Error("Split parts are not [1, 1, 1]");
        if (concat.Attr("axis")?.I != 1 || concat.Inputs.Length != 3) throw g.Error($"Concat '{concat.Name}' is not a channel concat of 3");
        var perm = concat.Inputs.Select(i => Array.IndexOf(split.Outputs, i)).ToArray();
        if (perm.Any(p => p < 0) || perm.Distinct().Count() != 3) throw g.Error("Concat does not reorder the Split's channels");
        if (sub.Inputs.Length != 2 || sub.Inputs[0] != concat.Outputs[0] || sub.Outputs[0] != model.Graph.Outputs[0].Name)
            throw g.Error($"Sub '{sub.Name}' is not (reordered input − constant) → output");
        var mean = g.Initializers.GetValueOrDefault(sub.Inputs[1]) ?? throw g.Error($"Sub '{sub.Name}': '{sub.Inputs[1]}' is not an initializer");
        if (mean.Dims is not [1, 3, var mh, var mw]) throw g.Error($"mean '{mean.Name}' has dims [{string.Join(", ", mean.Dims)}], expected [1, 3, H, W]");
        if (model.Graph.Inputs[0].Dims is not [_, 3, var ih, var iw] || ih != mh || iw != mw)
            throw g.Error("the mean image and the input differ in size");
        // The package's input is RGB (ML.NET's image pixel extractor order); name the output order from the permutation.
        string order = string.Concat(perm.Select(p => "RGB"[p]));
        return new ImagePreprocessImport(perm, order, [3, mh, mw], mean.ToFloats());
    }

    private static string Describe(IReadOnlyList<OnnxNode> nodes) =>
        nodes.Count == 0 ? "nothing" : string.Join(", ", nodes.Select(n => $"{n.OpType} '{n.Name}'"));
}
