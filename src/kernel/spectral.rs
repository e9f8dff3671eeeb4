//! The spectral lower bound of the rectified linear unit at first order (rect, `p = 1`, `b = 0`,
//! equal importance; `proofs/spectral-bound.md`), and the exact check of its certificates.
//!
//! With `p = 1` the self term is `l(d) = mu_2 (1 - d)^2`, so
//!
//! ```text
//! L1(W) = mu_2 F(G),   F(G) = sum_i (1 - G_ii)^2 + sum_{i != j} max(G_ij, 0)^2.
//! ```
//!
//! Put `N_ij = max(-G_ij, 0)` (`i != j`), `N_ii = 0`. Then `F(G) = ||I - N - G||_F^2`, and as `G` is
//! positive semidefinite of rank `<= m` (Hoffman-Wielandt), with `nu_1 <= ... <= nu_n` the
//! eigenvalues of `N`,
//!
//! ```text
//! F(G) >= sum_{k = m+1..n} (1 - nu_k)^2.
//! ```
//!
//! `N` is symmetric, nonnegative and hollow, so `sum nu_k = tr N = 0`, `sum nu_k^3 = tr N^3 >= 0`,
//! and (Perron-Frobenius) `-rho <= nu_k <= rho = nu_n`, `rho >= 0`.
//!
//! A certificate covers `rho in [0, R]` by pieces `[rho_lo, rho_hi]`, each with multipliers `a`
//! (any sign) and `b >= 0`, and the cubics
//!
//! ```text
//! phi_K(t) = (1 - t)^2 + a t - b t^3,    phi_D(t) = a t - b t^3.
//! ```
//!
//! (the `m` smallest, "dropped", cost `max(nu_k - 1, 0)^2`: Hoffman-Wielandt with `gamma_k >= 0`).
//! Adding `a sum nu_k (= 0)` and subtracting `b sum nu_k^3 (>= 0)`: the top eigenvalue `rho`, the
//! `n - m - 1` other kept ones and the `m` dropped ones give
//!
//! ```text
//! F >= top + (n - m - 1) kept + m dropped   whenever rho lies in the piece, where
//! phi_K >= top on [rho_lo, rho_hi],  phi_K >= kept on [-rho_hi, rho_hi],
//! phi_D >= dropped on [-rho_hi, min(1, rho_hi)] and phi_K >= dropped on [1, rho_hi].
//! ```
//!
//! For `rho >= R >= 1`, `F >= (1 - rho)^2 >= (R - 1)^2`. So `F >= T`, the least of these, and
//! `L1 >= mu_2 T`. [`verify`] checks every inequality exactly
//! ([`crate::kernel::roots::nonnegative_on`]) and that the pieces cover `[0, R]`.

use crate::kernel::arith::{Poly, Ring, parse_rational};
use crate::kernel::certificate::model_from_json;
use crate::kernel::error::{Error, Result};
use crate::kernel::model::{Activation, Setting};
use crate::kernel::roots::nonnegative_on;
use num_bigint::BigInt;
use num_rational::BigRational;
use serde_json::{Value, json};

/// Most pieces accepted in a certificate.
pub const MAX_PIECES: usize = 4096;
/// Longest number text accepted in a certificate.
const MAX_CHARS: usize = 200;

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

/// One piece: for `rho` (the largest eigenvalue of `N`) in `[rho_lo, rho_hi]`, multipliers `a`,
/// `b` and the lower bounds `top`, `kept`, `dropped` of the three cubic minima.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    pub rho_lo: BigRational,
    pub rho_hi: BigRational,
    pub a: BigRational,
    pub b: BigRational,
    pub top: BigRational,
    pub kept: BigRational,
    pub dropped: BigRational,
}

/// A spectral certificate: the setting, `R`, the pieces, and the bound `L1 >= lower` it claims.
#[derive(Clone, Debug, PartialEq)]
pub struct SpectralCertificate {
    pub setting: Setting,
    pub r: BigRational,
    pub pieces: Vec<Piece>,
    pub lower: BigRational,
}

/// Whether the bound is proved for a setting: rect, `p = 1`, and `n > m` (for `n <= m` no
/// eigenvalue is kept).
pub fn applies(st: &Setting) -> bool {
    st.model.act == Activation::Rect && st.model.p == 1 && st.n > st.m
}

/// `phi_K(t) = (1 - t)^2 + a t - b t^3`, coefficients from degree 0.
pub fn phi_kept(a: &BigRational, b: &BigRational) -> Poly<BigRational> {
    Poly(vec![q(1, 1), a - q(2, 1), q(1, 1), -b.clone()])
}

/// `phi_D(t) = a t - b t^3`.
pub fn phi_dropped(a: &BigRational, b: &BigRational) -> Poly<BigRational> {
    Poly(vec![q(0, 1), a.clone(), q(0, 1), -b.clone()])
}

/// The bound one piece gives on `F`: `top + (n - m - 1) kept + m dropped`.
pub fn piece_value(st: &Setting, piece: &Piece) -> BigRational {
    let kept_count = q((st.n - st.m - 1) as i64, 1);
    let m = q(st.m as i64, 1);
    &piece.top + kept_count * &piece.kept + m * &piece.dropped
}

/// `T = min((R - 1)^2, min over pieces of their values)`: the bound on `F` (before `mu_2`).
pub fn bound_on_f(st: &Setting, r: &BigRational, pieces: &[Piece]) -> BigRational {
    let tail = (r - q(1, 1)) * (r - q(1, 1));
    pieces
        .iter()
        .map(|p| piece_value(st, p))
        .fold(tail, |acc, v| if v < acc { v } else { acc })
}

impl SpectralCertificate {
    /// The JSON form (inside a row's `"lower"` object, or a file of its own).
    pub fn to_json(&self) -> Value {
        let st = &self.setting;
        let s = |x: &BigRational| x.to_string();
        json!({
            "activation": st.model.act.name(),
            "p": st.model.p,
            "n": st.n,
            "m": st.m,
            "values": st.model.values.to_string(),
            "R": s(&self.r),
            "pieces": self.pieces.iter().map(|p| json!([
                s(&p.rho_lo), s(&p.rho_hi), s(&p.a), s(&p.b), s(&p.top), s(&p.kept), s(&p.dropped)
            ])).collect::<Vec<_>>(),
            "lower": s(&self.lower),
        })
    }

    /// Reads the JSON form, checking shapes and sizes (the mathematics is [`verify`]'s).
    pub fn from_json(v: &Value) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::input("the spectral certificate must be a JSON object"))?;
        let field = |k: &str| {
            obj.get(k)
                .ok_or_else(|| Error::input(format!("spectral certificate has no {k:?}")))
        };
        let uint = |k: &str| -> Result<usize> {
            field(k)?
                .as_u64()
                .filter(|&x| x <= 1 << 20)
                .map(|x| x as usize)
                .ok_or_else(|| Error::input(format!("{k:?} must be an integer in 0..=2^20")))
        };
        let rational = |v: &Value, what: &str| -> Result<BigRational> {
            let t = v
                .as_str()
                .ok_or_else(|| Error::input(format!("{what} must be a rational string")))?;
            if t.len() > MAX_CHARS {
                return Err(Error::too_large(format!(
                    "{what} has {} characters; at most {MAX_CHARS} are accepted",
                    t.len()
                )));
            }
            parse_rational(t).map_err(|e| Error::input(format!("{what}: {e}")))
        };
        let setting = Setting::new(model_from_json(obj)?, uint("n")?, uint("m")?)?;
        let list = field("pieces")?
            .as_array()
            .ok_or_else(|| Error::input("\"pieces\" must be an array"))?;
        if list.len() > MAX_PIECES {
            return Err(Error::too_large(format!(
                "{} pieces; at most {MAX_PIECES} are accepted",
                list.len()
            )));
        }
        let pieces =
            list.iter()
                .enumerate()
                .map(|(i, p)| {
                    let v = p.as_array().filter(|v| v.len() == 7).ok_or_else(|| {
                        Error::input(format!("piece {i} must be 7 rational strings"))
                    })?;
                    let r = |j: usize| rational(&v[j], &format!("piece {i}, entry {j}"));
                    Ok(Piece {
                        rho_lo: r(0)?,
                        rho_hi: r(1)?,
                        a: r(2)?,
                        b: r(3)?,
                        top: r(4)?,
                        kept: r(5)?,
                        dropped: r(6)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        Ok(SpectralCertificate {
            setting,
            r: rational(field("R")?, "\"R\"")?,
            pieces,
            lower: rational(field("lower")?, "\"lower\"")?,
        })
    }
}

/// Checks a certificate from scratch (module documentation) and returns the bound on `L1`.
pub fn verify(cert: &SpectralCertificate) -> std::result::Result<BigRational, String> {
    let st = &cert.setting;
    if !applies(st) {
        return Err("the spectral bound is proved for rect, p = 1 and n > m only".into());
    }
    let zero = q(0, 1);
    if cert.r < q(1, 1) {
        return Err(format!("R = {} must be at least 1", cert.r));
    }
    // Coverage of [0, R]: sorted by rho_lo, no gap.
    let mut order: Vec<&Piece> = cert.pieces.iter().collect();
    order.sort_by(|x, y| x.rho_lo.cmp(&y.rho_lo));
    let mut reached = zero.clone();
    for p in &order {
        if p.rho_lo < zero {
            return Err(format!("a piece starts below rho = 0: {}", p.rho_lo));
        }
        if p.rho_lo > p.rho_hi {
            return Err(format!(
                "a piece runs backwards: [{}, {}]",
                p.rho_lo, p.rho_hi
            ));
        }
        if p.rho_lo > reached {
            return Err(format!(
                "the pieces leave rho in ({reached}, {}) uncovered",
                p.rho_lo
            ));
        }
        if p.rho_hi > reached {
            reached = p.rho_hi.clone();
        }
    }
    if reached < cert.r {
        return Err(format!(
            "the pieces leave rho in ({reached}, {}) uncovered",
            cert.r
        ));
    }
    for (i, p) in cert.pieces.iter().enumerate() {
        check_piece(p)
            .map_err(|e| format!("piece {i} (rho in [{}, {}]): {e}", p.rho_lo, p.rho_hi))?;
    }
    let bound = st.model.mu(2) * bound_on_f(st, &cert.r, &cert.pieces);
    if bound != cert.lower {
        return Err(format!(
            "the claimed bound {} differs from the bound the pieces give, {bound}",
            cert.lower
        ));
    }
    Ok(bound)
}

/// The exact conditions of a piece, `(poly, lo, hi, which)`: `poly >= 0` on `[lo, hi]`, where
/// `which` names the constant it bounds: `phi_K >= top` on `[rho_lo, rho_hi]`, `phi_K >= kept` on
/// `[-rho_hi, rho_hi]`, `phi_D >= dropped` on `[-rho_hi, min(1, rho_hi)]` and `phi_K >= dropped` on
/// `[1, rho_hi]` (a dropped eigenvalue `nu > 1` costs `(nu - 1)^2`, and `phi_D + (nu - 1)^2 = phi_K`).
pub fn piece_conditions(
    p: &Piece,
) -> Vec<(Poly<BigRational>, BigRational, BigRational, &'static str)> {
    let kept = phi_kept(&p.a, &p.b);
    let dropped = phi_dropped(&p.a, &p.b);
    let one = q(1, 1);
    let hi = p.rho_hi.clone();
    let mut out = vec![
        (
            kept.sub(&Poly::constant(p.top.clone())),
            p.rho_lo.clone(),
            hi.clone(),
            "top",
        ),
        (
            kept.sub(&Poly::constant(p.kept.clone())),
            -hi.clone(),
            hi.clone(),
            "kept",
        ),
        (
            dropped.sub(&Poly::constant(p.dropped.clone())),
            -hi.clone(),
            if hi < one { hi.clone() } else { one.clone() },
            "dropped",
        ),
    ];
    if hi > one {
        out.push((
            kept.sub(&Poly::constant(p.dropped.clone())),
            one,
            hi,
            "dropped",
        ));
    }
    out
}

/// Checks one piece exactly: `b >= 0`, `0 <= rho_lo <= rho_hi`, and every one of
/// [`piece_conditions`] by [`nonnegative_on`].
pub fn check_piece(p: &Piece) -> std::result::Result<(), String> {
    let zero = q(0, 1);
    if p.b < zero {
        return Err(format!("b = {} is negative", p.b));
    }
    if p.rho_lo < zero || p.rho_lo > p.rho_hi {
        return Err(format!(
            "[{}, {}] is not an interval in rho >= 0",
            p.rho_lo, p.rho_hi
        ));
    }
    for (poly, a, b, what) in piece_conditions(p) {
        if !nonnegative_on(&poly.0, &a, &b)? {
            return Err(format!(
                "the cubic falls below its {what} value on [{a}, {b}]"
            ));
        }
    }
    Ok(())
}
