//! Certificates made to fool the checker. Each expected answer comes from how the certificate
//! was built (a factored `f - q`, or an exact value of `f - q` at a point computed here by the
//! Chebyshev recurrence), never from the verifier under test.

use num_rational::BigRational;
use std::time::{Duration, Instant};
use superbound::kernel::certificate::{Certificate, verify};

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(n.into(), d.into())
}

fn tiny() -> BigRational {
    // 10^-30
    BigRational::new(1.into(), num_bigint::BigInt::from(10).pow(30))
}

fn cert_json(act: &str, p: u32, n: usize, coeffs: &[BigRational], lower: &BigRational) -> String {
    let cs: Vec<String> = coeffs.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "{{\"activation\":\"{act}\",\"p\":{p},\"n\":{n},\"m\":2,\"values\":\"uniform\",\
         \"degree\":{},\"coefficients\":[{}],\"lower\":\"{lower}\"}}",
        coeffs.len() - 1,
        cs.join(",")
    )
}

/// `q(t) = sum_k c_k T_k(t)` (for `m = 2` the normalised Gegenbauer polynomials are the
/// Chebyshev `T_k`), by the recurrence `T_{k+1} = 2 t T_k - T_{k-1}`: written here, not taken
/// from the crate.
fn chebyshev_sum(c: &[BigRational], t: &BigRational) -> BigRational {
    let (mut prev, mut cur) = (q(1, 1), t.clone());
    let mut sum = &c[0] * &prev;
    for ck in c.iter().skip(1) {
        sum += ck * &cur;
        let next = q(2, 1) * t * &cur - &prev;
        prev = cur;
        cur = next;
    }
    sum
}

/// The bound a certificate gives, by the formula `n mu_2 - c_p / beta` with
/// `beta = q_0 + (1 - q(1))/n`, for uniform values and `p = 1` (`mu_2 = c_1 = 1/3`).
fn claimed(c: &[BigRational], n: i64) -> BigRational {
    let q1: BigRational = c.iter().sum();
    let beta = &c[0] + (q(1, 1) - q1) / q(n, 1);
    q(n, 3) - q(1, 3) / beta
}

fn check(text: &str) -> (Result<BigRational, String>, Duration) {
    let cert = Certificate::from_json(text).expect("well-formed certificate");
    let start = Instant::now();
    let r = verify(&cert);
    (r, start.elapsed())
}

/// The example: `f - q = t^2 (1 - t^2)` touches 0 at `-1`, `0` and `1` (a double root
/// at 0, which is also the first bisection point). It is valid, and gives `1/9`:
/// `beta = 3/8`, `n mu_2 - c_1 / beta = 1 - 8/9`.
#[test]
fn touching_roots_at_the_ends_and_the_midpoint_verify_quickly() {
    let c = [q(3, 8), q(0, 1), q(1, 2), q(0, 1), q(1, 8)];
    let (r, took) = check(&cert_json("power", 1, 3, &c, &q(1, 9)));
    assert_eq!(r, Ok(q(1, 9)));
    assert!(took < Duration::from_secs(1), "{took:?}");
}

/// A hair past the bound: raising `q_0` by `1e-30` makes `f - q = t^2 (1 - t^2) - 1e-30`
/// negative at `t = 0`; lowering it keeps `f - q > 0` inside. The first must be refused, the
/// second accepted.
#[test]
fn a_dip_of_1e_30_is_refused_and_a_lift_of_1e_30_is_accepted() {
    let mut up = vec![q(3, 8), q(0, 1), q(1, 2), q(0, 1), q(1, 8)];
    up[0] += tiny();
    let (r, took) = check(&cert_json("power", 1, 3, &up, &claimed(&up, 3)));
    assert!(r.is_err(), "accepted a certificate 1e-30 past f at t = 0");
    assert!(took < Duration::from_secs(1));
    // Independent witness of the refusal: f(0) - q(0) < 0.
    assert!(q(0, 1) - chebyshev_sum(&up, &q(0, 1)) < q(0, 1));

    let mut down = vec![q(3, 8), q(0, 1), q(1, 2), q(0, 1), q(1, 8)];
    down[0] -= tiny();
    let (r, took) = check(&cert_json("power", 1, 3, &down, &claimed(&down, 3)));
    assert_eq!(r, Ok(claimed(&down, 3)));
    assert!(took < Duration::from_secs(1));
}

/// The reviewer's attack (rectified `p = 1`, `n = 5`, `m = 2`): `q = lambda (1+t)^2 (t + 9/10)
/// (t + 3/5) (t - 1/2)` has nonnegative Chebyshev coefficients and a double root at `t = -1`,
/// where every member of the old Sturm chain vanished; `q` is negative at the midpoint `-1/2`
/// of `[-1, 0]` but positive on `(-9/10, -3/5)`, so `-q >= 0` fails there.
#[test]
fn a_double_root_at_minus_one_cannot_hide_a_violation() {
    let lambda = q(1, 8);
    // Chebyshev coefficients of (1+t)^2 (t + 9/10)(t + 3/5)(t - 1/2), computed by hand from the
    // expanded product.
    let base = [
        q(101, 100),
        q(787, 400),
        q(331, 200),
        q(101, 100),
        q(3, 8),
        q(1, 16),
    ];
    let c: Vec<BigRational> = base.iter().map(|b| b * &lambda).collect();
    // Independent check that the construction is what it claims: the product at t = -3/4 is
    // (1/16)(3/20)(-3/20)(-5/4) = 9/5120 > 0, and its coefficients sum to q(1) = 152/25.
    assert_eq!(chebyshev_sum(&base, &q(-3, 4)), q(9, 5120));
    assert_eq!(chebyshev_sum(&base, &q(-1, 1)), q(0, 1));
    assert_eq!(chebyshev_sum(&base, &q(-1, 2)), q(-1, 100));
    assert_eq!(chebyshev_sum(&base, &q(1, 1)), q(152, 25));
    let (r, took) = check(&cert_json("rect", 1, 5, &c, &claimed(&c, 5)));
    assert!(r.is_err(), "accepted q > f = 0 at t = -3/4");
    assert!(took < Duration::from_secs(1));
}

/// A negative Gegenbauer coefficient (`q_1 = -1/100`) is refused for what it is.
#[test]
fn negative_gegenbauer_coefficients_are_refused_quickly() {
    let c = [q(1, 4), q(-1, 100), q(1, 2)];
    let (r, took) = check(&cert_json("power", 1, 3, &c, &claimed(&c, 3)));
    assert!(r.unwrap_err().contains("negative"));
    assert!(took < Duration::from_secs(1));
}
