//! The closed-form quantities of the theory, evaluated exactly from the model alone
//! (THEORY.md, "Constants", "Theorem 1", "Theorem 3", "Exact lower bound at every density").
//! The bounds registry states them; the kernel re-evaluates them when it checks a table row.

use crate::kernel::arith::Ring;
use crate::kernel::gegenbauer::kappa;
use crate::kernel::model::{Model, Setting};
use num_bigint::BigInt;
use num_rational::BigRational;

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

/// `c_p = mu_{p+1}^2 / mu_{2p}`: the most loss one isolated feature can save
/// (`l(d) >= mu_2 - c_p`, equality at `d^p = mu_{p+1} / mu_{2p}`).
pub fn c_p(model: &Model) -> BigRational {
    let a = model.mu(model.p + 1);
    &a * &a / model.mu(2 * model.p)
}

/// The single-support factor `s (1-s)^{n-1}`: the probability of exactly one given feature
/// active, which turns any first-order lower bound into one at density `s`
/// (`L(W; s) >= s (1-s)^{n-1} L1(W)`).
pub fn single_support(s: &BigRational, n: usize) -> BigRational {
    s * Ring::pow(&(q(1, 1) - s), (n - 1) as u32)
}

/// The self bound `n (mu_2 - c_p)`: every feature alone saves at most `c_p` (both activations).
pub fn self_first_order(st: &Setting) -> BigRational {
    q(st.n as i64, 1) * (st.model.mu(2) - c_p(&st.model))
}

/// Theorem 1's value `n mu_2 - c_p min(n, kappa_{m,p})` (power activation).
pub fn theorem1_first_order(model: &Model, n: usize, m: usize) -> BigRational {
    let nq = q(n as i64, 1);
    let cap = kappa(m, model.p);
    let eff = if nq < cap { nq.clone() } else { cap };
    nq * model.mu(2) - c_p(model) * eff
}

/// `n mu_2 - c_p min(n, m)`: the first-order optimum over orthogonal `W` (Theorem 3).
pub fn orthogonal_first_order(st: &Setting) -> BigRational {
    q(st.n as i64, 1) * st.model.mu(2) - c_p(&st.model) * q(st.n.min(st.m) as i64, 1)
}

/// The linear autoencoder's optimum (power `p = 1`, Eckart–Young): at density `s`,
/// `(n - m)^+ (s mu_2 - s^2 mu_1^2)`; at first order (`None`), `(n - m)^+ mu_2`.
pub fn linear_optimum(st: &Setting, density: Option<&BigRational>) -> BigRational {
    let k = q(st.n.saturating_sub(st.m) as i64, 1);
    let (mu1, mu2) = (st.model.mu(1), st.model.mu(2));
    match density {
        None => k * mu2,
        Some(s) => k * (s * mu2 - s * s * &mu1 * &mu1),
    }
}
