//! Exact real-root tools for univariate polynomials with rational coefficients.
//!
//! Polynomials are coefficient slices in ascending powers, `f = c_0 + c_1 t + ... + c_d t^d`;
//! trailing zeros are allowed and the zero polynomial may be `[]` or `[0]`.
//!
//! Internally every polynomial is replaced by a primitive integer polynomial that is a
//! POSITIVE rational multiple of it (`to_int_poly`), so signs at every point are unchanged.
//!
//! Two independent non-negativity deciders are provided:
//! * [`sturm_nonnegative`]: Sturm chain of the square-free part + bisection;
//! * [`descartes_nonnegative`]: Yun factorisation, odd-multiplicity part, Descartes' rule of
//!   signs on Moebius transforms (Vincent–Collins–Akritas bisection).
//!
//! [`nonnegative_on`] runs both and reports an internal error if they disagree.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use std::cmp::Ordering;

/// Coefficients `c_0, ..., c_d` in ascending powers.
pub type Coeffs = Vec<BigRational>;

/// Integer polynomial, ascending powers, no trailing zeros (zero polynomial = empty).
type IPoly = Vec<BigInt>;

/// Hard limit on bisection depth (never reached for valid input; returns `Err`).
const MAX_DEPTH: usize = 4096;

// ---------------------------------------------------------------------------------------
// Basic integer-polynomial arithmetic (shared plumbing; contains no root counting).
// ---------------------------------------------------------------------------------------

fn trim(mut p: IPoly) -> IPoly {
    while p.last().is_some_and(|c| c.is_zero()) {
        p.pop();
    }
    p
}

/// gcd of two integers; one remainder step first so that Stein's algorithm (num-bigint's
/// gcd) only ever sees operands of similar size.
fn int_gcd(a: &BigInt, b: &BigInt) -> BigInt {
    let (mut a, mut b) = (a.abs(), b.abs());
    if a < b {
        std::mem::swap(&mut a, &mut b);
    }
    if b.is_zero() {
        return a;
    }
    let r = &a % &b;
    b.gcd(&r)
}

/// Divide by the positive gcd of the coefficients (sign-preserving).
fn primitive(p: IPoly) -> IPoly {
    let p = trim(p);
    // start from the smallest non-zero coefficient: the gcd can only shrink from there
    let Some(start) = p.iter().filter(|c| !c.is_zero()).min_by_key(|c| c.bits()) else {
        return p;
    };
    let mut g = start.abs();
    for c in &p {
        if g.is_one() {
            return p;
        }
        g = int_gcd(&g, c);
    }
    if g.is_one() {
        return p;
    }
    p.into_iter().map(|c| c / &g).collect()
}

fn neg(p: IPoly) -> IPoly {
    p.into_iter().map(|c| -c).collect()
}

/// Multiply by -1 if needed so that the leading coefficient is positive.
fn positive_lc(p: IPoly) -> IPoly {
    if p.last().is_some_and(|c| c.is_negative()) {
        neg(p)
    } else {
        p
    }
}

fn derivative(p: &IPoly) -> IPoly {
    trim(
        p.iter()
            .enumerate()
            .skip(1)
            .map(|(i, c)| c * BigInt::from(i))
            .collect(),
    )
}

fn mul(a: &IPoly, b: &IPoly) -> IPoly {
    if a.is_empty() || b.is_empty() {
        return vec![];
    }
    let mut r = vec![BigInt::zero(); a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        if x.is_zero() {
            continue;
        }
        for (j, y) in b.iter().enumerate() {
            r[i + j] += x * y;
        }
    }
    trim(r)
}

fn sub(a: &IPoly, b: &IPoly) -> IPoly {
    let n = a.len().max(b.len());
    let z = BigInt::zero();
    trim(
        (0..n)
            .map(|i| a.get(i).unwrap_or(&z) - b.get(i).unwrap_or(&z))
            .collect(),
    )
}

/// Pseudo-remainder: returns `(r, e)` with `lc(b)^e * a = q * b + r`, `deg r < deg b`.
/// `b` must be non-zero.
fn pseudo_rem(a: &IPoly, b: &IPoly) -> (IPoly, u32) {
    let db = b.len() - 1;
    let lb = &b[db];
    let mut r = a.clone();
    let mut e = 0u32;
    while !r.is_empty() && r.len() > db {
        let dr = r.len() - 1;
        let lr = r[dr].clone();
        let k = dr - db;
        for c in r.iter_mut() {
            *c *= lb;
        }
        for (j, bj) in b.iter().enumerate() {
            r[j + k] -= &lr * bj;
        }
        r = trim(r);
        e += 1;
    }
    (r, e)
}

/// Exact division `a / b` in `Z[t]`. Valid when `b` is primitive and divides `a` in `Q[t]`
/// (Gauss's lemma makes the quotient integral); any inexactness is reported as an error.
fn exact_div(a: &IPoly, b: &IPoly) -> Result<IPoly, String> {
    if b.is_empty() {
        return Err("internal error: division by the zero polynomial".into());
    }
    if a.is_empty() {
        return Ok(vec![]);
    }
    let db = b.len() - 1;
    if a.len() < b.len() {
        return Err("internal error: inexact polynomial division (degree)".into());
    }
    let mut r = a.clone();
    let mut q = vec![BigInt::zero(); a.len() - db];
    for k in (0..q.len()).rev() {
        let (qk, rem) = r[k + db].div_rem(&b[db]);
        if !rem.is_zero() {
            return Err("internal error: inexact polynomial division".into());
        }
        for (j, bj) in b.iter().enumerate() {
            r[j + k] -= &qk * bj;
        }
        q[k] = qk;
    }
    if r.iter().any(|c| !c.is_zero()) {
        return Err("internal error: polynomial division left a remainder".into());
    }
    Ok(trim(q))
}

/// Signed subresultant PRS of `a`, `b` (`deg a >= deg b`, both non-zero):
/// `S_0 = a, S_1 = b, S_{k+1} = -rem(S_{k-1}, S_k)` up to a POSITIVE factor, stopping at the
/// last non-zero member. Magnitudes follow the subresultant PRS (Knuth 4.6.1, Algorithm C):
/// `S_{k+1} = +-prem(S_{k-1}, S_k) / (g h^delta)` with `g = |lc S_{k-1}|`, `h` updated as
/// `h <- g^delta / h^(delta - 1)`; these divisions are exact (checked). Signs: the full
/// `prem = lc(S_k)^(delta+1) rem`, so `-rem ~ -sign(lc S_k)^(delta+1) prem`.
fn signed_prs(a: &IPoly, b: &IPoly) -> Result<Vec<IPoly>, String> {
    let mut seq = vec![a.clone(), b.clone()];
    let mut g = BigInt::one();
    let mut h = BigInt::one();
    loop {
        let n = seq.len();
        let (p, q) = (&seq[n - 2], &seq[n - 1]);
        if q.len() <= 1 {
            break; // a non-zero constant divides everything
        }
        let delta = (p.len() - q.len()) as u32;
        let (r, e) = pseudo_rem(p, q);
        if r.is_empty() {
            break;
        }
        let lq = q.last().expect("non-zero").clone();
        let lq_abs = lq.abs();
        // full prem = sign(lq)^extra * |lq|^extra * r
        let extra = delta + 1 - e;
        let scale = num_traits::pow::Pow::pow(&lq_abs, extra);
        let div = &g * num_traits::pow::Pow::pow(&h, delta);
        let mut out = Vec::with_capacity(r.len());
        for c in r {
            let (qt, rm) = (c * &scale).div_rem(&div);
            if !rm.is_zero() {
                return Err("internal error: inexact subresultant division".into());
            }
            out.push(qt);
        }
        // -rem ~ -sign(lq)^(delta + 1) * prem ~ -sign(lq)^(delta + 1 + extra) * out
        let keep = lq.is_negative() && (delta + 1 + extra) % 2 == 1;
        seq.push(if keep { out } else { neg(out) });
        g = lq_abs;
        if delta > 0 {
            let num = num_traits::pow::Pow::pow(&g, delta);
            let den = num_traits::pow::Pow::pow(&h, delta - 1);
            let (qt, rm) = num.div_rem(&den);
            if !rm.is_zero() {
                return Err("internal error: inexact subresultant h update".into());
            }
            h = qt;
        }
    }
    Ok(seq)
}

/// gcd in `Z[t]`; result primitive with positive leading coefficient.
fn gcd(a: &IPoly, b: &IPoly) -> Result<IPoly, String> {
    let mut a = primitive(a.clone());
    let mut b = primitive(b.clone());
    if a.len() < b.len() {
        std::mem::swap(&mut a, &mut b);
    }
    if b.is_empty() {
        return Ok(positive_lc(a));
    }
    let seq = signed_prs(&a, &b)?;
    Ok(positive_lc(primitive(
        seq.last().expect("non-empty").clone(),
    )))
}

/// Sound square-freeness test modulo primes: if `p` does not divide `lc f`, the primitive
/// `G = gcd(f, f')` has `lc G | lc f`, so `G mod p` keeps its degree and divides
/// `gcd(f mod p, f' mod p)`. Hence degree 0 modulo `p` proves `G = 1`. `false` = unknown.
fn surely_squarefree(f: &IPoly) -> bool {
    const PRIMES: [u64; 2] = [18_446_744_073_709_551_557, 2_305_843_009_213_693_951];
    PRIMES.iter().any(|&p| {
        let pb = BigInt::from(p);
        let red = |c: &BigInt| -> u64 {
            use num_traits::ToPrimitive;
            c.mod_floor(&pb).to_u64().expect("reduced")
        };
        let fp: Vec<u64> = f.iter().map(red).collect();
        if fp.last().is_none_or(|&c| c == 0) {
            return false;
        }
        let dp: Vec<u64> = f
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, c)| red(&(c * BigInt::from(i))))
            .collect();
        modp_gcd_degree(fp, dp, p) == Some(0)
    })
}

/// Degree of `gcd(a, b)` over `Z/p` (`None` if both are zero).
fn modp_gcd_degree(mut a: Vec<u64>, mut b: Vec<u64>, p: u64) -> Option<usize> {
    let mulm = |x: u64, y: u64| ((x as u128 * y as u128) % p as u128) as u64;
    let powm = |mut x: u64, mut k: u64| {
        let mut r = 1u64;
        while k > 0 {
            if k & 1 == 1 {
                r = mulm(r, x);
            }
            x = mulm(x, x);
            k >>= 1;
        }
        r
    };
    let tr = |v: &mut Vec<u64>| {
        while v.last() == Some(&0) {
            v.pop();
        }
    };
    tr(&mut a);
    tr(&mut b);
    while !b.is_empty() {
        // a <- a mod b
        let inv = powm(*b.last().expect("non-empty"), p - 2);
        while a.len() >= b.len() {
            let k = a.len() - b.len();
            let q = mulm(*a.last().expect("non-empty"), inv);
            for (j, bj) in b.iter().enumerate() {
                let t = mulm(q, *bj);
                a[j + k] = ((a[j + k] as u128 + p as u128 - t as u128) % p as u128) as u64;
            }
            tr(&mut a);
        }
        std::mem::swap(&mut a, &mut b);
    }
    a.len().checked_sub(1)
}

/// Reduced numerator/denominator with positive denominator; `Err` on a zero denominator.
fn num_den(x: &BigRational) -> Result<(BigInt, BigInt), String> {
    let (n, d) = (x.numer(), x.denom());
    if d.is_zero() {
        return Err("invalid rational: zero denominator".into());
    }
    let g = n.gcd(d);
    let (mut n, mut d) = (n / &g, d / &g);
    if d.is_negative() {
        n = -n;
        d = -d;
    }
    Ok((n, d))
}

fn norm(x: &BigRational) -> Result<BigRational, String> {
    let (n, d) = num_den(x)?;
    Ok(BigRational::new_raw(n, d))
}

/// A primitive integer polynomial equal to `lambda * f` with `lambda > 0` (signs preserved).
fn to_int_poly(f: &[BigRational]) -> Result<IPoly, String> {
    let mut nd = Vec::with_capacity(f.len());
    let mut l = BigInt::one();
    for c in f {
        let (n, d) = num_den(c)?;
        l = l.lcm(&d);
        nd.push((n, d));
    }
    Ok(primitive(
        nd.into_iter().map(|(n, d)| n * (&l / d)).collect(),
    ))
}

fn to_rat(p: &IPoly) -> Coeffs {
    p.iter()
        .map(|c| BigRational::from_integer(c.clone()))
        .collect()
}

/// Sign of `p(x)`: with `x = n/d`, `d > 0`, this is the sign of the homogenised Horner sum
/// `sum_i p_i n^i d^(deg-i)` (a positive multiple `d^deg` of `p(x)`).
fn sign_at(p: &IPoly, x: &BigRational) -> Ordering {
    let Some(top) = p.last() else {
        return Ordering::Equal;
    };
    let (n, d) = (x.numer(), x.denom()); // inputs are normalised (d > 0) by the callers
    let mut acc = top.clone();
    let mut dpow = BigInt::one();
    for c in p.iter().rev().skip(1) {
        dpow *= d;
        acc = acc * n + c * &dpow;
    }
    acc.sign().cmp_zero()
}

trait CmpZero {
    fn cmp_zero(self) -> Ordering;
}
impl CmpZero for num_bigint::Sign {
    fn cmp_zero(self) -> Ordering {
        match self {
            num_bigint::Sign::Minus => Ordering::Less,
            num_bigint::Sign::NoSign => Ordering::Equal,
            num_bigint::Sign::Plus => Ordering::Greater,
        }
    }
}

fn midpoint(a: &BigRational, b: &BigRational) -> BigRational {
    (a + b) / BigRational::from_integer(BigInt::from(2))
}

// ---------------------------------------------------------------------------------------
// Square-free part and Yun factorisation.
// ---------------------------------------------------------------------------------------

/// `f / gcd(f, f')` for a non-zero primitive `f`; primitive, positive leading coefficient.
fn squarefree_int(f: &IPoly) -> Result<IPoly, String> {
    if f.len() <= 1 {
        return Ok(vec![BigInt::one()]);
    }
    if surely_squarefree(f) {
        return Ok(positive_lc(f.clone()));
    }
    let g = gcd(f, &derivative(f))?;
    Ok(positive_lc(primitive(exact_div(f, &g)?)))
}

/// Yun: for primitive `f` with positive leading coefficient, returns `[g_1, g_2, ...]` with
/// `f = prod g_i^i`, every `g_i` primitive, square-free, positive leading coefficient.
fn yun_int(f: &IPoly) -> Result<Vec<IPoly>, String> {
    let mut out = Vec::new();
    if f.len() <= 1 {
        return Ok(out);
    }
    if surely_squarefree(f) {
        return Ok(vec![f.clone()]);
    }
    let fp = derivative(f);
    let a0 = gcd(f, &fp)?;
    let mut b = exact_div(f, &a0)?;
    let c = exact_div(&fp, &a0)?;
    let mut d = sub(&c, &derivative(&b));
    while b.len() > 1 {
        if out.len() > f.len() {
            return Err("internal error: Yun's algorithm did not terminate".into());
        }
        let a = gcd(&b, &d)?;
        b = exact_div(&b, &a)?;
        let c = exact_div(&d, &a)?;
        d = sub(&c, &derivative(&b));
        out.push(a);
    }
    // Check the factorisation exactly: prod g_i^i must equal f (both primitive, lc > 0).
    let mut prod: IPoly = vec![BigInt::one()];
    for (i, g) in out.iter().enumerate() {
        for _ in 0..=i {
            prod = mul(&prod, g);
        }
    }
    if prod != *f {
        return Err("internal error: Yun factorisation does not reproduce f".into());
    }
    Ok(out)
}

/// Square-free part `f / gcd(f, f')`, returned as a primitive integer polynomial (as
/// rationals) with POSITIVE leading coefficient; it has exactly the distinct (complex) roots
/// of `f`, each simple. Zero polynomial -> `[]`; non-zero constant -> `[1]`.
///
/// Panics only on an internal error (inexact exact division), which cannot happen.
pub fn squarefree_part(f: &[BigRational]) -> Vec<BigRational> {
    let fi = to_int_poly(f).expect("invalid rational coefficient");
    if fi.is_empty() {
        return vec![];
    }
    to_rat(&squarefree_int(&fi).expect("internal error in squarefree_part"))
}

/// Yun's square-free factorisation `f = c * prod_i g_i^i` (`g_i` square-free, pairwise
/// coprime); returns `[g_1, g_2, ...]` (index `i-1` holds `g_i`; some may be `[1]`), each a
/// primitive integer polynomial with positive leading coefficient, so
/// `sign(c) = sign(lc f)`. Zero or constant `f` -> empty vector.
///
/// Panics only on an internal error (which cannot happen).
pub fn yun(f: &[BigRational]) -> Vec<Vec<BigRational>> {
    let fi = positive_lc(to_int_poly(f).expect("invalid rational coefficient"));
    yun_int(&fi)
        .expect("internal error in yun")
        .iter()
        .map(to_rat)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Sturm chains.
// ---------------------------------------------------------------------------------------

/// Sturm chain `p_0 = g, p_1 = g', p_{k+1} = -rem(p_{k-1}, p_k)`, every member a POSITIVE
/// multiple of the Euclidean one (sign counts unchanged), via [`signed_prs`].
fn sturm_chain(g: &IPoly) -> Result<Vec<IPoly>, String> {
    if g.len() <= 1 {
        return Ok(vec![g.clone()]);
    }
    signed_prs(g, &primitive(derivative(g)))
}

/// `(V(x), g(x) == 0)`: sign variations of the chain at `x` (zeros skipped).
fn variations(chain: &[IPoly], x: &BigRational) -> (usize, bool) {
    let mut v = 0;
    let mut last = Ordering::Equal;
    let mut g_zero = false;
    for (i, p) in chain.iter().enumerate() {
        let s = sign_at(p, x);
        if i == 0 {
            g_zero = s == Ordering::Equal;
        }
        if s == Ordering::Equal {
            continue;
        }
        if last != Ordering::Equal && s != last {
            v += 1;
        }
        last = s;
    }
    (v, g_zero)
}

/// Sturm's theorem (g square-free, lo < hi): #roots in (lo, hi] = V(lo) - V(hi).
fn sturm_diff(v_lo: usize, v_hi: usize) -> Result<usize, String> {
    v_lo.checked_sub(v_hi)
        .ok_or_else(|| "internal error: negative Sturm variation difference".to_string())
}

/// Number of distinct real roots of `f` in the CLOSED interval `[a, b]`, by the Sturm chain
/// of the square-free part `g` (g square-free, so no chain member pair vanishes together):
/// `#[a,b] = V(a) - V(b) + [g(a) = 0]`. Zero polynomial or `a > b`: `Err`.
pub fn count_distinct_roots(
    f: &[BigRational],
    a: &BigRational,
    b: &BigRational,
) -> Result<usize, String> {
    let (a, b) = (norm(a)?, norm(b)?);
    let fi = to_int_poly(f)?;
    if fi.is_empty() {
        return Err("count_distinct_roots: zero polynomial".into());
    }
    if a > b {
        return Err("count_distinct_roots: a > b".into());
    }
    let chain = sturm_chain(&squarefree_int(&fi)?)?;
    let (va, ga) = variations(&chain, &a);
    if a == b {
        return Ok(usize::from(ga));
    }
    let (vb, _) = variations(&chain, &b);
    Ok(sturm_diff(va, vb)? + usize::from(ga))
}

struct SturmNode {
    lo: BigRational,
    hi: BigRational,
    v_lo: usize,
    v_hi: usize,
    f_lo: Ordering,
    f_hi: Ordering,
    depth: usize,
}

/// Whether `f >= 0` on `[a, b]`, by Sturm counting on the square-free part `g` plus bisection.
///
/// For `[lo, hi]` with known signs `f(lo), f(hi) >= 0` let `n` = #roots of `g` in the open
/// `(lo, hi)` `= V(lo) - V(hi) - [g(hi) = 0]`.
/// * `n = 0`: `f` has constant sign on `(lo, hi)`; it is the sign of `f(mid)` (must be `> 0`).
/// * `n = 1`, `f(lo) != 0 != f(hi)`: `f` is positive near both ends iff `f(lo), f(hi) > 0`,
///   and its only zero in between cannot make it negative on either side of it.
/// * otherwise bisect at `mid` (`f(mid) < 0` -> false; a root at `mid` is then an end).
///
/// Termination: `g` has finitely many distinct real roots; let `delta > 0` be the least
/// distance between two of them (or `b - a` if there are fewer than two). An interval is only
/// split if it contains two distinct roots of `g` in `[lo, hi]` (n >= 2, or n = 1 plus a root
/// at an end), which needs `hi - lo >= delta`. Widths halve, so the depth is at most
/// `log2((b - a) / delta) + 1`. The hard limit `MAX_DEPTH` returns `Err` (never expected).
pub fn sturm_nonnegative(
    f: &[BigRational],
    a: &BigRational,
    b: &BigRational,
) -> Result<bool, String> {
    let (a, b) = (norm(a)?, norm(b)?);
    let fi = to_int_poly(f)?;
    if a > b {
        return Err("sturm_nonnegative: a > b".into());
    }
    if fi.is_empty() {
        return Ok(true);
    }
    let fa = sign_at(&fi, &a);
    if a == b {
        return Ok(fa != Ordering::Less);
    }
    let fb = sign_at(&fi, &b);
    if fa == Ordering::Less || fb == Ordering::Less {
        return Ok(false);
    }
    let chain = sturm_chain(&squarefree_int(&fi)?)?;
    let eval = |x: &BigRational| -> Result<(usize, Ordering), String> {
        let (v, gz) = variations(&chain, x);
        let s = sign_at(&fi, x);
        if gz != (s == Ordering::Equal) {
            return Err("internal error: f and its square-free part disagree on a root".into());
        }
        Ok((v, s))
    };
    let (va, _) = eval(&a)?;
    let (vb, _) = eval(&b)?;
    let mut stack = vec![SturmNode {
        lo: a,
        hi: b,
        v_lo: va,
        v_hi: vb,
        f_lo: fa,
        f_hi: fb,
        depth: 0,
    }];
    while let Some(n) = stack.pop() {
        if n.depth > MAX_DEPTH {
            return Err("sturm_nonnegative: bisection depth limit exceeded".into());
        }
        let half_open = sturm_diff(n.v_lo, n.v_hi)?; // roots in (lo, hi]
        let interior = half_open
            .checked_sub(usize::from(n.f_hi == Ordering::Equal))
            .ok_or("internal error: root at hi not counted by Sturm chain")?;
        let mid = midpoint(&n.lo, &n.hi);
        if interior == 0 {
            match sign_at(&fi, &mid) {
                Ordering::Greater => continue,
                Ordering::Less => return Ok(false),
                Ordering::Equal => {
                    return Err("internal error: root at midpoint of a root-free interval".into());
                }
            }
        }
        if interior == 1 && n.f_lo != Ordering::Equal && n.f_hi != Ordering::Equal {
            if n.f_lo == Ordering::Greater && n.f_hi == Ordering::Greater {
                continue;
            }
            return Ok(false);
        }
        let (vm, fm) = eval(&mid)?;
        if fm == Ordering::Less {
            return Ok(false);
        }
        stack.push(SturmNode {
            lo: mid.clone(),
            hi: n.hi,
            v_lo: vm,
            v_hi: n.v_hi,
            f_lo: fm,
            f_hi: n.f_hi,
            depth: n.depth + 1,
        });
        stack.push(SturmNode {
            lo: n.lo,
            hi: mid,
            v_lo: n.v_lo,
            v_hi: vm,
            f_lo: n.f_lo,
            f_hi: fm,
            depth: n.depth + 1,
        });
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// Descartes / Vincent–Collins–Akritas (independent of the Sturm code).
// ---------------------------------------------------------------------------------------

/// `Q(y) = (ad wd)^d h(a + w y)` for `a = an/ad`, `w = b - a = wn/wd`: roots of `h` in
/// `(a, b)` <-> roots of `Q` in `(0, 1)`. Horner: `Q = sum_i h_i L^i M^(d-i)`,
/// `L = an wd + ad wn y`, `M = ad wd > 0`.
fn to_unit_interval(h: &IPoly, a: &BigRational, b: &BigRational) -> Result<IPoly, String> {
    let (an, ad) = num_den(a)?;
    let (wn, wd) = num_den(&(b - a))?;
    let l: IPoly = vec![&an * &wd, &ad * &wn];
    let m = &ad * &wd;
    let mut acc: IPoly = vec![h.last().expect("non-zero").clone()];
    let mut mpow = BigInt::one();
    for c in h.iter().rev().skip(1) {
        mpow *= &m;
        let mut next = mul(&acc, &l);
        next[0] += c * &mpow;
        acc = trim(next);
    }
    Ok(primitive(acc))
}

/// `p(y) -> p(y + 1)` (repeated synthetic division, additions only).
fn taylor_shift_1(p: &mut IPoly) {
    let n = p.len();
    for i in 0..n.saturating_sub(1) {
        for j in (i..n - 1).rev() {
            let (lo, hi) = p.split_at_mut(j + 1);
            lo[j] += &hi[0];
        }
    }
}

/// Remove the common power of two (a positive factor).
fn strip_twos(p: &mut IPoly) {
    let k = p
        .iter()
        .filter_map(|c| c.trailing_zeros())
        .min()
        .unwrap_or(0);
    if k > 0 {
        for c in p.iter_mut() {
            *c >>= k;
        }
    }
}

/// Descartes bound for roots of `Q` in `(0, 1)`: sign variations of
/// `(1 + x)^d Q(1 / (1 + x))` (reverse, then shift by 1).
fn unit_variations(q: &IPoly) -> usize {
    let mut t: IPoly = q.iter().rev().cloned().collect();
    taylor_shift_1(&mut t);
    coeff_variations(&t)
}

/// Sign variations in a coefficient sequence (zeros skipped).
fn coeff_variations(p: &IPoly) -> usize {
    let mut v = 0;
    let mut last: Option<bool> = None;
    for c in p.iter().filter(|c| !c.is_zero()) {
        let s = c.is_positive();
        if last.is_some_and(|l| l != s) {
            v += 1;
        }
        last = Some(s);
    }
    v
}

/// Whether `f >= 0` on `[a, b]`, by a method independent of the Sturm code.
///
/// Yun: `f = c prod g_i^i`. With `h = c prod_{i odd} g_i` we have `f = h s^2` for a polynomial
/// `s` with finitely many zeros, so `f >= 0` on `[a, b]` iff `h >= 0` there (`a < b`). `h` is
/// square-free. If `h(a) = 0`, `h = (t - a) h'` with `t - a > 0` on `(a, b]`; if `h(b) = 0`,
/// `h = (t - b) h'` with `t - b < 0` on `[a, b)`, so use `-h'`. The resulting `h*` is
/// square-free, non-zero at `a` and `b`, and `f >= 0` on `[a,b]` iff `h* >= 0` on `(a, b)`.
/// Every root of `h*` in `(a, b)` is simple, i.e. a sign change, so the answer is false iff
/// `h*` has a root in `(a, b)`, and otherwise `h*` has constant sign, that of `h*(mid)`.
/// Roots in `(lo, hi)` are the positive roots of the Moebius transform `P`; Descartes:
/// `var(P) = 0` -> none, `var(P) = 1` -> exactly one (simple) -> false; else bisect (a root
/// exactly at the midpoint is a simple interior root -> false). Vincent's theorem (two-circle
/// theorem) gives termination for square-free `h*`; depth limit `MAX_DEPTH` returns `Err`.
pub fn descartes_nonnegative(
    f: &[BigRational],
    a: &BigRational,
    b: &BigRational,
) -> Result<bool, String> {
    let (a, b) = (norm(a)?, norm(b)?);
    let fi = to_int_poly(f)?;
    if a > b {
        return Err("descartes_nonnegative: a > b".into());
    }
    if fi.is_empty() {
        return Ok(true);
    }
    if a == b {
        return Ok(sign_at(&fi, &a) != Ordering::Less);
    }
    let c_negative = fi.last().is_some_and(|c| c.is_negative());
    let gs = yun_int(&positive_lc(fi))?;
    let mut h: IPoly = vec![BigInt::from(if c_negative { -1 } else { 1 })];
    for g in gs.iter().step_by(2) {
        // index 0, 2, 4, ... holds g_1, g_3, g_5, ... (odd multiplicity)
        h = mul(&h, g);
    }
    let (an, ad) = num_den(&a)?;
    let (bn, bd) = num_den(&b)?;
    if sign_at(&h, &a) == Ordering::Equal {
        h = exact_div(&h, &vec![-an, ad])?; // (ad t - an) = ad (t - a), ad > 0
    }
    if sign_at(&h, &b) == Ordering::Equal {
        h = neg(exact_div(&h, &vec![-bn, bd])?);
    }
    if sign_at(&h, &a) == Ordering::Equal || sign_at(&h, &b) == Ordering::Equal {
        return Err("internal error: odd part of f is not square-free".into());
    }
    if h.len() <= 1 {
        return Ok(h[0].is_positive());
    }
    // Each node is Q on (0, 1) for a sub-interval; halves: Q_L(y) = 2^d Q(y/2),
    // Q_R(y) = Q_L(y + 1); Q_R(0) = 0 iff the midpoint is a root of h*.
    let d = h.len() - 1;
    let mut stack = vec![(to_unit_interval(&h, &a, &b)?, 0usize)];
    while let Some((q, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err("descartes_nonnegative: bisection depth limit exceeded".into());
        }
        match unit_variations(&q) {
            0 => continue,
            1 => return Ok(false),
            _ => {
                let mut left: IPoly = q
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| c << (d - i))
                    .collect();
                let mut right = left.clone();
                taylor_shift_1(&mut right);
                if right[0].is_zero() {
                    return Ok(false); // simple root of h* at the midpoint
                }
                strip_twos(&mut left);
                strip_twos(&mut right);
                stack.push((right, depth + 1));
                stack.push((left, depth + 1));
            }
        }
    }
    match sign_at(&h, &midpoint(&a, &b)) {
        Ordering::Greater => Ok(true),
        Ordering::Less => Ok(false),
        Ordering::Equal => Err("internal error: root in a root-free interval".into()),
    }
}

/// Whether `f >= 0` on `[a, b]`: runs [`sturm_nonnegative`] and [`descartes_nonnegative`] and
/// returns their common answer, or `Err` if either fails or they disagree. The zero
/// polynomial is non-negative; `a > b` is an error.
pub fn nonnegative_on(f: &[BigRational], a: &BigRational, b: &BigRational) -> Result<bool, String> {
    let s = sturm_nonnegative(f, a, b)?;
    let d = descartes_nonnegative(f, a, b)?;
    if s != d {
        return Err(format!(
            "internal error: the two nonnegativity checks disagree (sturm: {s}, descartes: {d})"
        ));
    }
    Ok(s)
}

/// Smallest root `r` of `f` in the half-open `(a, b]`, as `Some((lo, hi))` with
/// `lo < r <= hi`, `hi - lo <= width`, `f(lo) != 0`, and no root of `f` in `(a, lo]`.
/// If a bisection point is found to be exactly the smallest root it is returned as `hi`.
/// `None` if there is no root in `(a, b]`, `f` is zero, or `a == b`.
/// `Err` if `width <= 0` or `a > b`.
///
/// Invariant: no root in `(a, lo]`, at least one root in `(lo, hi]` (Sturm: V(lo) - V(hi)).
pub fn smallest_root(
    f: &[BigRational],
    a: &BigRational,
    b: &BigRational,
    width: &BigRational,
) -> Result<Option<(BigRational, BigRational)>, String> {
    let (a, b, width) = (norm(a)?, norm(b)?, norm(width)?);
    if !width.is_positive() {
        return Err("smallest_root: width must be positive".into());
    }
    if a > b {
        return Err("smallest_root: a > b".into());
    }
    let fi = to_int_poly(f)?;
    if fi.is_empty() || a == b {
        return Ok(None);
    }
    let chain = sturm_chain(&squarefree_int(&fi)?)?;
    let (mut v_lo, mut lo_is_root) = variations(&chain, &a);
    let (vb, _) = variations(&chain, &b);
    if sturm_diff(v_lo, vb)? == 0 {
        return Ok(None);
    }
    let (mut lo, mut hi) = (a, b);
    // Each step halves hi - lo; lo leaves a (if a is a root) once hi < smallest root.
    for _ in 0..1_000_000 {
        if &hi - &lo <= width && !lo_is_root {
            return Ok(Some((lo, hi)));
        }
        let mid = midpoint(&lo, &hi);
        let (vm, mid_root) = variations(&chain, &mid);
        let left = sturm_diff(v_lo, vm)?; // roots in (lo, mid]
        if left == 0 {
            lo = mid;
            v_lo = vm;
            lo_is_root = false;
        } else if left == 1 && mid_root {
            // mid is exactly the smallest root; (lo, mid) is root-free.
            let cand = &mid - &width;
            let new_lo = if cand > lo {
                cand
            } else if lo_is_root {
                midpoint(&lo, &mid)
            } else {
                lo
            };
            return Ok(Some((new_lo, mid)));
        } else {
            hi = mid;
        }
    }
    Err("smallest_root: iteration limit exceeded".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: i64, d: i64) -> BigRational {
        BigRational::new(BigInt::from(n), BigInt::from(d))
    }
    fn p(cs: &[i64]) -> Coeffs {
        cs.iter().map(|&c| r(c, 1)).collect()
    }
    fn pmul(a: &[BigRational], b: &[BigRational]) -> Coeffs {
        let mut out = vec![r(0, 1); a.len() + b.len() - 1];
        for (i, x) in a.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                out[i + j] += x * y;
            }
        }
        out
    }

    #[test]
    fn yun_recovers_factors() {
        // (t-1)^3 (t+2) (t^2+1)^2, times -3/2
        let mut f = p(&[-3]);
        f = pmul(&f, &[r(1, 2)]);
        for _ in 0..3 {
            f = pmul(&f, &p(&[-1, 1]));
        }
        f = pmul(&f, &p(&[2, 1]));
        for _ in 0..2 {
            f = pmul(&f, &p(&[1, 0, 1]));
        }
        let gs = yun(&f);
        assert_eq!(gs, vec![p(&[2, 1]), p(&[1, 0, 1]), p(&[-1, 1])]);
        // (t-1)(t+2)(t^2+1) = t^4 + t^3 - t^2 + t - 2
        assert_eq!(squarefree_part(&f), p(&[-2, 1, -1, 1, 1]));
    }

    #[test]
    fn modular_squarefree_check() {
        // (t - 1)^2 (t + 3) with negative coefficients: must not be declared square-free
        let f: IPoly = [3i64, -5, 1, 1].iter().map(|&c| BigInt::from(c)).collect();
        assert!(!surely_squarefree(&f));
        let g: IPoly = [-3i64, 2, 1].iter().map(|&c| BigInt::from(c)).collect();
        assert!(surely_squarefree(&g));
        let p = 18_446_744_073_709_551_557u64;
        // (t - (p-1))^2 mod p has a double root
        let a = vec![1u64, 2, 1];
        let b = vec![2u64, 2];
        assert_eq!(modp_gcd_degree(a, b, p), Some(1));
    }

    #[test]
    fn edge_cases() {
        assert_eq!(squarefree_part(&[]), Vec::<BigRational>::new());
        assert_eq!(squarefree_part(&p(&[-5, 0])), p(&[1]));
        assert!(yun(&p(&[0])).is_empty());
        assert!(count_distinct_roots(&p(&[0, 0]), &r(0, 1), &r(1, 1)).is_err());
        assert!(nonnegative_on(&p(&[1]), &r(1, 1), &r(0, 1)).is_err());
        assert_eq!(nonnegative_on(&[], &r(0, 1), &r(1, 1)), Ok(true));
        assert_eq!(nonnegative_on(&p(&[-1]), &r(0, 1), &r(1, 1)), Ok(false));
        assert_eq!(nonnegative_on(&p(&[0, 1]), &r(0, 1), &r(0, 1)), Ok(true));
        assert_eq!(nonnegative_on(&p(&[0, 1]), &r(-1, 2), &r(-1, 2)), Ok(false));
    }

    #[test]
    fn sturm_chain_counts() {
        // t^3 - t: roots -1, 0, 1
        let f = p(&[0, -1, 0, 1]);
        assert_eq!(count_distinct_roots(&f, &r(-1, 1), &r(1, 1)), Ok(3));
        assert_eq!(count_distinct_roots(&f, &r(-1, 2), &r(1, 2)), Ok(1));
        assert_eq!(count_distinct_roots(&f, &r(0, 1), &r(0, 1)), Ok(1));
        assert_eq!(count_distinct_roots(&f, &r(1, 3), &r(1, 2)), Ok(0));
        // t^2 (t-1)^3 on [0,1]: two distinct roots, both at ends
        let mut g = p(&[0, 0, 1]);
        for _ in 0..3 {
            g = pmul(&g, &p(&[-1, 1]));
        }
        assert_eq!(count_distinct_roots(&g, &r(0, 1), &r(1, 1)), Ok(2));
    }

    #[test]
    fn smallest_root_basic() {
        // (t - 1/2)^2 (t - 3/4) on (0, 1]; 1/2 is hit exactly by bisection
        let f = pmul(&pmul(&p(&[-1, 2]), &p(&[-1, 2])), &p(&[-3, 4]));
        let w = r(1, 1000);
        let (lo, hi) = smallest_root(&f, &r(0, 1), &r(1, 1), &w).unwrap().unwrap();
        assert!(lo < r(1, 2) && r(1, 2) <= hi && &hi - &lo <= w);
        // root at a excluded: t (t - 1/3) on (0, 1]
        let g = pmul(&p(&[0, 1]), &p(&[-1, 3]));
        let (lo, hi) = smallest_root(&g, &r(0, 1), &r(1, 1), &w).unwrap().unwrap();
        assert!(lo < r(1, 3) && r(1, 3) <= hi && &hi - &lo <= w && lo > r(0, 1));
        assert_eq!(
            smallest_root(&p(&[1, 0, 1]), &r(0, 1), &r(1, 1), &w),
            Ok(None)
        );
    }
}
