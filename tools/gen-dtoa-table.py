#!/usr/bin/env python3
"""Generate lib/dtoa-table.h, the 128-bit powers of ten used by lib/dtoa.c.

    python3 tools/gen-dtoa-table.py > lib/dtoa-table.h

lib/dtoa.c implements Schubfach (R. Giulietti, "The Schubfach way to render
doubles", 2020).  For a decimal exponent k it needs g(k) = floor(beta) + 1,
where 10^-k = beta * 2^r and 2^125 <= beta < 2^126.  Everything here is
exact integer arithmetic (Python big integers).

Besides the table, this script checks, exactly, the facts the C code relies
on, and refuses to write anything if one fails:

  1. the fixed-point formulas for floor(log10(2^q)), floor(log10(3/4 2^q))
     and floor(log2(10^e)) over every exponent a double can have;
  2. the scaled significand cp = cb << h (cb < 2^55, h <= 5) is below
     2^60, so the error g*cp - beta*cp, which is below cp, lies in the low
     60 bits of the product that dtoa.c discards;
  3. for every binary exponent q and the decimal exponent k chosen for it,
     the exact value cb * 2^q * 10^-k (cb any integer in [1, 2^55]) is
     either an integer or at least 2^-67 away from every integer.  Then
     dropping the low 60 bits of g*cp and rounding the remaining bits
     below 2^127 to odd (sticky bit) gives exactly round-to-odd of the
     exact value: an exact integer stays exact, anything else keeps its
     integer part and gets a non-zero sticky bit.  The minimum distance
     over cb is found with continued fractions (best approximations of the
     second kind), cross-checked against brute force on small cases.
"""

import math
import random
import sys
from fractions import Fraction

K_MIN, K_MAX = -324, 292          # decimal exponents needed for doubles
Q_MIN, Q_MAX = -1074, 971         # binary exponents of c * 2^q, c < 2^53
C_MIN = 1 << 52
CB_MAX = 1 << 55                  # cb = 4c + 2 < 2^55


def floor_log2_pow10(e):
    """Exact floor(log2(10^e))."""
    if e >= 0:
        return (10 ** e).bit_length() - 1
    d = 10 ** -e                  # log2(1/d): -ceil(log2 d)
    return -((d - 1).bit_length())


def floor_log10_frac(x):
    """Exact floor(log10(x)) of a positive Fraction."""
    k = 0
    if x >= 1:
        while x >= 10 ** (k + 1):
            k += 1
    else:
        while x < Fraction(1, 10 ** -k) if k < 0 else x < 10 ** k:
            k -= 1
    return k


def flog10pow2(q):
    return (q * 661971961083) >> 41


def flog10three_quarters_pow2(q):
    return (q * 661971961083 - 274743187321) >> 41


def flog2pow10(e):
    return (e * 913124641741) >> 38


def pow2(q):
    return Fraction(2) ** q


def check_formulas():
    for q in range(Q_MIN - 10, Q_MAX + 10):
        assert flog10pow2(q) == floor_log10_frac(pow2(q)), q
        assert flog10three_quarters_pow2(q) == \
            floor_log10_frac(Fraction(3, 4) * pow2(q)), q
    for e in range(-K_MAX - 10, -K_MIN + 10):
        assert flog2pow10(e) == floor_log2_pow10(e), e


def g_of(k):
    r = flog2pow10(-k) - 125     # 10^-k = beta * 2^r
    if k <= 0:
        num, den = 10 ** -k, 1
    else:
        num, den = 1, 10 ** k
    if r <= 0:
        num <<= -r
    else:
        den <<= r
    beta_floor = num // den
    assert (1 << 125) <= beta_floor < (1 << 126), k
    return beta_floor + 1


def min_dist(alpha, hmax):
    """min over 1 <= n <= hmax, n*alpha not an integer, of the distance of
    n*alpha to the nearest integer; alpha a positive Fraction.  None if
    every n*alpha is an integer."""
    m = alpha.denominator
    if m == 1:
        return None
    if m <= hmax:
        return Fraction(1, m)     # some n*alpha are integers, others >= 1/m
    # m > hmax, so no n*alpha is an integer.  The minimum is reached at a
    # continued-fraction convergent denominator (Lagrange); we also look at
    # the largest semiconvergent of each step, which is a valid n too.
    best = None
    p0, q0, p1, q1 = 0, 1, 1, 0
    x = alpha
    while True:
        ai = x.numerator // x.denominator
        tmax = ai if q1 == 0 else min(ai, (hmax - q0) // q1)
        if tmax >= 0:
            qq, pp = tmax * q1 + q0, tmax * p1 + p0
            if 1 <= qq <= hmax:
                d = abs(qq * alpha - pp)
                best = d if best is None or d < best else best
        p0, q0, p1, q1 = p1, q1, ai * p1 + p0, ai * q1 + q0
        if q1 > hmax or x == ai:
            break
        x = 1 / (x - ai)
    f = alpha - alpha.numerator // alpha.denominator
    d = min(f, 1 - f)              # n = 1
    return d if best is None or d < best else best


def brute_min_dist(alpha, hmax):
    best = None
    for n in range(1, hmax + 1):
        x = n * alpha
        f = x - (x.numerator // x.denominator)
        if f == 0:
            continue
        d = min(f, 1 - f)
        best = d if best is None or d < best else best
    return best


def self_test_min_dist():
    rnd = random.Random(12345)
    for _ in range(3000):
        m = rnd.randint(2, 5000)
        a = rnd.randint(1, 3 * m)
        h = rnd.randint(1, 400)
        alpha = Fraction(a, m)
        want = brute_min_dist(alpha, h)
        got = min_dist(alpha, h)
        if want is None:
            assert got is None or got > 0, (a, m, h)
        else:
            assert got is not None and got <= want, (a, m, h, got, want)
            if alpha.denominator > h:
                assert got == want, (a, m, h, got, want)


def check_rounding():
    limit = Fraction(1, 1 << 67)
    worst = None
    for q in range(Q_MIN, Q_MAX + 1):
        ks = {flog10pow2(q)}
        if q != Q_MIN:
            ks.add(flog10three_quarters_pow2(q))
        for k in ks:
            assert K_MIN <= k <= K_MAX, (q, k)
            h = q + flog2pow10(-k) + 2
            assert 0 <= h and (CB_MAX << h) <= (1 << 60), (q, k, h)
            alpha = pow2(q) / (Fraction(10) ** k)
            d = min_dist(alpha, CB_MAX)
            if d is None:
                continue
            assert d >= limit, (q, k, float(d))
            worst = d if worst is None or d < worst else worst
    return worst


def main():
    if not __debug__:
        sys.exit("gen-dtoa-table.py: run without -O: the checks are asserts")
    check_formulas()
    self_test_min_dist()
    worst = check_rounding()
    out = sys.stdout
    out.write("/* dtoa-table.h — generated by tools/gen-dtoa-table.py; do not edit.\n")
    out.write(" * Regenerate: python3 tools/gen-dtoa-table.py > lib/dtoa-table.h\n")
    out.write(" * g(k) = floor(10^-k / 2^r) + 1 with 2^125 <= 10^-k / 2^r < 2^126,\n")
    out.write(" * for k = %d .. %d, as {high 64 bits, low 64 bits}.\n" % (K_MIN, K_MAX))
    out.write(" * The generator verified the rounding bound: smallest non-zero\n")
    out.write(" * distance of cb 2^q 10^-k to an integer is 2^%.2f (need >= 2^-67). */\n"
              % math.log2(worst))
    out.write("#ifndef MVM_DTOA_TABLE_H\n#define MVM_DTOA_TABLE_H\n\n")
    out.write("#include <stdint.h>\n\n")
    out.write("#define DTOA_K_MIN (%d)\n#define DTOA_K_MAX %d\n\n" % (K_MIN, K_MAX))
    out.write("static const uint64_t dtoa_g[%d][2] = {\n" % (K_MAX - K_MIN + 1))
    for k in range(K_MIN, K_MAX + 1):
        g = g_of(k)
        out.write("\t{ 0x%016xu, 0x%016xu }, /* %d */\n"
                  % (g >> 64, g & ((1 << 64) - 1), k))
    out.write("};\n\n#endif\n")


if __name__ == "__main__":
    main()
