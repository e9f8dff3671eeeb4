"""Independent values of the projection bound (tests/projection.rs), with mpmath at 40 digits:
the true pi and Gamma function, no rounding, no code shared with the crate.

    L >= sum_k C(j,k) s^k (1-s)^(j-k) max(e k mean(I), [k > m] c_{k-m} C(k,m)^(-1/(k-m)) HM(I)),
    c_q = q/(q+2) omega_q^(-2/q),  omega_q = pi^(q/2) / Gamma(q/2 + 1).

Run: python3 tests/independent/projection_bound.py
"""
from fractions import Fraction as F
from mpmath import mp, mpf, pi, gamma, binomial

mp.dps = 40


def c(q):
    omega = pi ** (mpf(q) / 2) / gamma(mpf(q) / 2 + 1)
    return mpf(q) / (q + 2) * omega ** (-mpf(2) / q)


def bound(m, weights, s, e=None):
    j = len(weights)
    w = [mpf(x.numerator) / x.denominator for x in weights]
    s = mpf(s.numerator) / s.denominator
    mean = sum(w) / j
    hm = j / sum(1 / x for x in w)
    total = mpf(0)
    for k in range(1, j + 1):
        cand = mpf(0)
        if e is not None:
            cand = mpf(e.numerator) / e.denominator * k * mean
        if k > m:
            cand = max(cand, c(k - m) * binomial(k, m) ** (-mpf(1) / (k - m)) * hm)
        total += binomial(j, k) * s**k * (1 - s) ** (j - k) * cand
    return total


ones = lambda n: [F(1)] * n
geo = [F(7, 10) ** i for i in range(5)]
e2 = F(15272409, 10**10)
cases = [
    ("20,5,1", 5, ones(20), F(1), None),
    ("20,5,1/2", 5, ones(20), F(1, 2), None),
    ("20,5,3/10", 5, ones(20), F(3, 10), None),
    ("5,2,1", 2, ones(5), F(1), None),
    ("100,10,1/2", 10, ones(100), F(1, 2), None),
    ("6,2,9/10", 2, ones(6), F(9, 10), None),
    ("12,4,1/3", 4, ones(12), F(1, 3), None),
    ("geo5,2,1", 2, geo, F(1), None),
    ("geo5,2,1/2", 2, geo, F(1, 2), None),
    ("5,2,1/2,e", 2, ones(5), F(1, 2), e2),
    ("20,5,1/10,e", 5, ones(20), F(1, 10), e2),
]
for name, m, w, s, e in cases:
    print(f'("{name}", {repr(float(bound(m, w, s, e)))}),')
