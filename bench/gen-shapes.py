#!/usr/bin/env python3
"""bench/gen-shapes.py SHAPE MB [SEED] — a deterministic JSON document of about
MB megabytes dominated by one shape (issue 18), on standard output:

  small     many small objects (6-8 members: ints, floats, short strings,
            short arrays, a nested object), some member names non-ASCII
  nonascii  objects whose member names and values are mostly non-ASCII
            (Latin, Greek, CJK, emoji: 2-, 3- and 4-byte UTF-8; some escaped)
  floats    arrays of doubles: sin(i)*1e6, tiny and huge exponents
  strings   long strings (4-64 KiB) with escapes and non-ASCII runs
  deep      nesting: arrays and objects 100 levels deep (jq 1.6 stops near 170), many times over

Seeded (SEED, default 1) and deterministic: the same arguments give the same
bytes.  Member names are unique within each object (RFC 8785 inputs)."""
import json, math, random, sys

def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    shape, mb = sys.argv[1], float(sys.argv[2])
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    target = int(mb * 1e6)
    out = sys.stdout
    words = ["alpha", "beta", "größe", "naïve", "δέλτα", "名前", "値", "ключ", "😀x", "zeta"]

    def name(i, k):
        return words[(i + k) % len(words)] + str(k)

    def small(i):
        o = {name(i, 0): i, name(i, 1): math.sin(i) * 1e6, name(i, 2): "s%d" % (i % 97),
             name(i, 3): [i % 7, i % 11, i % 13], name(i, 4): {"x": i % 3, "y": -i},
             name(i, 5): (i % 2 == 0)}
        if i % 3 == 0:
            o[name(i, 6)] = None
        if i % 5 == 0:
            o[name(i, 7)] = rnd.random()
        return o

    def nonascii(i):
        return {"ключ%d" % i: "значение", "名前%d" % i: "値" * (1 + i % 5),
                "δέλτα%d" % i: "ω" * 3, "😀%d" % i: "🎉", "größe%d" % i: "naïve\u00e9",
                "\u00e9t\u00e9%d" % i: i}

    def floats(i):
        return [math.sin(i) * 1e6, math.cos(i) / 1e300, (i + 0.1) * 1e300 if i % 7 else 5e-324,
                rnd.uniform(-1, 1), float(i) / 3, 2.0 ** -(i % 1074)]

    def strings(i):
        n = 4096 << (i % 5)
        parts = []
        while sum(map(len, parts)) < n:
            parts.append(rnd.choice(["plain text ", "tab\there ", "quote\" ", "back\\slash ",
                                     "ünïcödé ", "中文字符 ", "\u0001ctl ", "emoji 😀 "]))
        return "".join(parts)

    def deep(i):
        v = i
        for d in range(100):
            v = [v] if d % 2 else {"k%d" % (d % 3): v}
        return v

    make = {"small": small, "nonascii": nonascii, "floats": floats, "strings": strings,
            "deep": deep}.get(shape)
    if not make:
        sys.exit("gen-shapes.py: unknown shape %s (small nonascii floats strings deep)" % shape)
    out.write("[")
    size, i = 1, 0
    while size < target:
        text = json.dumps(make(i), ensure_ascii=(i % 4 == 0), indent=None if i % 2 or shape == "deep" else 1)
        if i:
            out.write(",\n")
            size += 2
        out.write(text)
        size += len(text.encode())
        i += 1
    out.write("]\n")

main()
