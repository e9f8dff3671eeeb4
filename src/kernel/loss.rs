//! The exact expected loss (THEORY.md, "Exact loss for the power activation" and "The very
//! sparse expansion").
//!
//! # Two engines
//!
//! For output `i` write `z_i = g x_i + R_i` with `g = G_ii` and `R_i = sum_{j != i} G_ij x_j + b_i`,
//! independent of `x_i`. Then `E(x_i - z_i^p)^2 = s mu_2 - 2 E[x_i z_i^p] + E[z_i^{2p}]` with
//!
//! ```text
//! E[x_i z_i^p]  = sum_{r=0}^{p}  C(p,r)  g^r E[x^{r+1}] E[R_i^{p-r}]
//! E[z_i^{2p}]   = sum_{r=0}^{2p} C(2p,r) g^r E[x^r]     E[R_i^{2p-r}],   E[x^r] = s mu_r (r >= 1).
//! ```
//!
//! **Generic ([`power_loss`], any field, the cross-check).** The moments of `R_i` by multiplying
//! the moment generating series `B(z) = E[e^{z R_i}] = e^{z b_i} prod_{j != i}
//! (1 + s sum_{r>=1} mu_r G_ij^r z^r / r!)` factor by factor, truncated at `z^{2p}`: `O(n p^2)`
//! field operations a row.
//!
//! **Fraction-free ([`power_loss_and_polynomial`], exact).** Cumulants add over independent
//! terms, so the cumulants of `R_i` are `K_1 = kappa_1 S_1 + b_i` and `K_k = kappa_k S_k`, with
//! `kappa_k` the cumulants of one input `x = B U` (polynomials in `s` of degree `<= k`, no
//! constant term) and `S_k = sum_{j != i} G_ij^k` the row's power sums; the moments follow from
//! `M_0 = 1`, `M_k = sum_{j=1}^{k} C(k-1,j-1) K_j M_{k-j}` (from `M' = K' M`, `M = e^K`). So a row
//! costs `2p` power sums over `n` entries plus a recursion whose size does not depend on `n`.
//! The recursion is homogeneous (weight `k` for `K_k`, `M_k`), so with `c` the common
//! denominator of `mu_1..mu_{2p}`, `D` one of `G` and `b`, and everything scaled by
//! `(c D)^k`, every quantity is an integer polynomial in `s` (`power_numerator`): integers
//! throughout, one normalisation per output value.

use crate::kernel::arith::{Poly, Ring, Scalar, Wrapping, binomial, common_denominator, factorial};
use crate::kernel::error::{Error, Result};
use crate::kernel::model::{Activation, Mat, Model, Weights};
use crate::kernel::oracle::{oracle_applies, oracle_polynomial};
use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::Signed;

/// The series coefficients of one model in a field `F` (see the module doc, "Generic").
pub struct Convolution<R> {
    p: usize,
    /// `t_r = s mu_r / r!` (`r = 1..=2p`; index 0 unused): the factor of feature `j` in `B` and
    /// the series `A(z) = E[e^{z g x_i}]` are `1 + sum_r t_r g^r z^r`.
    t: Vec<R>,
    /// `u_r = s mu_{r+1} / r!` (`r = 0..=p`): `C(z) = E[x_i e^{z g x_i}] = sum_r u_r g^r z^r`.
    u: Vec<R>,
    /// `e_r = 1 / r!` (`r = 0..=2p`): the bias factor `e^{z b}` is `sum_r e_r b^r z^r`.
    e: Vec<R>,
    /// The Gram matrix.
    g: Mat<R>,
    /// The bias.
    bias: Option<Vec<R>>,
    /// Importance weights (`None`: all 1).
    weight: Option<Vec<R>>,
}

/// Sums over the outputs `i` of one model: `weight = sum I_i`, `cross = sum I_i [z^p] C B`,
/// `square = sum I_i [z^{2p}] A B`.
#[derive(Clone, Debug)]
pub struct Sums<R> {
    pub weight: R,
    pub cross: R,
    pub square: R,
}

impl<R: Ring> Convolution<R> {
    /// Multiplies the truncated series `b` (with `b_0 = 1`) in place by
    /// `1 + sum_{r>=1} coef_r x^r y^r`, using Horner in `x`:
    /// `sum_{r=1}^{k} coef_r x^r b_{k-r} = x (coef_1 b_{k-1} + x (coef_2 b_{k-2} + ... + x coef_k))`,
    /// so every product has one small factor (`x` or `coef_r`).
    fn multiply_in(b: &mut [R], coef: &[R], x: &R) {
        for k in (1..b.len()).rev() {
            let mut acc = coef[k].clone(); // coef_k b_0, b_0 = 1
            for r in (1..k).rev() {
                acc = acc.mul(x);
                acc.add_mul(&coef[r], &b[k - r]);
            }
            b[k].add_mul(&acc, x);
        }
    }

    /// The series `B` of output `i`: coefficients of `y^0..y^{2p}`.
    fn row_series(&self, i: usize) -> Vec<R> {
        let mut b = vec![R::zero(); 2 * self.p + 1];
        b[0] = R::one();
        for (j, gij) in self.g.row(i).iter().enumerate() {
            if j != i && !gij.is_zero() {
                Self::multiply_in(&mut b, &self.t, gij);
            }
        }
        if let Some(beta) = self.bias.as_ref().map(|bias| &bias[i])
            && !beta.is_zero()
        {
            Self::multiply_in(&mut b, &self.e, beta);
        }
        b
    }

    /// `[z^p] C B` and `[z^{2p}] A B` of output `i`.
    fn row(&self, i: usize) -> (R, R) {
        let (p, k2) = (self.p, 2 * self.p);
        let b = self.row_series(i);
        let dp = self.g.get(i, i).powers(k2);
        let mut square = b[k2].clone();
        for r in 1..=k2 {
            square.add_mul(&self.t[r].mul(&dp[r]), &b[k2 - r]);
        }
        let mut cross = R::zero();
        for r in 0..=p {
            cross.add_mul(&self.u[r].mul(&dp[r]), &b[p - r]);
        }
        (cross, square)
    }

    /// The importance-weighted sums over all outputs.
    pub fn sums(&self) -> Sums<R> {
        let mut out = Sums {
            weight: R::zero(),
            cross: R::zero(),
            square: R::zero(),
        };
        for i in 0..self.g.rows {
            let (cross, square) = self.row(i);
            match &self.weight {
                None => {
                    out.weight = out.weight.add(&R::one());
                    out.cross = out.cross.add(&cross);
                    out.square = out.square.add(&square);
                }
                Some(w) => {
                    out.weight = out.weight.add(&w[i]);
                    out.cross.add_mul(&w[i], &cross);
                    out.square.add_mul(&w[i], &square);
                }
            }
        }
        out
    }
}

impl<F: Scalar> Sums<F> {
    /// `L = W s mu_2 - 2 p! X + (2p)! Y`, with `W, X, Y` the weight, cross and square sums.
    pub fn assemble(&self, p: u32, mu2: &F, s: &F) -> F {
        let self_term = self.weight.mul(s).mul(mu2);
        let cross = F::from_bigint(&(factorial(p) * 2)).mul(&self.cross);
        let square = F::from_bigint(&factorial(2 * p)).mul(&self.square);
        self_term.sub(&cross).add(&square)
    }
}

/// The convolution of a field `F` at density `s`.
fn field_convolution<F: Scalar>(
    model: &Model,
    gram: &Mat<F>,
    bias: Option<&[F]>,
    importance: Option<&[F]>,
    s: &F,
) -> Convolution<F> {
    let p = model.p as usize;
    let k2 = 2 * p;
    let mu_over_fact = |r: usize| {
        F::from_rational(&(model.mu(r as u32) / BigRational::from_integer(factorial(r as u32))))
    };
    let mut t = vec![F::zero(); k2 + 1];
    for (r, tr) in t.iter_mut().enumerate().skip(1) {
        *tr = s.mul(&mu_over_fact(r));
    }
    let u = (0..=p)
        .map(|r| F::from_i64(r as i64 + 1).mul(s).mul(&mu_over_fact(r + 1)))
        .collect();
    let e = (0..=k2)
        .map(|r| F::one().div(&F::from_bigint(&factorial(r as u32))))
        .collect();
    Convolution {
        p,
        t,
        u,
        e,
        g: gram.clone(),
        bias: bias.map(<[F]>::to_vec),
        weight: importance.map(<[F]>::to_vec),
    }
}

/// Exact loss of the power activation in any field `F` (`f64`, `rug::Rational`, ...):
/// `L(W; s) = sum_i I_i E(x_i - (G x + b)_i^p)^2`. Bias and importance optional.
pub fn power_loss<F: Scalar>(
    model: &Model,
    gram: &Mat<F>,
    bias: Option<&[F]>,
    importance: Option<&[F]>,
    s: &F,
) -> F {
    debug_assert_eq!(model.act, Activation::Power);
    let conv = field_convolution(model, gram, bias, importance, s);
    let mu2 = F::from_rational(&model.mu(2));
    conv.sums().assemble(model.p, &mu2, s)
}

/// `x * den` for a `den` that `x`'s denominator divides: an exact integer, without a gcd.
fn scale_to_integer(x: &BigRational, den: &BigInt) -> BigInt {
    x.numer() * (den / x.denom())
}

fn require_power(model: &Model) -> Result<()> {
    if model.act != Activation::Power {
        return Err(Error::input(
            "the closed-form loss is for the power activation; use the support oracle for rect",
        ));
    }
    Ok(())
}

/// `out += a b` for polynomials in `s` (`s^0` first; `out` long enough).
fn add_product<R: Ring>(out: &mut [R], a: &[R], b: &[R]) {
    for (q, x) in a.iter().enumerate() {
        if x.is_zero() {
            continue;
        }
        for (r, y) in b.iter().enumerate() {
            if !y.is_zero() {
                out[q + r].add_mul(x, y);
            }
        }
    }
}

/// The integer inputs of the row sums (see [`power_numerator`]).
struct Rows {
    p: usize,
    /// `g = D G`.
    g: Mat<BigInt>,
    /// `C(k-1,j-1) c^j kappa_j` at `[k][j-1]` (`1 <= j <= k <= 2p`), polynomials in `s`.
    scaled: Vec<Vec<Vec<BigInt>>>,
    /// `c D b_i`.
    beta: Option<Vec<BigInt>>,
    /// `iota_i = J I_i` (all 1 without importance).
    iota: Vec<BigInt>,
    /// `C(p,r) w_{r+1}` (`r = 0..=p`) and `C(2p,r) w_r` (`r = 0..=2p`).
    fx: Vec<BigInt>,
    fy: Vec<BigInt>,
}

impl Rows {
    /// `(sum_i iota_i X_i, sum_i iota_i Y_i)` computed in the ring `R`, mapped back by `back`.
    fn sums<R: Ring>(&self, back: impl Fn(&R) -> BigInt) -> (Vec<BigInt>, Vec<BigInt>) {
        let (p, k2) = (self.p, 2 * self.p);
        let emb = |v: &[BigInt]| -> Vec<R> { v.iter().map(R::from_bigint).collect() };
        let g = self.g.map(R::from_bigint);
        // |g_ij| and the signs: powers of a magnitude stay short in a fixed-width ring.
        let g_abs = self.g.map(|x| R::from_bigint(&x.abs()));
        let scaled: Vec<Vec<Vec<R>>> = (self.scaled.iter())
            .map(|row| row.iter().map(|v| emb(v)).collect())
            .collect();
        let beta = self.beta.as_deref().map(emb);
        let (iota, fx, fy) = (emb(&self.iota), emb(&self.fx), emb(&self.fy));
        let (mut xs, mut ys) = (vec![R::zero(); k2 + 1], vec![R::zero(); k2 + 1]);
        for i in 0..g.rows {
            // The power sums S_k = sum_{j != i} g_ij^k.
            let mut sums = vec![R::zero(); k2 + 1];
            for (j, x) in g_abs.row(i).iter().enumerate() {
                if j != i && !x.is_zero() {
                    let negative = self.g.get(i, j).is_negative();
                    let mut pw = x.clone();
                    for (k, sk) in sums.iter_mut().enumerate().skip(1) {
                        *sk = if negative && k % 2 == 1 {
                            sk.sub(&pw)
                        } else {
                            sk.add(&pw)
                        };
                        if k < k2 {
                            pw = pw.mul(x);
                        }
                    }
                }
            }
            // (c D)^j K_j = c^j kappa_j S_j (+ c D b_i at j = 1) and (c D)^k M_k, with
            // S_j M_{k-j} formed first.
            let mut mom = vec![vec![R::one()]];
            for k in 1..=k2 {
                let mut mk = vec![R::zero(); k + 1];
                for j in 1..=k {
                    let sm: Vec<R> = mom[k - j].iter().map(|m| m.mul(&sums[j])).collect();
                    add_product(&mut mk, &scaled[k][j - 1], &sm);
                }
                if let Some(beta) = &beta {
                    add_product(&mut mk, std::slice::from_ref(&beta[i]), &mom[k - 1]);
                }
                mom.push(mk);
            }
            let gp = g.get(i, i).powers(k2);
            for r in 0..=p {
                let f = [R::zero(), fx[r].mul(&gp[r]).mul(&iota[i])];
                add_product(&mut xs, &f, &mom[p - r]);
            }
            add_product(&mut ys, std::slice::from_ref(&iota[i]), &mom[k2]);
            for r in 1..=k2 {
                let f = [R::zero(), fy[r].mul(&gp[r]).mul(&iota[i])];
                add_product(&mut ys, &f, &mom[k2 - r]);
            }
        }
        (
            xs.iter().map(&back).collect(),
            ys.iter().map(&back).collect(),
        )
    }

    /// An upper bound on `|coefficient|` of both sums, from `l1` norms (`|a b|_1 <= |a|_1 |b|_1`):
    /// `|S_k|_1 <= n G^k` (`G` the largest `|g_ij|`), `|M_k|_1 <= m_k` with
    /// `m_k = sum_j |scaled_kj|_1 n G^j m_{k-j} + B m_{k-1}` (`B` the largest `|c D b_i|`).
    fn bound(&self) -> BigInt {
        let (p, k2) = (self.p, 2 * self.p);
        let largest = |v: &[BigInt]| v.iter().map(Signed::abs).max().unwrap_or_else(BigInt::zero);
        let n = BigInt::from(self.g.rows);
        let big_g = largest(&self.g.data);
        let big_b = self.beta.as_deref().map_or_else(BigInt::zero, largest);
        let l1 = |v: &[BigInt]| v.iter().map(Signed::abs).sum::<BigInt>();
        let gk = big_g.powers(k2);
        let mut m = vec![BigInt::one()];
        for k in 1..=k2 {
            let mut mk = &big_b * &m[k - 1];
            for j in 1..=k {
                mk += l1(&self.scaled[k][j - 1]) * &n * &gk[j] * &m[k - j];
            }
            m.push(mk);
        }
        let x: BigInt = (0..=p).map(|r| self.fx[r].abs() * &gk[r] * &m[p - r]).sum();
        let y: BigInt = (1..=k2)
            .map(|r| self.fy[r].abs() * &gk[r] * &m[k2 - r])
            .sum();
        n * largest(&self.iota) * x.max(y + &m[k2])
    }

    /// [`Rows::sums`] in the smallest [`Wrapping`] ring the bound allows (exact: the sums lie in
    /// its range), else in `BigInt`.
    fn exact_sums(&self) -> (Vec<BigInt>, Vec<BigInt>) {
        let bits = self.bound().bits() + 1;
        match bits.div_ceil(64) {
            0..=2 => self.sums::<Wrapping<2>>(Wrapping::to_bigint),
            3..=4 => self.sums::<Wrapping<4>>(Wrapping::to_bigint),
            5..=6 => self.sums::<Wrapping<6>>(Wrapping::to_bigint),
            7..=8 => self.sums::<Wrapping<8>>(Wrapping::to_bigint),
            9..=12 => self.sums::<Wrapping<12>>(Wrapping::to_bigint),
            13..=16 => self.sums::<Wrapping<16>>(Wrapping::to_bigint),
            _ => self.sums::<BigInt>(BigInt::clone),
        }
    }
}

/// The loss as `N(s) / den`, `N` an integer polynomial of length `2p + 1` (module doc,
/// "Fraction-free"). With `c` the common denominator of `mu_1..mu_{2p}`, `w_r = c^r mu_r`,
/// `W = V / E` (`V` integral), `D = lcm(E^2, denominators of b)`, `g = D G` and `beta = D b`
/// integral: `c^k kappa_k` are integer polynomials in `s` (each coefficient of `s^q` in `kappa_k`
/// is a sum of products of `q` moments `mu`), so are the cumulants `(c D)^k K_k` and moments
/// `(c D)^k M_k` of `c D R_i`, and
///
/// ```text
/// X_i = (c D)^p c E[x_i z_i^p]    = sum_{r=0}^{p}  C(p,r)  g_ii^r s w_{r+1} (cD)^{p-r} M_{p-r}
/// Y_i = (c D)^{2p} E[z_i^{2p}]    = (cD)^{2p} M_{2p} + sum_{r=1}^{2p} C(2p,r) g_ii^r s w_r (cD)^{2p-r} M_{2p-r}
/// L J c^{2p} D^{2p} = sum_i iota_i (s w_2 c^{2p-2} D^{2p} - 2 c^{p-1} D^p X_i + Y_i)
/// ```
///
/// with `I = iota / J` (`iota` integral). The sums over `i` are computed in a fixed-width ring
/// where a bound shows they fit ([`Rows::exact_sums`]).
fn power_numerator(model: &Model, weights: &Weights) -> (Vec<BigInt>, BigInt) {
    let (p, k2) = (model.p as usize, 2 * model.p as usize);
    let mus: Vec<BigRational> = (0..=k2 as u32).map(|r| model.mu(r)).collect();
    let c = common_denominator(&mus);
    let w: Vec<BigInt> = (mus.iter().zip(c.powers(k2)))
        .map(|(mu, ck)| scale_to_integer(mu, &ck))
        .collect();
    let binom: Vec<Vec<BigInt>> = (0..=k2 as u32)
        .map(|k| (0..=k).map(|j| binomial(k, j)).collect())
        .collect();
    // c^k kappa_k = s w_k - sum_{j<k} C(k-1,j-1) (c^j kappa_j) s w_{k-j}
    let mut kappa = vec![vec![BigInt::zero()]];
    for k in 1..=k2 {
        let mut kk = vec![BigInt::zero(); k + 1];
        kk[1] = w[k].clone();
        for j in 1..k {
            let f = &binom[k - 1][j - 1] * &w[k - j];
            for (q, x) in kappa[j].iter().enumerate() {
                kk[q + 1] -= x * &f;
            }
        }
        kappa.push(kk);
    }
    let (mut g, e) = weights.integer_gram();
    let e2 = &e * &e;
    let d = e2.lcm(&common_denominator(weights.bias.iter().flatten()));
    if d != e2 {
        let f = &d / &e2;
        g = g.map(|x| x * &f);
    }
    let importance_den = (weights.importance.as_ref()).map_or_else(BigInt::one, common_denominator);
    let iota: Vec<BigInt> = match &weights.importance {
        Some(imp) => imp
            .iter()
            .map(|x| scale_to_integer(x, &importance_den))
            .collect(),
        None => vec![BigInt::one(); g.rows],
    };
    let weight: BigInt = iota.iter().sum();
    let rows = Rows {
        p,
        scaled: (0..=k2)
            .map(|k| {
                (1..=k)
                    .map(|j| kappa[j].iter().map(|x| x * &binom[k - 1][j - 1]).collect())
                    .collect()
            })
            .collect(),
        beta: (weights.bias.as_ref())
            .map(|b| b.iter().map(|x| &c * scale_to_integer(x, &d)).collect()),
        iota,
        fx: (0..=p).map(|r| &binom[p][r] * &w[r + 1]).collect(),
        fy: (0..=k2).map(|r| &binom[k2][r] * &w[r]).collect(),
        g,
    };
    let (x_sum, y_sum) = rows.exact_sums();
    let (cp, dp) = (c.pow(model.p), d.pow(model.p));
    let x_factor = BigInt::from(2) * c.pow(model.p - 1) * &dp;
    let mut num = y_sum;
    for (nk, xk) in num.iter_mut().zip(&x_sum) {
        *nk -= xk * &x_factor;
    }
    let cd_2p = (&cp * &dp).pow(2);
    num[1] += weight * &w[2] * (&cd_2p / (&c * &c));
    (num, importance_den * cd_2p)
}

/// Exact loss of the power activation at density `s`, fraction-free (integers throughout,
/// one division at the end). Equal to `power_loss::<BigRational>` and much faster.
pub fn power_loss_exact(model: &Model, weights: &Weights, s: &BigRational) -> Result<BigRational> {
    Ok(power_loss_and_polynomial(model, weights, s)?.0)
}

/// The loss of the power activation as an exact polynomial in the density:
/// `L(W; s) = sum_{k=0}^{2p} L_k s^k` (`L_0 = sum I_i b_i^{2p}` is zero without bias).
pub fn power_loss_polynomial(model: &Model, weights: &Weights) -> Result<Poly<BigRational>> {
    require_power(model)?;
    let (num, den) = power_numerator(model, weights);
    Ok(Poly(
        num.into_iter()
            .map(|nk| BigRational::new(nk, den.clone()))
            .collect(),
    ))
}

/// The density polynomial and the exact loss at `s` from one fraction-free computation: the
/// numerator `N(s)` evaluated at `s = a / b` in integers (`N(s) = sum_k N_k a^k b^{2p-k} / b^{2p}`)
/// and each value normalised once. Equal to `(power_loss_exact, power_loss_polynomial)`.
pub fn power_loss_and_polynomial(
    model: &Model,
    weights: &Weights,
    s: &BigRational,
) -> Result<(BigRational, Poly<BigRational>)> {
    require_power(model)?;
    let (num, den) = power_numerator(model, weights);
    let deg = num.len() - 1;
    let (a_pow, b_pow) = (s.numer().powers(deg), s.denom().powers(deg));
    let at_s = (num.iter().enumerate()).fold(BigInt::zero(), |acc, (k, c)| {
        acc + c * &a_pow[k] * &b_pow[deg - k]
    });
    let loss = BigRational::new(at_s, &den * &b_pow[deg]);
    let poly = num
        .into_iter()
        .map(|nk| BigRational::new(nk, den.clone()))
        .collect();
    Ok((loss, Poly(poly)))
}

/// `l(d) = mu_2 - 2 mu_{p+1} sigma(d) + mu_{2p} sigma(d)^2`: the loss one feature, alone, makes
/// on its own output when its squared norm is `d = G_ii >= 0` (`sigma(d) = d^p`).
pub fn self_loss<F: Scalar>(model: &Model, d: &F) -> F {
    let a = model.sigma(d);
    let mu = |k: u32| F::from_rational(&model.mu(k));
    mu(2)
        .sub(&F::from_i64(2).mul(&mu(model.p + 1)).mul(&a))
        .add(&mu(2 * model.p).mul(&a).mul(&a))
}

/// The first-order coefficient `L1(W) = lim_{s->0} L(W; s)/s` without bias, both activations:
/// `L1 = sum_i I_i l(G_ii) + mu_{2p} sum_{i != j} I_i sigma(G_ij)^2`.
pub fn first_order<F: Scalar>(model: &Model, gram: &Mat<F>, importance: Option<&[F]>) -> F {
    let mu2p = F::from_rational(&model.mu(2 * model.p));
    let mut total = F::zero();
    for i in 0..gram.rows {
        let mut row = self_loss(model, gram.get(i, i));
        for j in 0..gram.cols {
            if j != i {
                let sg = model.sigma(gram.get(i, j));
                row = row.add(&mu2p.mul(&sg).mul(&sg));
            }
        }
        total = match importance {
            Some(w) => total.add(&w[i].mul(&row)),
            None => total.add(&row),
        };
    }
    total
}

/// [`first_order`] of an exact `W`, fraction-free: with `W = V / E` (`V` integral, one common
/// denominator), `G = V^T V / E^2` and `sigma(G_ij) = sigma(V^T V)_ij / E^{2p}`; with
/// `mu_k = m_k / M` (one common denominator) and `I = iota / J`,
///
/// ```text
/// L1 J M E^{4p} = sum_i iota_i ( m_2 E^{4p} - 2 m_{p+1} E^{2p} sigma(g_ii) + m_{2p} sigma(g_ii)^2
///                                + m_{2p} sum_{j != i} sigma(g_ij)^2 )
/// ```
///
/// in integers, normalised once. Equal to `first_order::<BigRational>` on `W`'s Gram matrix
/// (bias ignored, as there).
pub fn first_order_exact(model: &Model, weights: &Weights) -> BigRational {
    let p = model.p;
    let (g, e) = weights.integer_gram();
    let mus = [model.mu(2), model.mu(p + 1), model.mu(2 * p)];
    let big_m = common_denominator(&mus);
    let [m2, mp1, m2p] = mus.map(|mu| scale_to_integer(&mu, &big_m));
    let e2p = e.pow(2 * p);
    let e4p = &e2p * &e2p;
    let sigma = |t: &BigInt| match model.act {
        Activation::Power => t.pow(p),
        Activation::Rect if t.is_positive() => t.pow(p),
        Activation::Rect => BigInt::zero(),
    };
    let importance_den = weights
        .importance
        .as_ref()
        .map_or_else(BigInt::one, common_denominator);
    let self_const = &m2 * &e4p;
    let self_lin = BigInt::from(2) * &mp1 * &e2p;
    let mut total = BigInt::zero();
    for i in 0..g.rows {
        let a = sigma(g.get(i, i));
        let mut off = BigInt::zero();
        for (j, gij) in g.row(i).iter().enumerate() {
            if j != i && !Ring::is_zero(gij) {
                let sg = sigma(gij);
                off += &sg * &sg;
            }
        }
        let row = &self_const - &self_lin * &a + &m2p * (&a * &a + off);
        match &weights.importance {
            Some(w) => total += scale_to_integer(&w[i], &importance_den) * row,
            None => total += row,
        }
    }
    BigRational::new(total, importance_den * big_m * e4p)
}

/// The exact loss of a witness at density `s`, where an exact route exists.
pub fn exact_loss(model: &Model, w: &Weights, s: &BigRational) -> Option<BigRational> {
    match model.act {
        Activation::Power => power_loss_exact(model, w, s).ok(),
        Activation::Rect => {
            let g = w.exact_gram();
            let (b, imp) = (w.bias.as_deref(), w.importance.as_deref());
            oracle_applies(model, &g)
                .then(|| oracle_polynomial(model, &g, b, imp).ok().map(|p| p.eval(s)))?
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::model::Values;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(n.into(), d.into())
    }

    fn issue_example() -> Weights {
        Weights::new(Mat {
            rows: 2,
            cols: 4,
            data: vec![
                q(1, 2),
                q(-1, 3),
                q(2, 5),
                q(1, 7),
                q(1, 4),
                q(2, 3),
                q(-1, 5),
                q(3, 7),
            ],
        })
    }

    #[test]
    fn known_value_from_the_issue() {
        let model = Model::new(Activation::Power, 2, Values::Uniform).unwrap();
        let w = issue_example();
        let expected: BigRational = "7989563241137754847/15492243194265600000".parse().unwrap();
        assert_eq!(power_loss_exact(&model, &w, &q(1, 2)).unwrap(), expected);
        let slow = power_loss::<BigRational>(&model, &w.gram(), None, None, &q(1, 2));
        assert_eq!(slow, expected);
        assert_eq!(
            power_loss_polynomial(&model, &w).unwrap().eval(&q(1, 2)),
            expected
        );
    }

    #[test]
    fn single_feature_is_its_self_loss() {
        // n = 1: L = s l(d) exactly.
        let model = Model::new(Activation::Power, 3, Values::Beta(2, 3)).unwrap();
        let w = Weights::new(Mat {
            rows: 1,
            cols: 1,
            data: vec![q(4, 5)],
        });
        let s = q(1, 3);
        let d = q(16, 25);
        assert_eq!(
            power_loss_exact(&model, &w, &s).unwrap(),
            &s * self_loss(&model, &d)
        );
    }
}
