//! The floor e_sigma: phi against independent quadrature, certified values near the numeric
//! minima, p = 1 and point-mass values exactly 0, and targets above the minimum refused.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use superbound::kernel::floor::*;
use superbound::search::floor::*;

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

fn f(x: &BigRational) -> f64 {
    x.to_f64().unwrap()
}

/// Independent f64 value of phi: composite 3-point Gauss-Legendre on [0,1],
/// split at the kink of the rect activation, with sigma and the density
/// evaluated pointwise (no moment expansion).
fn quad_phi(act: Act, p: u32, law: &Law, g: f64, r: f64) -> f64 {
    let sig = |t: f64| match act {
        Act::Rect if t <= 0.0 => 0.0,
        _ => t.powi(p as i32),
    };
    let dens = |u: f64| match law {
        Law::Uniform => 1.0,
        Law::Beta(a, b) => {
            let fact = |n: u32| (1..=n).map(|i| i as f64).product::<f64>();
            let inv_b = fact(a + b - 1) / (fact(a - 1) * fact(b - 1));
            u.powi(*a as i32 - 1) * (1.0 - u).powi(*b as i32 - 1) * inv_b
        }
        Law::One => unreachable!(),
    };
    if *law == Law::One {
        return (1.0 - sig(g + r)).powi(2);
    }
    let mut cuts = vec![0.0, 1.0];
    if g != 0.0 {
        let u0 = -r / g;
        if u0 > 0.0 && u0 < 1.0 {
            cuts.insert(1, u0);
        }
    }
    let nodes = [-(0.6f64).sqrt(), 0.0, (0.6f64).sqrt()];
    let weights = [5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0];
    let mut total = 0.0;
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let m = 4000;
        let h = (b - a) / m as f64;
        for k in 0..m {
            let c = a + (k as f64 + 0.5) * h;
            for (x, wt) in nodes.iter().zip(weights) {
                let u = c + x * h / 2.0;
                let e = u - sig(g * u + r);
                total += wt * h / 2.0 * e * e * dens(u);
            }
        }
    }
    total
}

#[test]
fn phi_exact_matches_quadrature() {
    let pts = [
        (q(7078, 10000), q(3255, 10000)),
        (q(-3, 2), q(1, 3)),
        (q(5, 4), q(-1, 2)),
        (q(2, 1), q(-7, 4)),
        (q(-1, 3), q(-1, 5)),
        (q(0, 1), q(1, 2)),
    ];
    for law in [Law::Uniform, Law::Beta(2, 3), Law::Beta(1, 4), Law::One] {
        for act in [Act::Power, Act::Rect] {
            for p in [1, 2, 3, 5] {
                for (g, r) in &pts {
                    let ex = f(&phi_exact(act, p, &law, g, r));
                    let nu = quad_phi(act, p, &law, f(g), f(r));
                    assert!(
                        (ex - nu).abs() <= 1e-12 * (1.0 + nu.abs()),
                        "{act:?} {p} {law:?} ({g},{r}): {ex} vs {nu}"
                    );
                }
            }
        }
    }
}

#[test]
fn moments_closed_form() {
    // E U^k for Beta(2,3): 2/5, 1/5 = 2*3/(5*6)
    let m = moments(&Law::Beta(2, 3), 2);
    assert_eq!(m, vec![q(1, 1), q(2, 5), q(1, 5)]);
    // phi(0, 0) = E U^2 for every activation and law
    for law in [Law::Uniform, Law::Beta(2, 3), Law::Beta(3, 1)] {
        let mu2 = moments(&law, 2)[2].clone();
        for act in [Act::Power, Act::Rect] {
            assert_eq!(phi_exact(act, 3, &law, &q(0, 1), &q(0, 1)), mu2);
        }
    }
}

fn check_auto(act: Act, p: u32, law: Law, lo: f64, hi: f64) -> FloorCertificate {
    let c = certify_auto(act, p, &law, 5e-5, DEFAULT_MAX_BOXES).unwrap();
    let e = f(&c.e_lb);
    assert!(e >= lo && e <= hi, "{act:?} {p}: e_lb = {e}");
    let (g, r, v) = c.witness.clone().unwrap();
    assert_eq!(v, phi_exact(act, p, &law, &g, &r));
    assert!(v >= c.e_lb, "witness below the certified floor?!");
    assert!(f(&v) <= e * 1.001);
    // the certified relative gap is the requested 5e-5 (up to rounding)
    assert!((f(&v) - e) / f(&v) < 1e-4);
    c
}

#[test]
fn power2_uniform() {
    let c = check_auto(Act::Power, 2, Law::Uniform, 0.00152, 0.0015273);
    assert!(c.boxes > 0);
}

#[test]
fn rect2_uniform() {
    check_auto(Act::Rect, 2, Law::Uniform, 0.00152, 0.0015273);
}

#[test]
fn power3_uniform() {
    check_auto(Act::Power, 3, Law::Uniform, 0.00247, 0.0024754);
}

#[test]
fn rect3_uniform() {
    check_auto(Act::Rect, 3, Law::Uniform, 0.00247, 0.0024754);
}

#[test]
fn beta23_p2() {
    check_auto(Act::Power, 2, Law::Beta(2, 3), 0.00072, 0.0007234);
    check_auto(Act::Rect, 2, Law::Beta(2, 3), 0.00072, 0.0007234);
}

#[test]
fn p1_and_one_are_zero() {
    for act in [Act::Power, Act::Rect] {
        for law in [Law::Uniform, Law::Beta(2, 3), Law::One] {
            let c = certify_auto(act, 1, &law, 5e-5, 1000).unwrap();
            assert!(c.e_lb.is_zero());
            // any positive target is refused
            assert!(certify_floor(act, 1, &law, &q(1, 1_000_000_000)).is_err());
        }
        for p in 1..=6 {
            let c = certify_auto(act, p, &Law::One, 5e-5, 1000).unwrap();
            assert!(c.e_lb.is_zero());
            assert!(certify_floor(act, p, &Law::One, &q(1, 1_000_000_000)).is_err());
            assert!(certify_floor(act, p, &Law::One, &q(0, 1)).is_ok());
        }
    }
}

#[test]
fn too_high_target_is_refused() {
    let t = q(16, 10000);
    // phi at a known rational point is below 0.0016 ...
    for act in [Act::Power, Act::Rect] {
        assert!(phi_exact(act, 2, &Law::Uniform, &q(7078, 10000), &q(3255, 10000)) < t);
        // ... so the certifier must refuse it
        let e = certify_floor(act, 2, &Law::Uniform, &t).unwrap_err();
        assert!(e.contains("refuted"), "{e}");
    }
    // a target only 1e-9 above the exact value at the numeric minimiser
    let (g, r, _) = numeric_minimum(Act::Power, 2, &Law::Uniform, 6.0);
    let v = phi_exact(
        Act::Power,
        2,
        &Law::Uniform,
        &rationalize(g, 40),
        &rationalize(r, 40),
    );
    let t = v + q(1, 1_000_000_000);
    assert!(certify_floor(Act::Power, 2, &Law::Uniform, &t).is_err());
    // the exact branch and bound alone (no f64 pre-check) also refuses
    for (act, t) in [
        (Act::Power, q(16, 10000)),
        (Act::Rect, q(16, 10000)),
        (Act::Power, t.clone()),
        (Act::Rect, t),
    ] {
        match certify_floor_with_limit(act, 2, &Law::Uniform, &t, 50_000) {
            Err(FloorError::Refuted { g, r, value }) => {
                assert!(value < t);
                assert_eq!(value, phi_exact(act, 2, &Law::Uniform, &g, &r));
            }
            Err(FloorError::Other(m)) => panic!("expected a refutation, got {m}"),
            Ok(_) => panic!("false target certified!"),
        }
    }
}

#[test]
fn explicit_targets() {
    // nonpositive targets are trivial
    let c = certify_floor(Act::Rect, 3, &Law::Uniform, &q(0, 1)).unwrap();
    assert_eq!(c.boxes, 0);
    // a short rational below the known value is certified
    let c = certify_floor(Act::Power, 2, &Law::Uniform, &q(1527, 1_000_000)).unwrap();
    assert!(c.boxes > 0 && c.coercivity.is_some());
    // bad arguments
    assert!(certify_floor(Act::Power, 7, &Law::Uniform, &q(0, 1)).is_err());
    assert!(certify_floor(Act::Power, 2, &Law::Beta(0, 2), &q(0, 1)).is_err());
}
