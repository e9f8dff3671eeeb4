//! The exact expected loss (THEORY.md, "Exact loss for the power activation" and "The very
//! sparse expansion").
//!
//! # Moment convolution as a product of generating functions
//!
//! For output `i` write `z_i = g x_i + R_i` with `g = G_ii` and `R_i = sum_{j != i} G_ij x_j + b_i`,
//! independent of `x_i`. With `E[e^{zY}]` the moment generating series,
//!
//! ```text
//! B(z) = E[e^{z R_i}] = e^{z b_i} prod_{j != i} (1 + s sum_{r>=1} mu_r G_ij^r z^r / r!)
//! A(z) = E[e^{z g x_i}] = 1 + s sum_{r>=1} mu_r g^r z^r / r!
//! C(z) = E[x_i e^{z g x_i}] = s sum_{r>=0} mu_{r+1} g^r z^r / r!
//! E(x_i - z_i^p)^2 = s mu_2 - 2 p! [z^p] C(z)B(z) + (2p)! [z^{2p}] A(z)B(z)
//! ```
//!
//! which is THEORY's formula with the convolution `E[(Y1+Y2)^k] = sum_r C(k,r) E[Y1^r] E[Y2^{k-r}]`
//! done on exponential generating series. Only coefficients up to `z^{2p}` are kept, so a row costs
//! `O(n p^2)` and the loss `O(n^2 p^2)`.
//!
//! # One core, three arithmetics
//!
//! [`Convolution`] holds the series' coefficients in any [`Ring`], after the substitution
//! `z = lambda y` that clears every denominator: with `s = a / b`, `G = g / D` (`g` integral),
//! `Q` a multiple of `(2p)!` with `Q mu_r / r!` integral and `kappa = b Q`, `lambda = D kappa`,
//! the factor of `j` becomes `1 + sum_r t_r g_ij^r y^r` with integral `t_r = a c_r kappa^{r-1}`,
//! `c_r = Q mu_r / r!`. So the exact engine multiplies big *integers* (no gcd in the inner loop),
//! the density polynomial is the same computation over `Poly<BigInt>` with `a = s`, `b = 1`, and a
//! field (`f64`, `rug`) runs it unscaled (`lambda = kappa = 1`). [`Sums::assemble`] divides once.

use crate::kernel::arith::{Poly, Ring, Scalar, common_denominator, factorial};
use crate::kernel::error::{Error, Result};
use crate::kernel::model::{Activation, Mat, Model, Weights};
use crate::kernel::oracle::{oracle_applies, oracle_polynomial};
use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::Signed;

/// The series coefficients of one model, scaled into a ring `R` (see the module doc).
pub struct Convolution<R> {
    p: usize,
    /// `t_r = a c_r kappa^{r-1}` (`r = 1..=2p`; index 0 unused): the factor of feature `j` in
    /// `B` and the series `A` are `1 + sum_r t_r g^r y^r`.
    t: Vec<R>,
    /// `u_r = (r+1) a c_{r+1} kappa^r` (`r = 0..=p`): `kappa C(lambda y) = sum_r u_r g^r y^r`.
    u: Vec<R>,
    /// `e_r = kappa^r / r!` (`r = 0..=2p`): the bias factor `e^{z b}` is `sum_r e_r beta^r y^r`.
    e: Vec<R>,
    /// The Gram matrix, scaled: `g = D G`.
    g: Mat<R>,
    /// The bias, scaled: `beta = D b`.
    bias: Option<Vec<R>>,
    /// Importance weights, scaled: `iota = J I` (`None`: all 1).
    weight: Option<Vec<R>>,
}

/// Sums over the outputs `i` of one model, in the ring: `weight = sum iota_i`,
/// `cross = sum iota_i [y^p] kappa C B`, `square = sum iota_i [y^{2p}] A B`.
#[derive(Clone, Debug)]
pub struct Sums<R> {
    pub weight: R,
    pub cross: R,
    pub square: R,
}

/// The scale factors of a [`Convolution`], in the field: `lambda`, `kappa`, `J`.
#[derive(Clone, Debug)]
pub struct Scale<F> {
    pub lambda: F,
    pub kappa: F,
    pub importance_den: F,
}

impl<F: Scalar> Scale<F> {
    fn unit() -> Self {
        Scale {
            lambda: F::one(),
            kappa: F::one(),
            importance_den: F::one(),
        }
    }
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

    /// `[y^p] kappa C B` and `[y^{2p}] A B` of output `i`.
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
    /// `L = (W/J) s mu_2 - 2 p! X / (J lambda^p kappa) + (2p)! Y / (J lambda^{2p})`, with
    /// `W, X, Y` the weight, cross and square sums: the loss from the scaled sums.
    pub fn assemble(&self, p: u32, mu2: &F, s: &F, scale: &Scale<F>) -> F {
        let j = &scale.importance_den;
        let lam_p = scale.lambda.pow(p);
        let self_term = self.weight.mul(s).mul(mu2).div(j);
        let cross = F::from_bigint(&(factorial(p) * 2))
            .mul(&self.cross)
            .div(&j.mul(&lam_p).mul(&scale.kappa));
        let square = F::from_bigint(&factorial(2 * p))
            .mul(&self.square)
            .div(&j.mul(&lam_p.mul(&lam_p)));
        self_term.sub(&cross).add(&square)
    }
}

/// The unscaled convolution of a field `F` at density `s` (`lambda = kappa = 1`).
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
    conv.sums().assemble(model.p, &mu2, s, &Scale::unit())
}

/// Scales an exact model into integers: returns the convolution over `R` (with the numerator of
/// the density `s_num`, an element of `R`) and the scale factors.
fn integral_convolution<R: Ring>(
    model: &Model,
    weights: &Weights,
    s_num: R,
    s_den: &BigInt,
) -> (Convolution<R>, Scale<BigInt>) {
    let p = model.p as usize;
    let k2 = 2 * p;
    let mu_over_fact: Vec<BigRational> = (0..=k2 as u32)
        .map(|r| model.mu(r) / BigRational::from_integer(factorial(r)))
        .collect();
    let q = common_denominator(&mu_over_fact).lcm(&factorial(k2 as u32));
    let q_rat = BigRational::from_integer(q.clone());
    let c: Vec<BigInt> = mu_over_fact
        .iter()
        .map(|x| (x * &q_rat).to_integer())
        .collect();
    let kappa = s_den * &q;
    // W = V / E with V integral, so G = V^T V / E^2: an integer Gram matrix, no gcds.
    let (gram_int, e_w) = weights.integer_gram();
    let d = (&e_w * &e_w).lcm(&common_denominator(weights.bias.iter().flatten()));
    let g_scale = &d / (&e_w * &e_w);
    let kp = kappa.powers(k2);
    let embed = |x: &BigInt| R::from_bigint(x);
    let mut t = vec![R::zero(); k2 + 1];
    for r in 1..=k2 {
        t[r] = s_num.mul(&embed(&(&c[r] * &kp[r - 1])));
    }
    let u = (0..=p)
        .map(|r| s_num.mul(&embed(&(BigInt::from(r + 1) * &c[r + 1] * &kp[r]))))
        .collect();
    let e = (0..=k2)
        .map(|r| embed(&(&kp[r] / factorial(r as u32))))
        .collect();
    let d_rat = BigRational::from_integer(d.clone());
    let scaled = |x: &BigRational| embed(&(x * &d_rat).to_integer());
    let g = if g_scale == BigInt::one() {
        gram_int.map(embed)
    } else {
        gram_int.map(|x| embed(&(x * &g_scale)))
    };
    let importance_den = weights
        .importance
        .as_ref()
        .map_or_else(BigInt::one, common_denominator);
    let conv = Convolution {
        p,
        t,
        u,
        e,
        g,
        bias: weights
            .bias
            .as_ref()
            .map(|b| b.iter().map(scaled).collect()),
        weight: weights.importance.as_ref().map(|imp| {
            imp.iter()
                .map(|x| embed(&scale_to_integer(x, &importance_den)))
                .collect()
        }),
    };
    let scale = Scale {
        lambda: d * &kappa,
        kappa,
        importance_den,
    };
    (conv, scale)
}

/// `x * den` for a `den` that `x`'s denominator divides: an exact integer, without a gcd.
fn scale_to_integer(x: &BigRational, den: &BigInt) -> BigInt {
    x.numer() * (den / x.denom())
}

impl Sums<BigInt> {
    /// [`Sums::assemble`] in integers, with one normalisation: the loss from the integral sums
    /// when the cross and square sums carry an extra denominator `extra` (and the `s mu_2` term
    /// is `s_num / s_den`). Over the common denominator
    /// `Den = extra s_den M J lambda^{2p} kappa` (`mu_2 = m / M`) the numerator is
    /// `W s_num m extra lambda^{2p} kappa - 2 p! X s_den M lambda^p + (2p)! Y s_den M kappa`.
    fn assemble_exact(
        &self,
        p: u32,
        mu2: &BigRational,
        (s_num, s_den): (&BigInt, &BigInt),
        extra: &BigInt,
        scale: &Scale<BigInt>,
    ) -> BigRational {
        let (m, big_m) = (mu2.numer(), mu2.denom());
        let lam_p = scale.lambda.pow(p);
        let lam_2p = &lam_p * &lam_p;
        let sm = s_den * big_m;
        let self_term = &self.weight * s_num * m * extra * &lam_2p * &scale.kappa;
        let cross = factorial(p) * 2 * &self.cross * &sm * &lam_p;
        let square = factorial(2 * p) * &self.square * &sm * &scale.kappa;
        let den = extra * &sm * &scale.importance_den * lam_2p * &scale.kappa;
        BigRational::new(self_term - cross + square, den)
    }
}

fn require_power(model: &Model) -> Result<()> {
    if model.act != Activation::Power {
        return Err(Error::input(
            "the closed-form loss is for the power activation; use the support oracle for rect",
        ));
    }
    Ok(())
}

/// Exact loss of the power activation at density `s`, fraction-free (integers throughout,
/// one division at the end). Equal to `power_loss::<BigRational>` and much faster.
pub fn power_loss_exact(model: &Model, weights: &Weights, s: &BigRational) -> Result<BigRational> {
    require_power(model)?;
    let (conv, scale) = integral_convolution(model, weights, s.numer().clone(), s.denom());
    let sums = conv.sums();
    Ok(sums.assemble_exact(
        model.p,
        &model.mu(2),
        (s.numer(), s.denom()),
        &BigInt::one(),
        &scale,
    ))
}

/// The integral sums of the density polynomial (`s` symbolic) and their scale.
fn polynomial_sums(model: &Model, weights: &Weights) -> (Sums<Poly<BigInt>>, Scale<BigInt>) {
    let (conv, scale) = integral_convolution(model, weights, Poly::<BigInt>::var(), &BigInt::one());
    (conv.sums(), scale)
}

/// The density polynomial from its integral sums: each coefficient normalised once.
fn polynomial_from_sums(
    model: &Model,
    sums: &Sums<Poly<BigInt>>,
    scale: &Scale<BigInt>,
) -> Poly<BigRational> {
    let weight = sums.weight.coeff(0);
    let one = BigInt::one();
    let coeffs = (0..=2 * model.p as usize)
        .map(|k| {
            let at_k = Sums {
                weight: weight.clone(),
                cross: sums.cross.coeff(k),
                square: sums.square.coeff(k),
            };
            // The `s mu_2` term contributes to `s^1` only.
            let s_num = BigInt::from(u8::from(k == 1));
            at_k.assemble_exact(model.p, &model.mu(2), (&s_num, &one), &one, scale)
        })
        .collect();
    Poly(coeffs)
}

/// The loss of the power activation as an exact polynomial in the density:
/// `L(W; s) = sum_{k=0}^{2p} L_k s^k` (`L_0 = sum I_i b_i^{2p}` is zero without bias).
pub fn power_loss_polynomial(model: &Model, weights: &Weights) -> Result<Poly<BigRational>> {
    require_power(model)?;
    let (sums, scale) = polynomial_sums(model, weights);
    Ok(polynomial_from_sums(model, &sums, &scale))
}

/// The density polynomial and the exact loss at `s` from one fraction-free convolution: the
/// integral sums, polynomials in `s`, are evaluated at `s = a / b` in integers
/// (`X(s) = sum_k X_k a^k b^{d-k} / b^d`) and the loss normalised once. Equal to
/// `(power_loss_polynomial, power_loss_exact)`, for the price of the polynomial alone.
pub fn power_loss_and_polynomial(
    model: &Model,
    weights: &Weights,
    s: &BigRational,
) -> Result<(BigRational, Poly<BigRational>)> {
    require_power(model)?;
    let (sums, scale) = polynomial_sums(model, weights);
    let (a, b) = (s.numer(), s.denom());
    let deg = sums.cross.0.len().max(sums.square.0.len()).max(2) - 1;
    let a_pow = a.powers(deg);
    let b_pow = b.powers(deg);
    let at_s = |poly: &Poly<BigInt>| {
        poly.0
            .iter()
            .enumerate()
            .fold(BigInt::zero(), |acc, (k, c)| {
                acc + c * &a_pow[k] * &b_pow[deg - k]
            })
    };
    let at = Sums {
        weight: sums.weight.coeff(0),
        cross: at_s(&sums.cross),
        square: at_s(&sums.square),
    };
    let loss = at.assemble_exact(model.p, &model.mu(2), (a, b), &b_pow[deg], &scale);
    Ok((loss, polynomial_from_sums(model, &sums, &scale)))
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
