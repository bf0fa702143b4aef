namespace ViXml.Text;

/// <summary>
/// GPT-2's reversible byte → printable-character map used by byte-level BPE: the 188 printable bytes
/// ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves, the other 68 to U+0100, U+0101, … in byte order
/// (so ' ' becomes 'Ġ' and '\n' becomes 'Ċ').
/// </summary>
public static class ByteLevel
{
    /// <summary>Character for each byte value.</summary>
    public static readonly char[] ByteToChar = BuildTable();

    /// <summary>Byte for each mapped character (index = char code, -1 where no byte maps there).</summary>
    public static readonly short[] CharToByte = BuildInverse();

    private static char[] BuildTable()
    {
        var t = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            t[b] = printable ? (char)b : (char)next++;
        }
        return t;
    }

    private static short[] BuildInverse()
    {
        var inv = new short[ByteToChar.Max() + 1];
        Array.Fill(inv, (short)-1);
        for (int b = 0; b < 256; b++) inv[ByteToChar[b]] = (short)b;
        return inv;
    }

    /// <summary>The byte-level string of UTF-8 bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), (span, b) =>
        {
            for (int i = 0; i < b.Length; i++) span[i] = ByteToChar[b[i]];
        });
    }

    /// <summary>Appends the bytes a byte-level token stands for; false if it has a character outside the map.</summary>
    public static bool TryDecode(string token, List<byte> output)
    {
        int mark = output.Count;
        foreach (var c in token)
        {
            if (c >= CharToByte.Length || CharToByte[c] < 0)
            {
                output.RemoveRange(mark, output.Count - mark);
                return false;
            }
            output.Add((byte)CharToByte[c]);
        }
        return true;
    }
}
