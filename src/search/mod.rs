//! Untrusted search: it proposes, the kernel decides. The optimiser (the adversary of every
//! lower bound), the LP solver that proposes certificates, the explicit constructions that
//! propose witnesses, and Monte Carlo estimates. Nothing here is believed without an exact
//! re-check by [`crate::kernel`].

pub mod constructions;
pub mod floor;
pub mod graphs;
pub mod lp;
pub mod montecarlo;
pub mod optimise;
pub mod quadrature;
pub mod saa;
pub mod spectral;
pub mod store;

/// The minimum of `f` on `[lo, hi]` by Brent's method (argmin's `BrentOpt`: parabolic steps,
/// golden-section ones where they fail), to the absolute tolerance `xtol` in `x`, at most `iters`
/// evaluations; the best point evaluated. A non-finite value counts as `+inf`.
pub fn brent_min(f: impl Fn(f64) -> f64, lo: f64, hi: f64, xtol: f64, iters: u64) -> f64 {
    use argmin::core::{CostFunction, Executor};
    struct OneD<F>(F);
    impl<F: Fn(f64) -> f64> CostFunction for OneD<F> {
        type Param = f64;
        type Output = f64;
        fn cost(&self, x: &f64) -> Result<f64, argmin::core::Error> {
            let v = (self.0)(*x);
            Ok(if v.is_nan() { f64::INFINITY } else { v })
        }
    }
    let solver = argmin::solver::brent::BrentOpt::new(lo, hi).set_tolerance(1e-12, xtol);
    Executor::new(OneD(f), solver)
        .configure(|state| state.max_iters(iters))
        .run()
        .ok()
        .and_then(|r| r.state().best_param)
        .unwrap_or((lo + hi) / 2.0)
}

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
