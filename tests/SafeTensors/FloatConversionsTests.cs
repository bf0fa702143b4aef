using ViXml.Tests.TestSupport;
using ViXml.SafeTensors;

namespace ViXml.Tests.SafeTensors;

/// <summary>Our bf16/f16 conversions against Debian's torch (conversions.safetensors from gen_safetensors.py).</summary>
public class FloatConversionsTests
{
    private static SafeTensorsFile Open() => SafeTensorsFile.Open(Repo.Fixture("safetensors", "conversions.safetensors"));

    private static byte[] AllSixteenBitPatterns()
    {
        var b = new byte[65536 * 2];
        for (int i = 0; i < 65536; i++) { b[2 * i] = (byte)i; b[2 * i + 1] = (byte)(i >> 8); }
        return b;
    }

    [Fact]
    public void F16ToFloatMatchesTorchForAllPatterns()
    {
        using var f = Open();
        var expected = f.ReadFloat32("f16_all_to_f32");
        var got = new float[65536];
        FloatConversions.F16ToFloat(AllSixteenBitPatterns(), got);
        Assert.Equal(expected.Select(BitConverter.SingleToUInt32Bits), got.Select(BitConverter.SingleToUInt32Bits));
    }

    [Fact]
    public void Bf16ToFloatMatchesTorchForAllPatterns()
    {
        using var f = Open();
        var expected = f.ReadFloat32("bf16_all_to_f32");
        var got = new float[65536];
        FloatConversions.Bf16ToFloat(AllSixteenBitPatterns(), got);
        Assert.Equal(expected.Select(BitConverter.SingleToUInt32Bits), got.Select(BitConverter.SingleToUInt32Bits));
    }

    /// <summary>
    /// Bit-exact except for NaN, where only NaN-ness (and the sign for f16) is compared: torch 1.13's vectorised
    /// bf16 path returns 0xFFFF for every NaN, which no bit rule of ours should imitate.
    /// </summary>
    private static void AssertNarrowing(string expectedKey, Func<float, ushort> convert, Func<ushort, float> widen, bool nanSign)
    {
        using var f = Open();
        var inputs = f.ReadFloat32("f32_inputs");
        var raw = f.ReadBytes(expectedKey);
        int nans = 0, mismatches = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            ushort want = (ushort)(raw[2 * i] | raw[2 * i + 1] << 8);
            ushort got = convert(inputs[i]);
            if (float.IsNaN(inputs[i]))
            {
                nans++;
                Assert.True(float.IsNaN(widen(got)) && float.IsNaN(widen(want)), $"input #{i} NaN -> {got:X4}");
                if (nanSign) Assert.Equal(want >> 15, got >> 15);
                continue;
            }
            if (want != got) mismatches++;
            Assert.True(want == got, $"input #{i} bits {BitConverter.SingleToUInt32Bits(inputs[i]):X8}: torch {want:X4}, ours {got:X4}");
        }
        Assert.Equal(0, mismatches);
        Assert.True(nans > 0 && inputs.Length > 10000); // the fixture really exercises NaN and many values
    }

    [Fact]
    public void FloatToBf16RoundsLikeTorch() =>
        AssertNarrowing("f32_to_bf16", FloatConversions.FloatToBf16, FloatConversions.Bf16ToFloat, nanSign: false);

    [Fact]
    public void FloatToF16RoundsLikeTorch() =>
        AssertNarrowing("f32_to_f16", FloatConversions.FloatToF16, FloatConversions.F16ToFloat, nanSign: true);

    [Fact]
    public void SpanConversionsRoundTripAndCheckLengths()
    {
        float[] values = [1f, -2.5f, 0.1f, 65504f, float.PositiveInfinity];
        var bf = new byte[10];
        FloatConversions.FloatToBf16(values, bf);
        var back = new float[5];
        FloatConversions.Bf16ToFloat(bf, back);
        Assert.Equal(new[] { 1f, -2.5f, 0.10009765625f, 65536f, float.PositiveInfinity }, back); // hand-computed RNE
        var h = new byte[10];
        FloatConversions.FloatToF16(values, h);
        FloatConversions.F16ToFloat(h, back);
        Assert.Equal(new[] { 1f, -2.5f, 0.0999755859375f, 65504f, float.PositiveInfinity }, back);
        Assert.Throws<ArgumentException>(() => FloatConversions.Bf16ToFloat(new byte[3], new float[2]));
    }
}
