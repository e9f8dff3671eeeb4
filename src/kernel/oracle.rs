//! Exact loss by enumerating supports and integrating piecewise polynomials: the independent
//! oracle for the power engine, and the exact route for the rectified activation.
//!
//! Conditioned on the support `S` (the active features), `x_j = U_j` for `j in S` and `0`
//! otherwise, so with `z_i = sum_{j in S} G_ij U_j + b_i` and `rho_q(z) = z^q` (power) or
//! `max(z, 0)^q` (rectified),
//!
//! ```text
//! L_S = sum_i I_i ( [i in S] mu_2 - 2 [i in S] E[U_i rho_p(z_i)] + E[rho_{2p}(z_i)] )
//! L(W; s) = sum_S s^{|S|} (1-s)^{n-|S|} L_S.
//! ```
//!
//! Each expectation `E[prod_j U_j^{e_j} rho_q(c + sum_j a_j U_j)]` is integrated one variable at a
//! time. For a polynomial density on `[0, 1]` and `a != 0`, integrating by parts with the
//! antiderivatives `rho_{q+k}(c + a u) q! / ((q+k)! a^k)` (valid for both `rho`) gives
//!
//! ```text
//! int_0^1 u^e rho_q(c + a u) du = sum_{j=0}^{e} (-1)^j e!/(e-j)! q!/((q+j+1)! a^{j+1}) rho_{q+j+1}(c + a)
//!                                 - (-1)^e e! q! / ((q+e+1)! a^{e+1}) rho_{q+e+1}(c),
//! ```
//!
//! again terms of the same shape in the remaining variables; with `a = 0` the variable
//! integrates to its moment, and a point mass at 1 substitutes `u = 1`. Everything is exact.

use crate::kernel::arith::{Poly, Ring, Scalar, binomial};
use crate::kernel::error::{Error, Result};
use crate::kernel::model::{Activation, Mat, Model, Values};
use num_bigint::BigInt;
use num_rational::BigRational;

/// Largest `n` for which the full exact rectified loss is computed (the cost grows like `3^n`).
pub const ORACLE_MAX_N: usize = 8;

/// Terms `coef * rho_q(c + sum_k a_k u_k)` over the not-yet-integrated `u_k`, like terms merged.
/// The monomial of the remaining variables is the same for every term (integrating `u_k` only
/// removes `u_k`), so a term is its `(q, c)`; the terms are grouped by the shift `c` (at most
/// `2^k` of them), each with a dense vector of coefficients indexed by `q`.
struct Terms<F> {
    shifts: Vec<(F, Vec<F>)>,
    index: std::collections::HashMap<MergeKey, usize>,
}

/// What identifies a shift `c` for merging: its exact value, or an `f64`'s bits (cheap).
#[derive(Clone, PartialEq, Eq, Hash)]
enum MergeKey {
    Exact(BigRational),
    Bits(u64),
}

fn merge_key<F: Scalar>(c: &F) -> Option<MergeKey> {
    if F::EXACT {
        c.to_rational().map(MergeKey::Exact)
    } else {
        let x = c.to_f64();
        x.is_finite().then(|| MergeKey::Bits((x + 0.0).to_bits()))
    }
}

impl<F: Scalar> Terms<F> {
    fn new() -> Self {
        Terms {
            shifts: Vec::new(),
            index: std::collections::HashMap::new(),
        }
    }
    /// The coefficient vector of shift `c` (created empty); exact types merge exactly, a
    /// non-finite `f64` shift keeps an entry of its own.
    fn at(&mut self, c: &F) -> &mut Vec<F> {
        let k = match merge_key(c) {
            Some(key) => match self.index.entry(key) {
                std::collections::hash_map::Entry::Occupied(e) => *e.get(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(self.shifts.len());
                    self.shifts.push((c.clone(), Vec::new()));
                    self.shifts.len() - 1
                }
            },
            None => {
                self.shifts.push((c.clone(), Vec::new()));
                self.shifts.len() - 1
            }
        };
        &mut self.shifts[k].1
    }
    fn add(&mut self, q: u32, c: &F, coef: &F) {
        if coef.is_zero() {
            return;
        }
        let v = self.at(c);
        if v.len() <= q as usize {
            v.resize(q as usize + 1, F::zero());
        }
        v[q as usize] = v[q as usize].add(coef);
    }
}

/// One variable's weight `P(u) = u^e D(u)` (density `D`), as what integrating it against
/// `rho_q(c + a u)` needs: `int_0^1 P`, and the derivatives `P^{(j)}(1)`, `P^{(j)}(0)` for
/// `j = 0..=deg P`.
pub(crate) struct Weight<F> {
    pub(crate) integral: F,
    pub(crate) at_one: Vec<F>,
    pub(crate) at_zero: Vec<F>,
}

fn weight<F: Scalar>(values: &Values, e: u32) -> Option<Weight<F>> {
    type Cache = std::collections::HashMap<(Values, u32), Option<Weight<BigRational>>>;
    thread_local! {
        static CACHE: std::cell::RefCell<Cache> = Default::default();
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let w = cache
            .entry((*values, e))
            .or_insert_with(|| values.density_polynomial().map(|d| exact_weight(&d, e)));
        w.as_ref().map(|w| Weight {
            integral: F::from_rational(&w.integral),
            at_one: w.at_one.iter().map(F::from_rational).collect(),
            at_zero: w.at_zero.iter().map(F::from_rational).collect(),
        })
    })
}

fn exact_weight(density: &[BigRational], e: u32) -> Weight<BigRational> {
    // P = u^e D: coefficient of u^t is density[t - e].
    let mut coeffs = vec![BigRational::zero(); e as usize];
    coeffs.extend(density.iter().cloned());
    let deg = coeffs.len() - 1;
    let integral = coeffs
        .iter()
        .enumerate()
        .map(|(t, c)| c / BigRational::from_integer(BigInt::from(t + 1)))
        .fold(BigRational::zero(), |acc, x| acc + x);
    let mut at_one = Vec::with_capacity(deg + 1);
    let mut at_zero = Vec::with_capacity(deg + 1);
    // `deriv` holds P^{(j)} as monomial coefficients.
    let mut deriv = coeffs;
    for _ in 0..=deg {
        at_one.push(deriv.iter().fold(BigRational::zero(), |acc, c| acc + c));
        at_zero.push(deriv[0].clone());
        deriv = deriv
            .iter()
            .enumerate()
            .skip(1)
            .map(|(t, c)| c * BigRational::from_integer(BigInt::from(t)))
            .collect();
        if deriv.is_empty() {
            deriv.push(BigRational::zero());
        }
    }
    Weight {
        integral,
        at_one,
        at_zero,
    }
}

/// `E[prod_k U_k^{mono[k]} rho_q(c + sum_k a_k U_k)]` for independent `U_k ~ D`, exactly.
///
/// Each variable is integrated against its whole weight `P(u) = u^e D(u)` at once (repeated
/// integration by parts against the polynomial `P`, not monomial by monomial), so one term
/// `rho_q(c + a u)` gives `deg P + 1` terms at each of the two shifts `c + a` and `c`, and like
/// terms are merged: `int_0^1 P(u) rho_q(c + a u) du =
/// sum_j (-1)^j q!/((q+j+1)! a^{j+1}) (P^{(j)}(1) rho_{q+j+1}(c + a) - P^{(j)}(0) rho_{q+j+1}(c))`.
pub fn expect_ramp<F: Scalar>(model: &Model, a: &[F], c: &F, q: u32, mono: &[u32]) -> F {
    // Exact types take the integer route: the same formula over one common denominator, without
    // a gcd per operation (the rationals of rounded witnesses run to thousands of bits).
    if F::EXACT
        && let (Some(ar), Some(cr)) = (
            a.iter()
                .map(Scalar::to_rational)
                .collect::<Option<Vec<_>>>(),
            c.to_rational(),
        )
    {
        return F::from_rational(&expect_ramp_exact(model, &ar, &cr, q, mono));
    }
    let mut terms = Terms::new();
    terms.add(q, c, &F::one());
    // Integration by parts divides by powers of `a_k`: in floating point a coupling far smaller
    // than the others cancels catastrophically, so inexact types treat it as zero (an error of
    // the order of the coupling itself). Exact types are untouched.
    let largest = a.iter().map(|x| x.to_f64().abs()).fold(0.0, f64::max);
    let zero = F::zero();
    for k in (0..a.len()).rev() {
        let ak = if !F::EXACT && a[k].to_f64().abs() <= 1e-9 * largest {
            &zero
        } else {
            &a[k]
        };
        let mut next = Terms::new();
        let Some(w) = weight::<F>(&model.values, mono[k]) else {
            // Point mass at 1: u = 1.
            for (c, coeffs) in terms.shifts {
                let shifted = c.add(ak);
                for (q, coef) in coeffs.iter().enumerate() {
                    next.add(q as u32, &shifted, coef);
                }
            }
            terms = next;
            continue;
        };
        if ak.is_zero() {
            for (c, coeffs) in terms.shifts {
                for (q, coef) in coeffs.iter().enumerate() {
                    next.add(q as u32, &c, &coef.mul(&w.integral));
                }
            }
            terms = next;
            continue;
        }
        let deg = w.at_one.len() - 1;
        // g_j = (-1)^j / a^{j+1}
        let inv_a = F::one().div(ak);
        let mut g = Vec::with_capacity(deg + 1);
        let mut cur = inv_a.clone();
        for j in 0..=deg {
            g.push(if j % 2 == 0 {
                cur.clone()
            } else {
                zero.sub(&cur)
            });
            cur = cur.mul(&inv_a);
        }
        // Per exponent q, the factors of rho_{q+j+1} at the shifts c + a and c:
        // q!/(q+j+1)! g_j P^{(j)}(1) and -q!/(q+j+1)! g_j P^{(j)}(0) (shared by all shifts).
        type Factors<F> = Vec<(F, F)>;
        let mut factors: std::collections::HashMap<usize, Factors<F>> =
            std::collections::HashMap::new();
        for (c, coeffs) in terms.shifts {
            let shifted = c.add(ak);
            for (q, coef) in coeffs.iter().enumerate() {
                if coef.is_zero() {
                    continue;
                }
                let f = factors.entry(q).or_insert_with(|| {
                    let mut ratio = F::one();
                    (0..=deg)
                        .map(|j| {
                            ratio = ratio.div(&F::from_i64((q + j + 1) as i64));
                            let base = ratio.mul(&g[j]);
                            (base.mul(&w.at_one[j]), zero.sub(&base.mul(&w.at_zero[j])))
                        })
                        .collect()
                });
                for (j, (one, _)) in f.iter().enumerate() {
                    if !one.is_zero() {
                        next.add((q + j + 1) as u32, &shifted, &coef.mul(one));
                    }
                }
                for (j, (_, at0)) in f.iter().enumerate() {
                    if !at0.is_zero() {
                        next.add((q + j + 1) as u32, &c, &coef.mul(at0));
                    }
                }
            }
        }
        terms = next;
    }
    // sum_q coef_q rho_q(c) = [rect: c > 0] sum_q coef_q c^q, by Horner.
    terms.shifts.iter().fold(F::zero(), |acc, (c, coeffs)| {
        let base = match model.act {
            Activation::Power => c.clone(),
            Activation::Rect => c.max0(),
        };
        let value = coeffs
            .iter()
            .rev()
            .fold(F::zero(), |v, coef| v.mul(&base).add(coef));
        acc.add(&value)
    })
}

/// [`expect_ramp`] exactly, in integers. With `D` the least common denominator of `a` and `c`,
/// `A = D a`, `C = D c` are integers and `rho_q(c + sum a_k u_k) = D^{-q} rho_q(C + sum A_k u_k)`
/// (`D > 0`; both `rho` are positively homogeneous of degree `q`). The terms
/// `N_q rho_q(shift) / den` keep integer shifts and integer numerators `N_q` over one common
/// denominator `den`: integrating a variable multiplies `den` by an integer making every new
/// factor integral. The value is the same rational as the term-by-term rational computation.
fn expect_ramp_exact(
    model: &Model,
    a: &[BigRational],
    c: &BigRational,
    q0: u32,
    mono: &[u32],
) -> BigRational {
    use num_integer::Integer;
    use num_traits::Signed;
    let d = a
        .iter()
        .chain(std::iter::once(c))
        .fold(BigInt::one(), |acc, x| acc.lcm(x.denom()));
    let scale = |x: &BigRational| x.numer() * (&d / x.denom());
    let big_a: Vec<BigInt> = a.iter().map(scale).collect();
    // shift -> numerators indexed by q.
    let mut terms: std::collections::HashMap<BigInt, Vec<BigInt>> = Default::default();
    let mut v = vec![BigInt::zero(); q0 as usize + 1];
    v[q0 as usize] = BigInt::one();
    terms.insert(scale(c), v);
    let mut den = BigInt::one();
    let add = |t: &mut std::collections::HashMap<BigInt, Vec<BigInt>>,
               shift: &BigInt,
               q: usize,
               x: BigInt| {
        if x.is_zero() {
            return;
        }
        let v = t.entry(shift.clone()).or_default();
        if v.len() <= q {
            v.resize(q + 1, BigInt::zero());
        }
        v[q] += x;
    };
    for k in (0..a.len()).rev() {
        let ak = &big_a[k];
        let mut next: std::collections::HashMap<BigInt, Vec<BigInt>> = Default::default();
        let Some(w) = exact_weight_cached(&model.values, mono[k]) else {
            // Point mass at 1: u = 1.
            for (shift, coeffs) in terms {
                let shifted = &shift + ak;
                for (q, x) in coeffs.into_iter().enumerate() {
                    add(&mut next, &shifted, q, x);
                }
            }
            terms = next;
            continue;
        };
        if ak.is_zero() {
            let (num, dd) = (w.integral.numer(), w.integral.denom());
            den *= dd;
            for (shift, coeffs) in terms {
                for (q, x) in coeffs.into_iter().enumerate() {
                    add(&mut next, &shift, q, x * num);
                }
            }
            terms = next;
            continue;
        }
        let deg = w.at_one.len() - 1;
        // The factor of rho_{q+j+1} at shift + A (resp. shift) is
        // (-1)^j q!/(q+j+1)! P^{(j)}(1) / A^{j+1} (resp. minus the same with P^{(j)}(0)).
        // Multiplying everything by M = A^{deg+1} L lcm(den P^{(j)}) makes each factor integral,
        // with L the lcm over the q present and j of (q+1)...(q+j+1).
        let qs: Vec<usize> = {
            let mut qs: Vec<usize> = terms
                .values()
                .flat_map(|v| {
                    v.iter()
                        .enumerate()
                        .filter(|(_, x)| !x.is_zero())
                        .map(|(q, _)| q)
                })
                .collect();
            qs.sort_unstable();
            qs.dedup();
            qs
        };
        let rising = |q: usize, j: usize| -> BigInt {
            (q + 1..=q + j + 1).fold(BigInt::one(), |acc, t| acc * BigInt::from(t))
        };
        let mut l = BigInt::one();
        for &q in &qs {
            for j in 0..=deg {
                l = l.lcm(&rising(q, j));
            }
        }
        let pden = w
            .at_one
            .iter()
            .chain(&w.at_zero)
            .fold(BigInt::one(), |acc, x| acc.lcm(x.denom()));
        let apow: Vec<BigInt> = (0..=deg + 1)
            .map(|e| num_traits::pow(ak.clone(), e))
            .collect();
        let mult = &apow[deg + 1] * &l * &pden;
        den *= &mult;
        let lp = &l * &pden;
        // Integer factors per (q, j): (one, zero) = (-1)^j A^{deg-j} L pden / rising(q,j) P^(j)(1)
        // and the negated P^(j)(0) analogue.
        let mut factors: std::collections::HashMap<usize, Vec<(BigInt, BigInt)>> =
            Default::default();
        for &q in &qs {
            let f = (0..=deg)
                .map(|j| {
                    let base = &lp / rising(q, j) * &apow[deg - j];
                    let base = if j % 2 == 0 { base } else { -base };
                    let at = |x: &BigRational| &base / x.denom() * x.numer();
                    (at(&w.at_one[j]), -at(&w.at_zero[j]))
                })
                .collect();
            factors.insert(q, f);
        }
        for (shift, coeffs) in terms {
            let shifted = &shift + ak;
            for (q, x) in coeffs.iter().enumerate() {
                if x.is_zero() {
                    continue;
                }
                for (j, (one, zero)) in factors[&q].iter().enumerate() {
                    add(&mut next, &shifted, q + j + 1, x * one);
                    add(&mut next, &shift, q + j + 1, x * zero);
                }
            }
        }
        terms = next;
    }
    // sum_q N_q rho_q(shift) = [rect: shift > 0] sum_q N_q shift^q, by Horner.
    let mut total = BigInt::zero();
    for (shift, coeffs) in &terms {
        let base = match model.act {
            Activation::Power => shift.clone(),
            Activation::Rect => {
                if shift.is_positive() {
                    shift.clone()
                } else {
                    BigInt::zero()
                }
            }
        };
        let value = coeffs
            .iter()
            .rev()
            .fold(BigInt::zero(), |v, x| v * &base + x);
        total += value;
    }
    BigRational::new(total, den * num_traits::pow(d, q0 as usize))
}

/// The exact weight of `u^e D(u)` (`None` for the point mass), cached per thread.
pub(crate) fn exact_weight_cached(values: &Values, e: u32) -> Option<Weight<BigRational>> {
    weight::<BigRational>(values, e)
}

/// `L_S`: the loss conditioned on the support `S` (sorted feature indices).
pub fn support_loss<F: Scalar>(
    model: &Model,
    gram: &Mat<F>,
    bias: Option<&[F]>,
    importance: Option<&[F]>,
    support: &[usize],
) -> F {
    let p = model.p;
    let mu2 = F::from_rational(&model.mu(2));
    let mut total = F::zero();
    for i in 0..gram.rows {
        // Only the active features with G_ij != 0 enter z_i (others integrate to 1), plus i.
        let vars: Vec<usize> = support
            .iter()
            .copied()
            .filter(|&j| j == i || !gram.get(i, j).is_zero())
            .collect();
        let a: Vec<F> = vars.iter().map(|&j| gram.get(i, j).clone()).collect();
        let c = bias.map_or_else(F::zero, |b| b[i].clone());
        let mut row = expect_ramp(model, &a, &c, 2 * p, &vec![0; vars.len()]);
        if let Some(pos) = vars.iter().position(|&j| j == i) {
            let mut mono = vec![0; vars.len()];
            mono[pos] = 1;
            let cross = expect_ramp(model, &a, &c, p, &mono);
            row = row.add(&mu2).sub(&F::from_i64(2).mul(&cross));
        }
        total = match importance {
            Some(w) => total.add(&w[i].mul(&row)),
            None => total.add(&row),
        };
    }
    total
}

/// Calls `f` with every subset of `0..n` of size `k` (sorted).
fn for_each_subset(n: usize, k: usize, f: &mut impl FnMut(&[usize])) {
    fn rec(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, f: &mut impl FnMut(&[usize])) {
        if cur.len() == k {
            f(cur);
            return;
        }
        for j in start..n {
            if n - j < k - cur.len() {
                break;
            }
            cur.push(j);
            rec(j + 1, n, k, cur, f);
            cur.pop();
        }
    }
    rec(0, n, k, &mut Vec::with_capacity(k), f);
}

/// `T_k = sum_{|S| = k} L_S` for `k = 0..=max_support`.
pub fn support_totals<F: Scalar>(
    model: &Model,
    gram: &Mat<F>,
    bias: Option<&[F]>,
    importance: Option<&[F]>,
    max_support: usize,
) -> Vec<F> {
    let n = gram.rows;
    (0..=max_support.min(n))
        .map(|k| {
            let mut total = F::zero();
            for_each_subset(n, k, &mut |s| {
                total = total.add(&support_loss(model, gram, bias, importance, s));
            });
            total
        })
        .collect()
}

/// The connected components of the graph `i ~ j` iff `G_ij != 0` (sorted index lists). Output
/// `i` depends only on the inputs of its component, so the loss is a sum over components.
pub fn components<F: Scalar>(gram: &Mat<F>) -> Vec<Vec<usize>> {
    let n = gram.rows;
    let mut seen = vec![false; n];
    let mut out = Vec::new();
    for start in 0..n {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut comp = vec![start];
        let mut k = 0;
        while k < comp.len() {
            let i = comp[k];
            for (j, seen_j) in seen.iter_mut().enumerate() {
                if !*seen_j && !gram.get(i, j).is_zero() {
                    *seen_j = true;
                    comp.push(j);
                }
            }
            k += 1;
        }
        comp.sort_unstable();
        out.push(comp);
    }
    out
}

/// Largest estimated cost ([`oracle_cost`]) of one exact support sum: about 5 s of rational
/// arithmetic (measured: 3e7 to 6e7 units a second on one core).
pub const ORACLE_MAX_COST: f64 = 2.5e8;

/// The estimated cost of [`oracle_polynomial`]: over the rows `i` of each component of `K`
/// features, `i` coupled to `N_i` of them (itself included), the supports give
/// `2^{K - N_i} 3^{N_i}` variable-shift pairs, each carrying `2p + N_i (d + 1)` exponents times
/// `d + 1` weight derivatives, `d` the degree of `u D(u)`; the numbers grow like `d + 1` too.
pub fn oracle_cost<F: Scalar>(model: &Model, gram: &Mat<F>) -> f64 {
    let d1 = model
        .values
        .density_polynomial()
        .map_or(1.0, |d| d.len() as f64 + 1.0);
    components(gram)
        .iter()
        .map(|comp| {
            let k = comp.len() as i32;
            comp.iter()
                .map(|&i| {
                    let n = comp
                        .iter()
                        .filter(|&&j| !gram.get(i, j).is_zero() || j == i)
                        .count() as i32;
                    2f64.powi(k - n)
                        * 3f64.powi(n)
                        * (2.0 * model.p as f64 + n as f64 * d1)
                        * d1
                        * d1
                })
                .sum::<f64>()
        })
        .sum()
}

/// Why [`oracle_polynomial`] refuses this Gram matrix (`None`: it computes it): more than
/// [`ORACLE_MAX_N`] coupled features, or an estimated cost above [`ORACLE_MAX_COST`].
pub fn oracle_refusal<F: Scalar>(model: &Model, gram: &Mat<F>) -> Option<String> {
    let big = components(gram).iter().map(Vec::len).max().unwrap_or(0);
    if big > ORACLE_MAX_N {
        return Some(format!(
            "the exact support-sum loss takes time growing like 3^k for k coupled features; \
             {big} are coupled here, above the limit {ORACLE_MAX_N}"
        ));
    }
    let cost = oracle_cost(model, gram);
    if cost > ORACLE_MAX_COST {
        return Some(format!(
            "the exact support-sum loss of {big} coupled features with values {} and p = {} has \
             estimated cost {cost:.2e}, above the limit {ORACLE_MAX_COST:.1e} (fewer coupled \
             features or a lower-degree value distribution)",
            model.values, model.p
        ));
    }
    None
}

/// The exact loss as a polynomial in the density, for either activation: the sum over the
/// components `C` of `G` of `sum_k T_k^C s^k (1-s)^{|C|-k}` (degree `<= n`). Refuses what
/// [`oracle_refusal`] refuses (a component larger than `ORACLE_MAX_N`, or too costly).
pub fn oracle_polynomial<F: Scalar>(
    model: &Model,
    gram: &Mat<F>,
    bias: Option<&[F]>,
    importance: Option<&[F]>,
) -> Result<Poly<F>> {
    if let Some(why) = oracle_refusal(model, gram) {
        return Err(Error::too_large(why));
    }
    let comps = components(gram);
    let mut total = Poly(vec![F::zero(); gram.rows + 1]);
    for comp in comps {
        let sub = Mat::from_fn(comp.len(), comp.len(), |a, b| {
            gram.get(comp[a], comp[b]).clone()
        });
        let pick = |v: &[F]| comp.iter().map(|&i| v[i].clone()).collect::<Vec<F>>();
        let (b, imp) = (bias.map(pick), importance.map(pick));
        let totals = support_totals(model, &sub, b.as_deref(), imp.as_deref(), comp.len());
        let poly = weigh_supports(comp.len(), &totals);
        for (k, c) in poly.0.iter().enumerate() {
            total.0[k] = total.0[k].add(c);
        }
    }
    Ok(total)
}

/// Whether [`oracle_polynomial`] accepts this Gram matrix.
pub fn oracle_applies<F: Scalar>(model: &Model, gram: &Mat<F>) -> bool {
    oracle_refusal(model, gram).is_none()
}

/// `sum_k T_k s^k (1-s)^{n-k}` expanded in powers of `s`, for the given totals `T_0..T_K`.
/// With `K < n` the coefficients of `s^0..s^K` are still exact (larger supports start at `s^{K+1}`).
pub fn weigh_supports<F: Scalar>(n: usize, totals: &[F]) -> Poly<F> {
    let mut coeffs = vec![F::zero(); n + 1];
    for (k, tk) in totals.iter().enumerate() {
        // s^k (1-s)^{n-k} = sum_r C(n-k, r) (-1)^r s^{k+r}
        for r in 0..=(n - k) {
            let sign = if r % 2 == 0 { 1 } else { -1 };
            let c = F::from_bigint(&(binomial((n - k) as u32, r as u32) * BigInt::from(sign)));
            coeffs[k + r] = coeffs[k + r].add(&c.mul(tk));
        }
    }
    Poly(coeffs)
}

/// The first-order coefficient `L1 = T_1 - n T_0` exactly, for either activation, with bias:
/// only supports of size `<= 1` contribute to `s^1`.
pub fn first_order_by_supports<F: Scalar>(
    model: &Model,
    gram: &Mat<F>,
    bias: Option<&[F]>,
    importance: Option<&[F]>,
) -> F {
    let totals = support_totals(model, gram, bias, importance, 1);
    weigh_supports(gram.rows, &totals).coeff(1)
}

/// Exact loss at one density through the oracle (rational arithmetic).
pub fn oracle_loss(
    model: &Model,
    gram: &Mat<BigRational>,
    bias: Option<&[BigRational]>,
    importance: Option<&[BigRational]>,
    s: &BigRational,
) -> Result<BigRational> {
    Ok(oracle_polynomial(model, gram, bias, importance)?.eval(s))
}
