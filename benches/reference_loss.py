#!/usr/bin/env python3
"""Reference: the exact loss of the power activation in Python `fractions`, for comparing
superbound's `loss` with an independent implementation, as whole processes.

    python3 benches/reference_loss.py W.json P DENSITY      (values uniform on [0, 1])

prints the exact loss (the `loss` field of `superbound loss --act power --p P --density DENSITY
--json --weights W.json`). THEORY's formula, output by output: with z_i = g x_i + R_i,
g = G_ii and R_i = sum_{j != i} G_ij x_j + b_i independent of x_i,

    E(x_i - z_i^p)^2 = E x_i^2 - 2 sum_r C(p,r) g^r E[x_i^{r+1}] E[R_i^{p-r}]
                       + sum_r C(2p,r) g^r E[x_i^r] E[R_i^{2p-r}],

with the moments of R_i by convolution, E[(Y1+Y2)^k] = sum_r C(k,r) E[Y1^r] E[Y2^{k-r}], and
E[x^r] = s mu_r (r >= 1), mu_r = 1/(r+1).
"""
import json
import sys
from fractions import Fraction
from math import comb


def main():
    path, p, s = sys.argv[1], int(sys.argv[2]), Fraction(sys.argv[3])
    with open(path) as f:
        doc = json.load(f, parse_float=Fraction, parse_int=Fraction)
    exact = lambda v: Fraction(v) if isinstance(v, str) else v
    w = [[exact(v) for v in row] for row in doc["W"]]
    m, n = len(w), len(w[0])
    bias = [exact(v) for v in doc.get("b", [0] * n)]
    imp = [exact(v) for v in doc.get("importance", [1] * n)]
    k2 = 2 * p
    x_mom = [Fraction(1)] + [s / (r + 1) for r in range(1, k2 + 1)]
    gram = [[sum(w[k][i] * w[k][j] for k in range(m)) for j in range(n)] for i in range(n)]
    total = Fraction(0)
    for i in range(n):
        mom = [Fraction(1)] + [Fraction(0)] * k2
        terms = [[gram[i][j] ** r * x_mom[r] for r in range(k2 + 1)] for j in range(n) if j != i]
        terms.append([Fraction(bias[i]) ** r for r in range(k2 + 1)])
        for y in terms:
            mom = [sum(comb(k, r) * y[r] * mom[k - r] for r in range(k + 1)) for k in range(k2 + 1)]
        g = gram[i][i]
        cross = sum(comb(p, r) * g**r * x_mom[r + 1] * mom[p - r] for r in range(p + 1))
        square = sum(comb(k2, r) * g**r * x_mom[r] * mom[k2 - r] for r in range(k2 + 1))
        total += imp[i] * (x_mom[2] - 2 * cross + square)
    print(total)


if __name__ == "__main__":
    main()
