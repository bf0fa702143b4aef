namespace ViXml.SafeTensors;

/// <summary>
/// The safetensors element types this project reads and writes, declared in the same relative order as the
/// reference implementation's dtype enum (item sizes never decrease along it). Its writer places data in descending
/// dtype order, so every tensor starts at a multiple of its item size; <see cref="SafeTensorsWriter"/> does the same.
/// </summary>
public enum SafeDType
{
    BOOL,
    U8,
    F16,
    BF16,
    I32,
    F32,
    F64,
    I64,
}

public static class SafeDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ItemSize(this SafeDType t) => t switch
    {
        SafeDType.BOOL or SafeDType.U8 => 1,
        SafeDType.F16 or SafeDType.BF16 => 2,
        SafeDType.I32 or SafeDType.F32 => 4,
        SafeDType.I64 or SafeDType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown safetensors dtype"),
    };

    /// <summary>The spelling used in the JSON header ("F32", "BF16", ...).</summary>
    public static string HeaderName(this SafeDType t) => t.ToString();

    public static bool IsFloatingPoint(this SafeDType t) =>
        t is SafeDType.F16 or SafeDType.BF16 or SafeDType.F32 or SafeDType.F64;

    public static bool TryParse(string name, out SafeDType dtype)
    {
        switch (name)
        {
            case "BOOL": dtype = SafeDType.BOOL; return true;
            case "U8": dtype = SafeDType.U8; return true;
            case "I32": dtype = SafeDType.I32; return true;
            case "I64": dtype = SafeDType.I64; return true;
            case "F16": dtype = SafeDType.F16; return true;
            case "BF16": dtype = SafeDType.BF16; return true;
            case "F32": dtype = SafeDType.F32; return true;
            case "F64": dtype = SafeDType.F64; return true;
            default: dtype = default; return false;
        }
    }

    // Valid in the format but not supported here: named separately so the error says "unsupported", not "garbage".
    internal static readonly HashSet<string> KnownUnsupported =
        ["I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"];
}
