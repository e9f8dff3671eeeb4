//! The exact loss engine against its independent oracle, Monte Carlo, and the other number types.

use num_rational::BigRational;
use proptest::prelude::*;
use superbound::kernel::arith::{Poly, Scalar};
use superbound::kernel::loss::{first_order, power_loss, power_loss_exact, power_loss_polynomial};
use superbound::kernel::model::{Activation, Mat, Model, Values, Weights};
use superbound::kernel::oracle::{first_order_by_supports, oracle_loss, oracle_polynomial};
use superbound::search::montecarlo::estimate_loss;

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(n.into(), d.into())
}

fn rational() -> impl Strategy<Value = BigRational> {
    (-6i64..=6, 1i64..=7).prop_map(|(n, d)| q(n, d))
}

fn values() -> impl Strategy<Value = Values> {
    prop_oneof![
        3 => Just(Values::Uniform),
        1 => Just(Values::One),
        1 => (1u32..=3, 1u32..=3).prop_map(|(a, b)| Values::Beta(a, b)),
    ]
}

/// Random small weights: `n <= 5`, `m <= 3`, optional bias and importance.
fn weights(max_n: usize) -> impl Strategy<Value = Weights> {
    (1..=max_n, 1usize..=3, any::<bool>(), any::<bool>()).prop_flat_map(|(n, m, with_b, with_i)| {
        (
            proptest::collection::vec(rational(), n * m),
            proptest::collection::vec(rational(), n),
            proptest::collection::vec((0i64..=5, 1i64..=4).prop_map(|(a, b)| q(a, b)), n),
        )
            .prop_map(move |(data, b, imp)| Weights {
                w: Mat {
                    rows: m,
                    cols: n,
                    data,
                },
                bias: with_b.then_some(b),
                importance: with_i.then_some(imp),
            })
    })
}

fn density() -> impl Strategy<Value = BigRational> {
    (1i64..=20, 1i64..=20).prop_map(|(a, b)| q(a.min(b), a.max(b)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The moment-convolution engine equals the support-enumeration oracle exactly, with bias
    /// and importance, for every value distribution.
    #[test]
    fn power_engine_equals_oracle(w in weights(5), p in 1u32..=3, vals in values(), s in density()) {
        let model = Model::new(Activation::Power, p, vals).unwrap();
        let gram = w.w.gram();
        let b = w.bias.as_deref();
        let imp = w.importance.as_deref();
        let exact = power_loss_exact(&model, &w, &s).unwrap();
        prop_assert_eq!(&exact, &oracle_loss(&model, &gram, b, imp, &s).unwrap());
        // The polynomials agree coefficient by coefficient.
        let poly = power_loss_polynomial(&model, &w).unwrap();
        let oracle = oracle_polynomial(&model, &gram, b, imp).unwrap();
        for k in 0..=(w.n().max(2 * p as usize)) {
            prop_assert_eq!(poly.coeff(k), oracle.coeff(k), "coefficient of s^{}", k);
        }
        prop_assert_eq!(poly.eval(&s), exact);
    }

    /// Structure of the density polynomial: no constant term without bias, degree `<= 2p`, and
    /// the `s^1` coefficient is `L1(W)` (closed form, and by supports of size `<= 1`).
    #[test]
    fn density_polynomial_structure(w in weights(6), p in 1u32..=3, vals in values()) {
        let w = Weights { bias: None, ..w };
        let model = Model::new(Activation::Power, p, vals).unwrap();
        let poly = power_loss_polynomial(&model, &w).unwrap();
        prop_assert_eq!(poly.coeff(0), q(0, 1));
        prop_assert!(poly.0.len() <= 2 * p as usize + 1);
        prop_assert!(poly.degree().unwrap_or(0) <= 2 * p as usize);
        let gram = w.w.gram();
        let imp = w.importance.as_deref();
        prop_assert_eq!(poly.coeff(1), first_order(&model, &gram, imp));
        prop_assert_eq!(poly.coeff(1), first_order_by_supports(&model, &gram, None, imp));
    }

    /// Rectified: the closed-form `L1` equals the support route; the loss polynomial vanishes at
    /// `s = 0` and has degree `<= n`.
    #[test]
    fn rectified_first_order(w in weights(5), p in 1u32..=3, vals in values()) {
        let w = Weights { bias: None, ..w };
        let model = Model::new(Activation::Rect, p, vals).unwrap();
        let gram = w.w.gram();
        let imp = w.importance.as_deref();
        let poly = oracle_polynomial(&model, &gram, None, imp).unwrap();
        prop_assert_eq!(poly.coeff(0), q(0, 1));
        prop_assert!(poly.degree().unwrap_or(0) <= w.n());
        prop_assert_eq!(poly.coeff(1), first_order(&model, &gram, imp));
    }

    /// The `f64` path agrees with the exact value of the same (dyadic) weights to 1e-12 relative,
    /// or 1e-14 of the size of the terms that cancel.
    #[test]
    fn f64_agrees_with_exact(
        n in 1usize..=12, m in 1usize..=4, p in 1u32..=3, seed in any::<u64>(), s in density()
    ) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let wf: Vec<f64> = (0..n * m).map(|_| rng.random_range(-1.0..1.0)).collect();
        let model = Model::new(Activation::Power, p, Values::Uniform).unwrap();
        let w = Weights::new(Mat { rows: m, cols: n, data: wf.iter().map(|x| x.to_rational().unwrap()).collect() });
        let exact = power_loss_exact(&model, &w, &s).unwrap();
        let gram = Mat { rows: m, cols: n, data: wf }.gram();
        let approx = power_loss::<f64>(&model, &gram, None, None, &s.to_f64());
        // The f64 sum cancels terms up to about `scale = s sum_i (1 + sum_j |G_ij|)^{2p}` (an
        // exact loss near zero comes from terms near 1/3), so its error is relative to that.
        let scale: f64 = (0..n)
            .map(|i| (1.0 + (0..n).map(|j| gram.get(i, j).abs()).sum::<f64>()).powi(2 * p as i32))
            .sum::<f64>() * s.to_f64();
        let err = (approx - exact.to_f64()).abs();
        prop_assert!(
            err <= 1e-12 * exact.to_f64().abs() + 1e-14 * scale,
            "f64 {approx} vs exact {} (error {err:e}, scale {scale:e})", exact.to_f64()
        );
    }
}

#[test]
fn loss_vanishes_at_zero_density_without_bias() {
    let model = Model::new(Activation::Power, 2, Values::Uniform).unwrap();
    let w = Weights::from_json(r#"{"W": [["1/2","-1/3","2/5"],["1/4","2/3","-1/5"]]}"#).unwrap();
    let poly = power_loss_polynomial(&model, &w).unwrap();
    assert_eq!(poly.eval(&q(0, 1)), q(0, 1));
    // With a bias the constant term is sum_i b_i^{2p}.
    let wb = Weights {
        bias: Some(vec![q(1, 2), q(-1, 3), q(0, 1)]),
        ..w
    };
    let poly = power_loss_polynomial(&model, &wb).unwrap();
    assert_eq!(poly.coeff(0), q(1, 16) + q(1, 81));
}

/// Exact values agree with Monte Carlo within 4 standard errors on larger cases.
#[test]
fn monte_carlo_agrees_within_four_standard_errors() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let cases = [
        (Activation::Power, 2, 12, 4, q(1, 5), Values::Uniform),
        (Activation::Power, 3, 16, 5, q(1, 10), Values::Beta(2, 3)),
        (Activation::Power, 1, 20, 3, q(1, 2), Values::One),
        (Activation::Rect, 1, 8, 2, q(3, 10), Values::Uniform),
        (Activation::Rect, 2, 7, 3, q(1, 4), Values::Beta(1, 2)),
    ];
    for (act, p, n, m, s, vals) in cases {
        let model = Model::new(act, p, vals).unwrap();
        let data: Vec<BigRational> = (0..n * m).map(|_| q(rng.random_range(-8..=8), 8)).collect();
        let w = Weights::new(Mat {
            rows: m,
            cols: n,
            data,
        });
        let exact = match act {
            Activation::Power => power_loss_exact(&model, &w, &s).unwrap(),
            Activation::Rect => oracle_loss(&model, &w.w.gram(), None, None, &s).unwrap(),
        };
        let gram = w.w.gram().map(<f64 as Scalar>::from_rational);
        let est = estimate_loss(&model, &gram, None, None, s.to_f64(), 400_000, 11);
        let z = (est.mean - exact.to_f64()) / est.std_error;
        assert!(
            z.abs() < 4.0,
            "{act} p={p} n={n}: exact {} vs estimate {} ± {} (z = {z:.2})",
            exact.to_f64(),
            est.mean,
            est.std_error
        );
    }
}

/// The Monte Carlo estimate depends on the seed and sample count only.
#[test]
fn monte_carlo_is_reproducible() {
    let model = Model::new(Activation::Rect, 1, Values::Uniform).unwrap();
    let gram = Mat {
        rows: 3,
        cols: 3,
        data: vec![1.0, -0.5, 0.2, -0.5, 1.0, 0.1, 0.2, 0.1, 0.8],
    };
    let a = estimate_loss(&model, &gram, None, None, 0.2, 50_000, 5);
    let b = estimate_loss(&model, &gram, None, None, 0.2, 50_000, 5);
    let c = estimate_loss(&model, &gram, None, None, 0.2, 50_000, 6);
    assert_eq!(a.mean, b.mean);
    assert_ne!(a.mean, c.mean);
}

/// The rectified exact loss: `evaluate` uses the oracle for small `n`; beyond it (11 coupled
/// features) the enclosure's walk, which here sums every support (exact), agreeing with Monte
/// Carlo; at n = 20 an enclosure beside the estimate.
#[test]
fn evaluate_routes_rectified_models() {
    let model = Model::new(Activation::Rect, 1, Values::Uniform).unwrap();
    let small = Weights::from_json(r#"{"W": [[1, 0.5, -0.25]]}"#).unwrap();
    let r = superbound::evaluate::evaluate(&model, &small, &q(1, 3), Default::default()).unwrap();
    assert!(r.exact.is_some() && r.estimate.is_none());
    let big = Weights::new(Mat {
        rows: 1,
        cols: 12,
        data: (0..12).map(|k| q(k - 6, 7)).collect(),
    });
    let r = superbound::evaluate::evaluate(&model, &big, &q(1, 3), Default::default()).unwrap();
    let exact = r.exact.unwrap().to_f64();
    assert!(r.no_exact.is_none() && r.enclosure.is_none());
    let gram = big.w.gram().map(<f64 as Scalar>::from_rational);
    let est = estimate_loss(&model, &gram, None, None, 1.0 / 3.0, 400_000, 3);
    assert!(
        (est.mean - exact).abs() <= 4.0 * est.std_error,
        "{exact} vs {est:?}"
    );
    let row: Vec<String> = (0..20).map(|k| format!("\"{}/7\"", k % 7 - 3)).collect();
    let wide = Weights::from_json(&format!(r#"{{"W": [[{}], [{}]]}}"#, row.join(","), {
        let mut r2 = row.clone();
        r2.rotate_left(3);
        r2.join(",")
    }))
    .unwrap();
    let mc = superbound::evaluate::MonteCarlo {
        samples: 20_000,
        ..Default::default()
    };
    let r = superbound::evaluate::evaluate(&model, &wide, &q(1, 100), mc).unwrap();
    let e = r.enclosure.unwrap();
    assert!(r.exact.is_none() && r.estimate.is_some() && e.lo < e.hi);
}

/// A hand-computed case: `n = 1`, uniform, rect `p = 1`, `w = 1`, bias `-1/2`:
/// `E(u - max(u - 1/2, 0))^2 = int_0^{1/2} u^2 + int_{1/2}^1 (1/2)^2 = 1/24 + 1/8 = 1/6` when
/// active; `(max(-1/2,0))^2 = 0` when not. So `L = s/6`.
#[test]
fn rectified_with_bias_by_hand() {
    let model = Model::new(Activation::Rect, 1, Values::Uniform).unwrap();
    let gram = Mat {
        rows: 1,
        cols: 1,
        data: vec![q(1, 1)],
    };
    let bias = [q(-1, 2)];
    let poly = oracle_polynomial(&model, &gram, Some(&bias), None).unwrap();
    assert_eq!(poly, Poly(vec![q(0, 1), q(1, 6)]));
}

#[cfg(feature = "rug")]
mod gmp {
    use super::*;

    /// GMP rationals give exactly the num-rational results (field path and oracle).
    #[test]
    fn rug_equals_num_rational() {
        let model = Model::new(Activation::Power, 3, Values::Beta(2, 1)).unwrap();
        let w = Weights::from_json(
            r#"{"W": [["1/2","-1/3","2/5","1/7"],["1/4","2/3","-1/5","3/7"]], "b": ["1/9", 0, "-2/7", "1/3"]}"#,
        )
        .unwrap();
        let s = q(3, 11);
        let exact = power_loss_exact(&model, &w, &s).unwrap();
        let g: Mat<rug::Rational> = w.gram();
        let b: Vec<rug::Rational> = w
            .bias
            .as_ref()
            .unwrap()
            .iter()
            .map(rug::Rational::from_rational)
            .collect();
        let via_rug = power_loss(
            &model,
            &g,
            Some(&b),
            None,
            &rug::Rational::from_rational(&s),
        );
        assert_eq!(via_rug.to_rational().unwrap(), exact);
        let rect = Model::new(Activation::Rect, 2, Values::Uniform).unwrap();
        let oracle_rat = oracle_polynomial(&rect, &w.w.gram(), w.bias.as_deref(), None).unwrap();
        let oracle_rug = oracle_polynomial(&rect, &g, Some(&b), None).unwrap();
        assert_eq!(oracle_rug.map(|c| c.to_rational().unwrap()), oracle_rat);
    }
}

/// Random 6-digit decimal weights (`W`, importance), as read from a JSON file of decimals.
fn decimal_weights(seed: u64, n: usize, m: usize) -> Weights {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut dec = |lo: i64| q(rng.random_range(lo..=999_999), 1_000_000);
    let data = (0..n * m).map(|_| dec(-999_999)).collect();
    let importance = Some((0..n).map(|_| dec(0)).collect());
    Weights {
        w: Mat {
            rows: m,
            cols: n,
            data,
        },
        bias: None,
        importance,
    }
}

#[test]
fn fraction_free_first_order_equals_generic_on_decimals() {
    use superbound::kernel::loss::first_order_exact;
    for seed in 0..6 {
        let w = decimal_weights(seed, 3 + seed as usize, 1 + (seed as usize % 3));
        for act in [Activation::Power, Activation::Rect] {
            for p in 1..=3 {
                let model = Model::new(act, p, Values::Beta(2, 3)).unwrap();
                for with_importance in [true, false] {
                    let imp = if with_importance {
                        w.importance.clone()
                    } else {
                        None
                    };
                    let w = Weights {
                        importance: imp,
                        ..w.clone()
                    };
                    let generic =
                        first_order(&model, &w.gram::<BigRational>(), w.importance.as_deref());
                    assert_eq!(first_order_exact(&model, &w), generic, "{act:?} p={p}");
                }
            }
        }
    }
}

#[test]
fn loss_and_polynomial_in_one_pass_equal_the_separate_engines_on_decimals() {
    use superbound::kernel::loss::power_loss_and_polynomial;
    for seed in 0..4 {
        let w = decimal_weights(seed, 5, 2);
        let model = Model::new(Activation::Power, 2 + seed as u32 % 2, Values::Uniform).unwrap();
        let s = q(7, 300);
        let (loss, poly) = power_loss_and_polynomial(&model, &w, &s).unwrap();
        assert_eq!(loss, power_loss_exact(&model, &w, &s).unwrap());
        assert_eq!(poly, power_loss_polynomial(&model, &w).unwrap());
        let generic =
            power_loss::<BigRational>(&model, &w.w.gram(), None, w.importance.as_deref(), &s);
        assert_eq!(loss, generic);
        assert_eq!(poly.eval(&s), generic);
    }
}

/// A decimal with up to `digits` fractional digits, as text (the form of a JSON weights file).
fn decimal_text() -> impl Strategy<Value = String> {
    (-999_999i64..=999_999, 0u32..=6).prop_map(|(v, digits)| {
        let x = v as f64 / 1e6;
        format!("{x:.*}", digits as usize)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The fraction-free engine on decimal input read from JSON (one common denominator, power
    /// sums, cumulants) equals the generic `BigRational` convolution, for the loss at `s` and
    /// for the density polynomial at a second density, with decimal bias and importance.
    #[test]
    fn fraction_free_equals_generic_on_json_decimals(
        (n, m) in (1usize..=6, 1usize..=4),
        cells in proptest::collection::vec(decimal_text(), 6 * 4 + 12),
        with_b in any::<bool>(),
        with_i in any::<bool>(),
        p in 1u32..=4,
        vals in values(),
        s in density(),
        s2 in density(),
    ) {
        use superbound::kernel::loss::power_loss_and_polynomial;
        let row = |k: usize| format!("[{}]", cells[k * n..(k + 1) * n].join(", "));
        let rows: Vec<String> = (0..m).map(row).collect();
        let mut json = format!("{{\"W\": [{}]", rows.join(", "));
        if with_b {
            json += &format!(", \"b\": [{}]", cells[24..24 + n].join(", "));
        }
        if with_i {
            let imp: Vec<&str> = cells[18..18 + n].iter().map(|c| c.trim_start_matches('-')).collect();
            json += &format!(", \"importance\": [{}]", imp.join(", "));
        }
        json += "}";
        let w = Weights::from_json(&json).unwrap();
        let model = Model::new(Activation::Power, p, vals).unwrap();
        let (loss, poly) = power_loss_and_polynomial(&model, &w, &s).unwrap();
        let generic = |s: &BigRational| {
            power_loss::<BigRational>(&model, &w.gram(), w.bias.as_deref(), w.importance.as_deref(), s)
        };
        prop_assert_eq!(&loss, &generic(&s));
        prop_assert_eq!(poly.0.len(), 2 * p as usize + 1);
        prop_assert_eq!(poly.eval(&s2), generic(&s2));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Big entries (numerators up to about `2^100`, denominators up to `2^40`): the Gram matrix
    /// leaves `i128` and its powers span several 64-bit limbs; the fraction-free engine still
    /// equals the generic `BigRational` convolution.
    #[test]
    fn fraction_free_equals_generic_on_big_entries(
        (n, m) in (1usize..=5, 1usize..=3),
        nums in proptest::collection::vec((any::<i64>(), any::<u64>(), any::<u32>()), 15),
        dens in proptest::collection::vec(1u64..=(1 << 40), 15),
        p in 1u32..=3,
        s in density(),
    ) {
        use num_bigint::BigInt;
        let data: Vec<BigRational> = (0..n * m)
            .map(|k| {
                let (hi, mid, lo) = nums[k];
                let num = (BigInt::from(hi) << 96) + (BigInt::from(mid) << 32) + BigInt::from(lo);
                BigRational::new(num >> (k % 3 * 40), BigInt::from(dens[k]))
            })
            .collect();
        let w = Weights::new(Mat { rows: m, cols: n, data });
        let model = Model::new(Activation::Power, p, Values::Uniform).unwrap();
        let generic = power_loss::<BigRational>(&model, &w.gram(), None, None, &s);
        prop_assert_eq!(power_loss_exact(&model, &w, &s).unwrap(), generic);
    }
}

fn big_int() -> impl Strategy<Value = num_bigint::BigInt> {
    (any::<i64>(), any::<u64>(), any::<u64>(), 0usize..=150).prop_map(|(hi, mid, lo, shift)| {
        use num_bigint::BigInt;
        ((BigInt::from(hi) << 128) + (BigInt::from(mid) << 64) + BigInt::from(lo)) >> shift
    })
}

proptest! {
    /// `Z / 2^{64L}` in two's complement: products and differences are exact in range, and
    /// intermediate values past the range do not matter (`(a + c)^2 - a^2` with `(a + c)^2`
    /// beyond 256 bits, in four limbs).
    #[test]
    fn wrapping_ring_is_exact_in_range(a in big_int(), b in big_int(), c in big_int(), d in big_int()) {
        use superbound::kernel::arith::{Ring, Wrapping};
        let w8 = |x: &num_bigint::BigInt| Wrapping::<8>::from_bigint(x);
        let exact = &a * &b - &c * &d;
        prop_assert_eq!(w8(&a).mul(&w8(&b)).sub(&w8(&c).mul(&w8(&d))).to_bigint(), exact);
        let small = &d >> 130usize;
        let w4 = |x: &num_bigint::BigInt| Wrapping::<4>::from_bigint(x);
        let sum = w4(&a).add(&w4(&small));
        let got = sum.mul(&sum).sub(&w4(&a).mul(&w4(&a))).to_bigint();
        prop_assert_eq!(got, &small * &small + 2 * &a * &small);
        prop_assert!(w8(&a).sub(&w8(&a)).is_zero());
        prop_assert_eq!(Wrapping::<2>::from_bigint(&(&a >> 100usize)).to_bigint(), &a >> 100usize);
    }
}
