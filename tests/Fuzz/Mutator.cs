using System.Text;

namespace ViXml.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a valid file: byte flips and overwrites with boundary bytes, inserts, deletions, duplications,
/// truncation, splicing with another seed, and (most useful for size fields) replacing a run of ASCII digits with a
/// boundary number. Deterministic for a given seed.
/// </summary>
internal sealed class Mutator(ulong seed)
{
    private ulong _s = seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL;

    public ulong Next()
    {
        _s += 0x9E3779B97F4A7C15UL;
        ulong z = _s;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public int Below(int n) => n <= 0 ? 0 : (int)(Next() % (ulong)n);

    private static readonly byte[] Bytes = [0, 0xFF, 0x7F, 0x80, (byte)'\n', (byte)'\r', (byte)' ', (byte)':', (byte)',', (byte)'"',
        (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)'-', (byte)'.', (byte)'9', (byte)'0', 0xC3, 0xE2, 0xF0, 0xED];

    private static readonly string[] Numbers = ["0", "-1", "1", "2147483647", "2147483648", "4294967295", "4294967296",
        "9223372036854775807", "18446744073709551615", "99999999999999999999999", "-2147483648", "1e308", "-1e308", "1e-320",
        "NaN", "Infinity", "-0", "3.5", "65535", "65536", "1048576", "0x10", ""];

    /// <summary>One to four mutations of <paramref name="data"/>; <paramref name="other"/> is a seed for splicing.</summary>
    public byte[] Mutate(byte[] data, byte[] other)
    {
        var d = new List<byte>(data);
        int rounds = 1 + Below(4);
        for (int r = 0; r < rounds; r++)
        {
            int op = Below(10);
            int n = d.Count;
            switch (op)
            {
                case 0 when n > 0: d[Below(n)] ^= (byte)(1 << Below(8)); break;
                case 1 when n > 0: d[Below(n)] = Bytes[Below(Bytes.Length)]; break;
                case 2: d.InsertRange(Below(n + 1), Enumerable.Range(0, 1 + Below(8)).Select(_ => Bytes[Below(Bytes.Length)])); break;
                case 3 when n > 0: { int at = Below(n); d.RemoveRange(at, Math.Min(n - at, 1 + Below(Math.Max(1, n / 8)))); break; }
                case 4 when n > 0: { int at = Below(n), len = Math.Min(n - at, 1 + Below(64)); d.InsertRange(Below(n + 1), d.GetRange(at, len)); break; }
                case 5 when n > 0: { int at = Below(n); d.RemoveRange(at, n - at); break; } // truncation
                case 6 when other.Length > 0:
                {
                    int at = Below(n + 1), from = Below(other.Length), len = Math.Min(other.Length - from, 1 + Below(256));
                    d.InsertRange(at, other.AsSpan(from, len).ToArray());
                    break;
                }
                default: ReplaceNumber(d); break;
            }
        }
        return d.ToArray();
    }

    private void ReplaceNumber(List<byte> d)
    {
        var runs = new List<(int Start, int Len)>();
        for (int i = 0; i < d.Count;)
        {
            if (d[i] >= '0' && d[i] <= '9')
            {
                int j = i;
                while (j < d.Count && d[j] >= '0' && d[j] <= '9') j++;
                runs.Add((i, j - i));
                i = j;
            }
            else i++;
        }
        if (runs.Count == 0) return;
        var (start, len) = runs[Below(runs.Count)];
        d.RemoveRange(start, len);
        d.InsertRange(start, Encoding.ASCII.GetBytes(Numbers[Below(Numbers.Length)]));
    }
}
