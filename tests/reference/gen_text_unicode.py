#!/usr/bin/python3
"""Independent reference for ViXml.Text's NFC/NFD (lib/Text/Unicode): random strings over the tricky parts of
Unicode (combining marks in every order, Hangul syllables and jamo, singletons, composition exclusions, non-starter
decompositions, astral compositions), normalised by Python's unicodedata (CPython's own implementation).
Writes tests/fixtures/tokenizers/unicode_norm.json deterministically (fixed seed). Standard library only."""
import json
import os
import random
import unicodedata as ud

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'tokenizers', 'unicode_norm.json')

POOL = (
    list(range(0x41, 0x5B)) + list(range(0xC0, 0x180)) + list(range(0x1E00, 0x1F00)) +  # Latin + precomposed
    list(range(0x300, 0x370)) + [0x1AB0, 0x1DC0, 0x20D0, 0x302A, 0x3099, 0x309A] +          # combining marks
    list(range(0x386, 0x3D0)) + [0x1F80, 0x1FB7, 0x1FC1, 0x1FEE] +                         # Greek
    list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11A8, 0x11C3)) +  # jamo
    list(range(0xAC00, 0xAC00 + 600)) + [0xD7A3] +                                           # Hangul syllables
    [0x212B, 0x2126, 0x212A, 0xF900, 0xF901, 0x2F800, 0x1E9B, 0x0344, 0x0F73, 0x0F75, 0x0F81] +  # singletons/non-starters
    [0x0958, 0x0959, 0x095F, 0x2ADC, 0xFB1D, 0x0915, 0x093C, 0x0929, 0x0928] +               # exclusions, nukta
    [0x304B, 0x304C, 0x30AB, 0x30AC, 0x0CC6, 0x0CC2, 0x0CD5, 0x0CCA, 0x0B47, 0x0B3E, 0x0B57] +  # kana, two-part vowels
    [0x1D15E, 0x1D15F, 0x1D157, 0x1D165, 0x1D16E, 0x1D1BB, 0x11099, 0x110BA, 0x1109A] +      # astral
    [0x20, 0x61, 0x65, 0x6F, 0x75, 0x3B1, 0x3C9, 0x4E00, 0x1F600]
)


def main():
    rng = random.Random(20261122)
    cases = []
    for i in range(400):
        n = rng.randint(1, 10)
        s = ''.join(chr(rng.choice(POOL)) for _ in range(n))
        cases.append({'s': s, 'nfc': ud.normalize('NFC', s), 'nfd': ud.normalize('NFD', s)})
    doc = {'unicode_version': ud.unidata_version, 'cases': cases}
    tmp = OUT + '.tmp'
    with open(tmp, 'w', encoding='ascii') as f:
        json.dump(doc, f, ensure_ascii=True, indent=0)
        f.write('\n')
    os.replace(tmp, OUT)
    print(f'{OUT}: {len(cases)} cases, Unicode {ud.unidata_version}')


if __name__ == '__main__':
    main()
