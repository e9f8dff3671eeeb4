//! Untrusted search: it proposes, the kernel decides. The optimiser (the adversary of every
//! lower bound), the LP solver that proposes certificates, the explicit constructions that
//! propose witnesses, and Monte Carlo estimates. Nothing here is believed without an exact
//! re-check by [`crate::kernel`].

pub mod constructions;
pub mod floor;
pub mod lp;
pub mod montecarlo;
pub mod optimise;
pub mod quadrature;
pub mod saa;
pub mod store;

/// Golden-section search for the minimum of a unimodal-ish `f` on `[lo, hi]`.
pub fn golden_section(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64, iters: usize) -> f64 {
    let r = (5f64.sqrt() - 1.0) / 2.0;
    let (mut x1, mut x2) = (hi - r * (hi - lo), lo + r * (hi - lo));
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..iters {
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - r * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + r * (hi - lo);
            f2 = f(x2);
        }
    }
    (lo + hi) / 2.0
}
