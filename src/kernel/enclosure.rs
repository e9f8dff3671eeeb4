//! An exact rational enclosure `lo <= L(W, b; s) <= hi` of the loss for any `n` (THEORY.md,
//! "Enclosing the rectified loss for any n"; proof in `proofs/enclosure.md`).
//!
//! Per connected component `C` of `G` (see [`components`]), with `P_k = s^k (1-s)^{|C|-k}`:
//! `lo_C = sum_{k <= K} P_k T_k` with `T_k = sum_{|S| = k} l(S)` exact, and
//! `hi_C = lo_C + sum_i I_i E[h_i(x) 1{|S| > K}]` with `h_i >= (x_i - sigma(z_i))^2` a polynomial:
//! `x_i^2 + z_i^{2p}` (rect) or `(x_i - z_i^p)^2` itself (power), integrated exactly by a moment
//! recursion that counts active features. `h_i <= 2 (u_max^2 + (|b_i| + u_max sum_j |G_ij|)^{2p})`,
//! so `hi - lo <= P(|S| > K) B` (the bound of THEORY.md); `u_max = 1` for every [`Values`](crate::kernel::model::Values).
//!
//! `T_k` row by row, fraction-free. For row `i` with integer couplings `A_j = D G_ij` and shift
//! `C = D b_i`, integrating `u_j` (weight `P(u)`, degree `d`) by parts against
//! `rho_q(C + A_j u + ...)` gives `sum_l [alpha_l rho_{q+l+1}(.. + A_j) + beta_l rho_{q+l+1}(..)]
//! q!/(q+l+1)! / w0` with integers `w0 = pden A^{d+1}`, `alpha_l = (-1)^l pden P^(l)(1) A^{d-l}`,
//! `beta_l = -(-1)^l pden P^(l)(0) A^{d-l}`. A support `S` of the coupled features `V` is a choice,
//! for each `j in S`, of `alpha` (`j in T`, shifted) or `beta`; so with `y` marking the `l`'s,
//!
//! ```text
//! (prod_V w0) D^q sum_{S subset V, |S| = r} E[rho_q(z)] = sum_{T subset V, |T| <= r} sum_L
//!     q!/(q+r+L)! rho_{q+r+L}(C + A_T) [y^L] (prod_T alpha_j(y)) [x^{r-|T|}] prod_{V \ T} (w0_j + x beta_j(y))
//! ```
//!
//! The last factor is the power series of the full product divided by `(w0_j + x beta_j)` for
//! each `j in T` (exact integer division), updated along a depth-first walk over `T`: the cost is
//! one node per `T` with `|T| <= K`, not one integration per support. The point mass at 1 is the
//! case `w0 = 1`, `alpha = 1`, `beta = 0`, no order raised.

use crate::kernel::arith::binomial;
use crate::kernel::error::{Error, Result};
use crate::kernel::model::{Activation, Mat, Model, Weights};
use crate::kernel::oracle::{components, exact_weight_cached};
use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

/// A proved enclosure `lo <= L <= hi`.
#[derive(Clone, Debug, PartialEq)]
pub struct Enclosure {
    pub lo: BigRational,
    pub hi: BigRational,
    /// The support limit `K`: supports with more than `K` active features of a component are
    /// bounded, not summed.
    pub k: usize,
    /// `sum_C P(|S cap C| > K)` over the components not summed in full (`0`: `lo = hi`).
    pub tail_probability: BigRational,
    /// The estimated cost ([`enclosure_cost`]) spent.
    pub cost: f64,
}

impl Enclosure {
    /// `(hi - lo) / hi` (`0` when `hi = 0`).
    pub fn relative_width(&self) -> BigRational {
        if self.hi.is_zero() {
            BigRational::zero()
        } else {
            (&self.hi - &self.lo) / &self.hi
        }
    }
    /// Every component summed in full: `lo = hi = L`.
    pub fn is_exact(&self) -> bool {
        self.tail_probability.is_zero()
    }
}

/// Largest estimated cost of one enclosure (measured: about 1e6 units a second on one busy core
/// when it was set; about 5e6 on one core of this machine on 2026-12-02).
pub const ENCLOSURE_MAX_COST: f64 = 8e7;
/// Default budget of [`enclosure_to_width`]: a few seconds (n = 20, dense: K = 6 costs 7e6, K = 7
/// 1.5e7). It was 1e7, which stopped at K = 6 for a trained ReLU model with a bias at n = 20,
/// s = 1/100 (width 1.7e-6 against the target 1e-6); K = 7 gives 3e-8 in about 3 s.
pub const ENCLOSURE_BUDGET: f64 = 2e7;

/// One variable's integration rule for the weight `u^e D(u)`: integer derivatives at 1 and 0
/// scaled by `pden`; `raise = false` for the point mass.
struct Rule {
    raise: bool,
    p1: Vec<BigInt>,
    p0: Vec<BigInt>,
    pden: BigInt,
}

fn rule(model: &Model, e: u32) -> Rule {
    let one = || BigInt::one();
    match exact_weight_cached(&model.values, e) {
        None => Rule {
            raise: false,
            p1: vec![one()],
            p0: vec![BigInt::zero()],
            pden: one(),
        },
        Some(w) => {
            let pden = w
                .at_one
                .iter()
                .chain(&w.at_zero)
                .fold(one(), |acc, x| acc.lcm(x.denom()));
            let int = |v: &[BigRational]| -> Vec<BigInt> {
                v.iter().map(|x| x.numer() * (&pden / x.denom())).collect()
            };
            Rule {
                raise: true,
                p1: int(&w.at_one),
                p0: int(&w.at_zero),
                pden,
            }
        }
    }
}

/// `(w0, alpha(y), beta(y))` of a variable with integer coupling `a != 0` under `rule`.
fn var(rule: &Rule, a: &BigInt) -> (BigInt, Vec<BigInt>, Vec<BigInt>) {
    if !rule.raise {
        return (BigInt::one(), vec![BigInt::one()], vec![]);
    }
    let d = rule.p1.len() - 1;
    let apow: Vec<BigInt> = (0..=d + 1).map(|e| num_traits::pow(a.clone(), e)).collect();
    let sign = |l: usize, x: BigInt| if l.is_multiple_of(2) { x } else { -x };
    let alpha = (0..=d)
        .map(|l| sign(l, &rule.p1[l] * &apow[d - l]))
        .collect();
    let beta = (0..=d)
        .map(|l| -sign(l, &rule.p0[l] * &apow[d - l]))
        .collect();
    (&rule.pden * &apow[d + 1], alpha, beta)
}

fn pmul(a: &[BigInt], b: &[BigInt]) -> Vec<BigInt> {
    if a.is_empty() || b.is_empty() {
        return vec![];
    }
    if a.len() == 1 && b.len() == 1 {
        return vec![&a[0] * &b[0]];
    }
    let mut out = vec![BigInt::zero(); a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        if x.is_zero() {
            continue;
        }
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// One term family of a row: `sign * prefactor(y) * rho_q(shift + A_T + ...)`, over supports with
/// `own` (0 or 1) extra active features (feature `i` itself), `own_raise` orders raised by it.
struct Variant {
    q: u32,
    shift: BigInt,
    pi: Vec<BigInt>,
    own: usize,
    own_raise: u32,
    /// Which shift: 0 for `C`, 1 for `C + A_i`.
    sid: usize,
    den: BigInt,
    sign: i64,
    acc: Vec<BigInt>,
}

/// Row `i` of a component (`g` its exact rows, `bias` its biases): `sum_{|S| = k} E(x_i -
/// sigma(z_i))^2` for `k = 0..=kmax`, supports `S` within the component.
fn row_totals(
    model: &Model,
    g: &Mat<BigRational>,
    bias: Option<&[BigRational]>,
    i: usize,
    kmax: usize,
) -> Vec<BigRational> {
    let n = g.rows;
    let zero_q = BigRational::zero();
    let c = bias.map_or(&zero_q, |b| &b[i]);
    let d = g
        .row(i)
        .iter()
        .chain(std::iter::once(c))
        .fold(BigInt::one(), |acc, x| acc.lcm(x.denom()));
    let scale = |x: &BigRational| x.numer() * (&d / x.denom());
    let coupled: Vec<usize> = (0..n)
        .filter(|&j| j != i && !g.get(i, j).is_zero())
        .collect();
    let zeros = n - 1 - coupled.len();
    let rule0 = rule(model, 0);
    let vars: Vec<VarData> = coupled
        .iter()
        .map(|&j| {
            let a = scale(g.get(i, j));
            let v = var(&rule0, &a);
            (a, v)
        })
        .collect();
    let big_c = scale(c);
    let a_i = scale(g.get(i, i));
    let p = model.p;
    // Variants: feature i inactive (rho_2p); active: rho_2p minus 2 u rho_p.
    let mut variants = vec![Variant {
        q: 2 * p,
        shift: big_c.clone(),
        pi: vec![BigInt::one()],
        own: 0,
        own_raise: 0,
        sid: 0,
        den: BigInt::one(),
        sign: 1,
        acc: vec![],
    }];
    if kmax >= 1 {
        for (e, q, sign) in [(0, 2 * p, 1), (1, p, -2)] {
            let r = rule(model, e);
            if a_i.is_zero() || !r.raise {
                // u_i integrates to its moment (a_i = 0), or is 1 (point mass).
                let mu = if a_i.is_zero() {
                    model.mu(e)
                } else {
                    BigRational::one()
                };
                variants.push(Variant {
                    q,
                    shift: &big_c + &a_i,
                    pi: vec![mu.numer().clone()],
                    own: 1,
                    own_raise: 0,
                    sid: 1,
                    den: mu.denom().clone(),
                    sign,
                    acc: vec![],
                });
                continue;
            }
            let (w0, alpha, beta) = var(&r, &a_i);
            for (sid, shift, pi) in [(1, &big_c + &a_i, alpha), (0, big_c.clone(), beta)] {
                variants.push(Variant {
                    q,
                    shift,
                    pi,
                    own: 1,
                    own_raise: 1,
                    sid,
                    den: w0.clone(),
                    sign,
                    acc: vec![],
                });
            }
        }
    }
    let rmax = kmax.min(coupled.len());
    for v in variants.iter_mut() {
        v.acc = vec![BigInt::zero(); (rmax + 1).min(kmax + 1 - v.own)];
    }
    // Largest order: q + raised variables + the y-degree of the prefactors and alphas.
    let ydeg = rule0.p1.len() - 1;
    let qmax = (2 * p) as usize + 2 * (rmax + 1) + (rmax + 2) * (ydeg + 1);
    let fact: Vec<BigInt> = {
        // fact[Q] = qmax! / Q!
        let mut f = vec![BigInt::one(); qmax + 1];
        for qq in (0..qmax).rev() {
            f[qq] = &f[qq + 1] * BigInt::from(qq + 1);
        }
        f
    };
    // Root series: prod_V (w0 + x beta) to x-degree rmax.
    let mut series: Vec<Vec<BigInt>> = vec![vec![]; rmax + 1];
    series[0] = vec![BigInt::one()];
    let mut prod_w0 = BigInt::one();
    for (_, (w0, _, beta)) in &vars {
        prod_w0 *= w0;
        for r in (0..=rmax).rev() {
            let mut next: Vec<BigInt> = series[r].iter().map(|x| x * w0).collect();
            if r > 0 {
                let add = pmul(beta, &series[r - 1]);
                if next.len() < add.len() {
                    next.resize(add.len(), BigInt::zero());
                }
                for (t, x) in add.into_iter().enumerate() {
                    next[t] += x;
                }
            }
            series[r] = next;
        }
    }
    let ctx = Walk {
        act: model.act,
        raise: rule0.raise,
        vars: &vars,
        fact: &fact,
    };
    ctx.walk(
        0,
        0,
        &BigInt::zero(),
        &[BigInt::one()],
        &series,
        &mut variants,
    );
    // Assemble: value_v[r] = sign acc q! / (qmax! prod_w0 den D^q); support size k = r + own + z.
    let mut out = vec![BigRational::zero(); kmax + 1];
    let n_other = (n - 1) as u32;
    let mu2 = model.mu(2);
    for (k, o) in out.iter_mut().enumerate().take(kmax.min(n) + 1).skip(1) {
        *o += &mu2 * BigRational::from_integer(binomial(n_other, (k - 1) as u32));
    }
    let qfact = |q: u32| fact[q as usize].clone();
    for v in &variants {
        let den = qfact(v.q) * &prod_w0 * &v.den * num_traits::pow(d.clone(), v.q as usize);
        // Support size k = r + own + z, z of the zero-coupled features active.
        let mut by_k = vec![BigInt::zero(); kmax + 1];
        for (r, acc) in v.acc.iter().enumerate() {
            for z in 0..=zeros {
                let k = r + v.own + z;
                if k <= kmax && !acc.is_zero() {
                    by_k[k] += acc * binomial(zeros as u32, z as u32);
                }
            }
        }
        for (k, x) in by_k.into_iter().enumerate() {
            if !x.is_zero() {
                out[k] += BigRational::new(x * BigInt::from(v.sign), den.clone());
            }
        }
    }
    out
}

/// A coupled variable: `A_j` and its `(w0, alpha(y), beta(y))`.
type VarData = (BigInt, (BigInt, Vec<BigInt>, Vec<BigInt>));
/// A shift at a node and the powers of it used so far, `(exponent, value)`.
type Shift = (BigInt, Vec<(usize, BigInt)>);

struct Walk<'a> {
    act: Activation,
    raise: bool,
    vars: &'a [VarData],
    fact: &'a [BigInt],
}

impl Walk<'_> {
    /// Node `T` (its last index below `start`, `|T| = depth`, `A_T = shift`, `prod_T alpha =
    /// prefix`, `series` the complement's series to x-degree `rmax - depth`), then its children.
    fn walk(
        &self,
        start: usize,
        depth: usize,
        shift: &BigInt,
        prefix: &[BigInt],
        series: &[Vec<BigInt>],
        variants: &mut [Variant],
    ) {
        // The two shifts (`C + A_T`, and `C + A_i + A_T` for feature i shifted) and the powers
        // used of each, computed once per node.
        let mut xs: [Option<Shift>; 2] = [None, None];
        for v in variants.iter_mut() {
            if depth >= v.acc.len() {
                continue;
            }
            let (x, cache) = xs[v.sid].get_or_insert_with(|| (&v.shift + shift, Vec::new()));
            if self.act == Activation::Rect && !x.is_positive() {
                continue;
            }
            let a = pmul(&v.pi, prefix);
            for r in depth..v.acc.len() {
                let prod = pmul(&a, &series[r - depth]);
                for (l, coef) in prod.iter().enumerate() {
                    if coef.is_zero() {
                        continue;
                    }
                    let raised = if self.raise { r as u32 } else { 0 };
                    let q = (v.q + raised + v.own_raise) as usize + l;
                    let k = match cache.iter().position(|(e, _)| *e == q) {
                        Some(k) => k,
                        None => {
                            cache.push((q, num_traits::pow(x.clone(), q)));
                            cache.len() - 1
                        }
                    };
                    v.acc[r] += &self.fact[q] * coef * &cache[k].1;
                }
            }
        }
        if series.len() <= 1 {
            return;
        }
        for (j, (a, (w0, alpha, beta))) in self.vars.iter().enumerate().skip(start) {
            // The complement without j: divide the series by (w0 + x beta), exactly.
            let mut child: Vec<Vec<BigInt>> = Vec::with_capacity(series.len() - 1);
            for r in 0..series.len() - 1 {
                let mut f = series[r].clone();
                if r > 0 {
                    let sub = pmul(beta, &child[r - 1]);
                    if f.len() < sub.len() {
                        f.resize(sub.len(), BigInt::zero());
                    }
                    for (t, x) in sub.into_iter().enumerate() {
                        f[t] -= x;
                    }
                }
                for x in f.iter_mut() {
                    *x = &*x / w0;
                }
                while f.last().is_some_and(Zero::is_zero) {
                    f.pop();
                }
                child.push(f);
            }
            self.walk(
                j + 1,
                depth + 1,
                &(shift + a),
                &pmul(prefix, alpha),
                &child,
                variants,
            );
        }
    }
}

/// `T_k = sum_{|S| = k} l(S)`, `k = 0..=kmax`, of a (sub)model: the same numbers as
/// [`crate::kernel::oracle::support_totals`], computed by the walk over `T` (rows in parallel).
pub fn support_totals_fast(
    model: &Model,
    g: &Mat<BigRational>,
    bias: Option<&[BigRational]>,
    importance: Option<&[BigRational]>,
    kmax: usize,
) -> Vec<BigRational> {
    let kmax = kmax.min(g.rows);
    let mut out = vec![BigRational::zero(); kmax + 1];
    let rows = rows_in_parallel(g.rows, |i| {
        let w = importance.map_or_else(BigRational::one, |v| v[i].clone());
        (!w.is_zero()).then(|| (row_totals(model, g, bias, i, kmax), w))
    });
    for (totals, w) in rows.into_iter().flatten() {
        for (k, x) in totals.into_iter().enumerate() {
            out[k] += &w * x;
        }
    }
    out
}

/// `f(0), ..., f(n-1)` on the machine's threads (scoped `std` threads, rows dealt out in turn),
/// returned in order: the results, and every sum of them, do not depend on the threads.
fn rows_in_parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(n);
    if threads <= 1 {
        return (0..n).map(f).collect();
    }
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let f = &f;
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..n)
                        .step_by(threads)
                        .map(|i| (i, f(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            for (i, v) in worker.join().expect("a row's computation panicked") {
                out[i] = Some(v);
            }
        }
    });
    out.into_iter()
        .map(|v| v.expect("every row computed"))
        .collect()
}

/// `E[h_i(x) 1{|S| > K}]` for `K = 0..=kmax` (row `i` of a component), and last the whole
/// `E[h_i(x)]`: the moments `E[z'^r 1{count = c}]` of `z' = b_i + sum_{j != i} G_ij x_j` by count
/// (last bucket `> kmax`), then feature `i`.
fn row_tails(
    model: &Model,
    g: &Mat<BigRational>,
    bias: Option<&[BigRational]>,
    i: usize,
    s: &BigRational,
    kmax: usize,
) -> Vec<BigRational> {
    // Fraction-free: with `A_j = D G_ij`, `Mu_k = mden mu_k` and `s = sn / sd`, the moments are
    // `E[z'^r 1{count = c}] = N[c][r] / (D^r X^steps)`, `X = sd mden`, and one step is
    // `N'[c][r] = (sd - sn) mden N[c][r] + sn sum_k C(r, k) A_j^k Mu_k N[c-1][r-k]`.
    let p = model.p as usize;
    let zero = BigRational::zero();
    let b = bias.map_or(&zero, |v| &v[i]);
    let d = g
        .row(i)
        .iter()
        .chain(std::iter::once(b))
        .fold(BigInt::one(), |acc, x| acc.lcm(x.denom()));
    let scale = |x: &BigRational| x.numer() * (&d / x.denom());
    let mu: Vec<BigRational> = (0..=2 * p as u32 + 1).map(|k| model.mu(k)).collect();
    let mden = mu.iter().fold(BigInt::one(), |acc, x| acc.lcm(x.denom()));
    let big_mu: Vec<BigInt> = mu.iter().map(|x| x.numer() * (&mden / x.denom())).collect();
    let (sn, sd) = (s.numer(), s.denom());
    let keep = (sd - sn) * &mden;
    let binom = |a: usize, k: usize| binomial(a as u32, k as u32);
    let buckets = kmax + 2;
    let mut m = vec![vec![BigInt::zero(); 2 * p + 1]; buckets];
    let big_b = scale(b);
    for (r, x) in m[0].iter_mut().enumerate() {
        *x = num_traits::pow(big_b.clone(), r);
    }
    let mut steps = 0;
    for j in (0..g.rows).filter(|&j| j != i) {
        steps += 1;
        let a = scale(g.get(i, j));
        let gm: Vec<BigInt> = (0..=2 * p)
            .map(|k| num_traits::pow(a.clone(), k) * &big_mu[k])
            .collect();
        let mut next: Vec<Vec<BigInt>> = m
            .iter()
            .map(|v| v.iter().map(|x| x * &keep).collect())
            .collect();
        for (c, mc) in m.iter().enumerate() {
            let to = (c + 1).min(buckets - 1);
            for r in 0..=2 * p {
                let moved = (0..=r).fold(BigInt::zero(), |acc, k| {
                    acc + binom(r, k) * &gm[k] * &mc[r - k]
                });
                next[to][r] += sn * moved;
            }
        }
        m = next;
    }
    // H_c = E[h 1{count = c} | i active] D^{2p} X^steps mden.
    let aii = scale(g.get(i, i));
    let d2p = num_traits::pow(d.clone(), 2 * p);
    let dp = num_traits::pow(d.clone(), p);
    let h = |v: &[BigInt]| -> BigInt {
        let mut acc = &big_mu[2] * &d2p * &v[0];
        for k in 0..=2 * p {
            acc += binom(2 * p, k) * num_traits::pow(aii.clone(), k) * &big_mu[k] * &v[2 * p - k];
        }
        if model.act == Activation::Power {
            for k in 0..=p {
                acc -= BigInt::from(2)
                    * binom(p, k)
                    * num_traits::pow(aii.clone(), k)
                    * &big_mu[k + 1]
                    * &dp
                    * &v[p - k];
            }
        }
        acc
    };
    let hs: Vec<BigInt> = m.iter().map(|v| h(v)).collect();
    let den = sd * &mden * d2p * num_traits::pow(sd * &mden, steps);
    let whole: BigInt =
        &keep * m.iter().map(|v| &v[2 * p]).sum::<BigInt>() + sn * hs.iter().sum::<BigInt>();
    (0..=kmax)
        .map(|k| {
            // inactive i: count (of the others) > K; active i: count >= K.
            let off: BigInt = (k + 1..buckets).map(|c| &m[c][2 * p]).sum();
            let on: BigInt = (k..buckets).map(|c| &hs[c]).sum();
            BigRational::new(&keep * off + sn * on, den.clone())
        })
        .chain(std::iter::once(BigRational::new(whole, den.clone())))
        .collect()
}

/// The parts of `W` per component: its Gram rows, biases, importance.
type Part = (
    Mat<BigRational>,
    Option<Vec<BigRational>>,
    Option<Vec<BigRational>>,
);

fn parts(w: &Weights) -> Vec<Part> {
    let gram = w.exact_gram();
    components(&gram)
        .into_iter()
        .map(|comp| {
            let sub = Mat::from_fn(comp.len(), comp.len(), |a, b| {
                gram.get(comp[a], comp[b]).clone()
            });
            let pick = |v: &Vec<BigRational>| comp.iter().map(|&i| v[i].clone()).collect();
            (
                sub,
                w.bias.as_ref().map(pick),
                w.importance.as_ref().map(pick),
            )
        })
        .collect()
}

fn check_inputs(w: &Weights, s: &BigRational) -> Result<()> {
    if s.is_negative() || *s > BigRational::one() {
        return Err(Error::input(format!("density {s} is outside [0, 1]")));
    }
    if w.importance.iter().flatten().any(Signed::is_negative) {
        return Err(Error::input("an importance weight is negative"));
    }
    Ok(())
}

/// The support limit actually used for a component of `size` features.
fn limit(size: usize, k: usize, exact_up_to: usize) -> usize {
    if size <= exact_up_to.max(k) { size } else { k }
}

/// Estimated cost of [`enclosure`] at `k`: walk nodes (subsets `T` of each row's coupled
/// features with `|T| <= K`) times the squared size `d1` of the value density's derivative list
/// times `1 + K max(d1 - 2, 0) / 4` (the polynomials in `y` grow with `K`) times `1 + v / 20` (`v`
/// coupled features: the digits of the series grow with `v`).
pub fn enclosure_cost(model: &Model, w: &Weights, k: usize, exact_up_to: usize) -> f64 {
    let d1 = model
        .values
        .density_polynomial()
        .map_or(1.0, |d| d.len() as f64 + 1.0);
    parts(w)
        .iter()
        .map(|(g, _, _)| {
            let kc = limit(g.rows, k, exact_up_to);
            (0..g.rows)
                .map(|i| {
                    let v = (0..g.rows)
                        .filter(|&j| j != i && !g.get(i, j).is_zero())
                        .count();
                    let mut c = 1.0;
                    let mut total = 1.0;
                    for t in 1..=kc.min(v) {
                        c = c * (v + 1 - t) as f64 / t as f64;
                        total += c;
                    }
                    // Prefactors and series are polynomials in y of degree up to K d, and
                    // their integers have about v times the digits of one coupling.
                    // (The point mass, d1 = 1, raises no order; the factor stays positive.)
                    let growth = 1.0 + kc as f64 * (d1 - 2.0).max(0.0) / 4.0;
                    total * d1 * d1 * growth * (1.0 + v as f64 / 20.0)
                })
                .sum::<f64>()
        })
        .sum()
}

/// The enclosure at support limit `k`: components of at most `max(k, exact_up_to)` features are
/// summed in full, the others truncated at `k`. Refuses a negative importance, a density
/// outside `[0, 1]`, or an estimated cost above [`ENCLOSURE_MAX_COST`].
pub fn enclosure(
    model: &Model,
    w: &Weights,
    s: &BigRational,
    k: usize,
    exact_up_to: usize,
) -> Result<Enclosure> {
    check_inputs(w, s)?;
    let cost = enclosure_cost(model, w, k, exact_up_to);
    if cost > ENCLOSURE_MAX_COST {
        return Err(Error::too_large(format!(
            "the enclosure at support limit K = {k} has estimated cost {cost:.2e}, above the \
             limit {ENCLOSURE_MAX_COST:.1e} (a smaller K)"
        )));
    }
    let t = BigRational::one() - s;
    let (mut lo, mut tail, mut prob) = (
        BigRational::zero(),
        BigRational::zero(),
        BigRational::zero(),
    );
    for (g, b, imp) in parts(w) {
        let size = g.rows;
        let kc = limit(size, k, exact_up_to);
        let totals = support_totals_fast(model, &g, b.as_deref(), imp.as_deref(), kc);
        let mut inside = BigRational::zero();
        for (j, tj) in totals.iter().enumerate() {
            let pk = num_traits::pow(s.clone(), j) * num_traits::pow(t.clone(), size - j);
            lo += &pk * tj;
            inside += pk * BigRational::from_integer(binomial(size as u32, j as u32));
        }
        if kc < size {
            prob += BigRational::one() - inside;
            for i in 0..size {
                let weight = imp.as_ref().map_or_else(BigRational::one, |v| v[i].clone());
                if !weight.is_zero() {
                    tail += weight * &row_tails(model, &g, b.as_deref(), i, s, kc)[kc];
                }
            }
        }
    }
    Ok(Enclosure {
        hi: &lo + tail,
        lo,
        k,
        tail_probability: prob,
        cost,
    })
}

/// The tail bound `hi - lo` of [`enclosure`] at every `K <= kmax` (cheap: no support sums), and
/// last `E[h] = sum_i I_i E[h_i]` over the truncated components.
pub fn tail_bounds(
    model: &Model,
    w: &Weights,
    s: &BigRational,
    kmax: usize,
    exact_up_to: usize,
) -> Result<Vec<BigRational>> {
    check_inputs(w, s)?;
    let mut out = vec![BigRational::zero(); kmax + 2];
    for (g, b, imp) in parts(w) {
        if g.rows <= exact_up_to {
            continue;
        }
        for i in 0..g.rows {
            let weight = imp.as_ref().map_or_else(BigRational::one, |v| v[i].clone());
            if weight.is_zero() {
                continue;
            }
            let tails = row_tails(model, &g, b.as_deref(), i, s, kmax.min(g.rows));
            let (whole, tails) = tails.split_last().expect("E[h_i] is last");
            for (k, o) in out[..=kmax].iter_mut().enumerate() {
                if k < g.rows {
                    *o += &weight * &tails[k.min(tails.len() - 1)];
                }
            }
            out[kmax + 1] += &weight * whole;
        }
    }
    Ok(out)
}

/// The enclosure at the smallest `K` whose relative width is at most `width`, trying `K = 1,
/// 2, ...` while the estimated cost stays within `budget`; a `K` whose tail bound alone shows
/// it cannot reach `width`, or cannot be narrower than the best computed, is skipped. When the
/// budget ends first, the narrowest enclosure computed is returned (the caller compares its
/// width with the target); refused when even `K = 1` is above the budget.
pub fn enclosure_to_width(
    model: &Model,
    w: &Weights,
    s: &BigRational,
    width: &BigRational,
    budget: f64,
    exact_up_to: usize,
) -> Result<Enclosure> {
    let largest = parts(w).iter().map(|(g, _, _)| g.rows).max().unwrap_or(0);
    let first = enclosure_cost(model, w, 1, exact_up_to);
    if first > budget {
        return Err(Error::too_large(format!(
            "the enclosure's first step (K = 1) has estimated cost {first:.2e}, above the \
             budget {budget:.1e}"
        )));
    }
    let mut kmax = 1;
    while kmax < largest && enclosure_cost(model, w, kmax + 1, exact_up_to) <= budget {
        kmax += 1;
    }
    let mut tails = tail_bounds(model, w, s, kmax, exact_up_to)?;
    let whole = tails.pop().expect("E[h] is last");
    let mut best = enclosure(model, w, s, 1.min(kmax), exact_up_to)?;
    for (k, tail) in tails.iter().enumerate().skip(2) {
        if best.relative_width() <= *width {
            break;
        }
        // width_K >= floor = tail / (min(hi_best, lo_best + E[h] - tail) + tail)
        // (proofs/enclosure.md, "Choosing K").
        if !tail.is_zero() {
            let head = &whole - tail;
            let lo_cap = std::cmp::min(best.hi.clone(), &best.lo + head);
            let floor = tail / (lo_cap + tail);
            if floor >= best.relative_width() || (floor > *width && k < kmax) {
                continue;
            }
        }
        let next = enclosure(model, w, s, k, exact_up_to)?;
        if next.relative_width() <= best.relative_width() {
            best = next;
        }
    }
    Ok(best)
}
