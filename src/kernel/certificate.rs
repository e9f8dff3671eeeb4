//! Certificates of the linear-programming (Delsarte-type) lower bound, and their exact
//! verification (THEORY.md, "Linear-programming lower bounds").
//!
//! With `f(t) = t^{2p}` (power) or `max(t, 0)^{2p}` (rectified): for any
//! `q = sum_{k<=D} q_k P_k^{(m)}` with `q_k >= 0` (`k >= 1`) and `q <= f` on `[-1, 1]`,
//!
//! ```text
//! L1(W) >= n mu_2 - c_p / beta,   beta = q_0 + (1 - q(1)) / n > 0,   q(1) = sum_k q_k.
//! ```
//!
//! [`verify`] decides a certificate from its data alone: `q_k >= 0` exactly, `f - q >= 0` on
//! `[-1, 1]` exactly ([`crate::kernel::roots::nonnegative_on`], two independent methods; rectified:
//! `-q >= 0` on `[-1, 0]` and `t^{2p} - q >= 0` on `[0, 1]`), `beta > 0`, and that the claimed
//! bound is the one the coefficients give. How a certificate is found is not its business
//! (`crate::search::lp`).

use crate::kernel::arith::{Poly, Ring, parse_rational};
use crate::kernel::closed_form::c_p;
use crate::kernel::error::{Error, Result};
use crate::kernel::gegenbauer::from_gegenbauer;
use crate::kernel::model::{Activation, MAX_P, Model, Setting, Values};
use crate::kernel::roots::nonnegative_on;
use num_bigint::BigInt;
use num_rational::BigRational;

/// Largest degree accepted (in files and on the command line).
pub const MAX_DEGREE: usize = 32;
/// Longest coefficient text accepted in a certificate file.
pub const MAX_COEFF_CHARS: usize = 200;

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

/// The model of an evidence file: `"activation"` (`power` or `rect`), `"p"`, and `"values"`
/// (default `uniform`).
pub fn model_from_json(obj: &serde_json::Map<String, serde_json::Value>) -> Result<Model> {
    let act = match obj.get("activation").and_then(|v| v.as_str()) {
        Some("power") => Activation::Power,
        Some("rect") => Activation::Rect,
        _ => return Err(Error::input("\"activation\" must be \"power\" or \"rect\"")),
    };
    let p = obj
        .get("p")
        .and_then(|v| v.as_u64())
        .filter(|&p| p <= MAX_P as u64)
        .ok_or_else(|| Error::input(format!("\"p\" must be an integer in 1..={MAX_P}")))?;
    let values: Values = match obj.get("values") {
        None => Values::Uniform,
        Some(v) => v
            .as_str()
            .ok_or_else(|| Error::input("\"values\" must be a string"))?
            .parse()
            .map_err(Error::input)?,
    };
    Model::new(act, p as u32, values)
}

/// A certificate: the model, the Gegenbauer coefficients `q_0..q_D`, and the bound they give.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    pub setting: Setting,
    pub coefficients: Vec<BigRational>,
    pub lower: BigRational,
}

impl Certificate {
    pub fn degree(&self) -> usize {
        self.coefficients.len() - 1
    }

    /// The JSON file form.
    pub fn to_json(&self) -> serde_json::Value {
        let st = &self.setting;
        serde_json::json!({
            "activation": st.model.act.name(),
            "p": st.model.p,
            "n": st.n,
            "m": st.m,
            "values": st.model.values.to_string(),
            "degree": self.degree(),
            "coefficients": self.coefficients.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "lower": self.lower.to_string(),
        })
    }

    /// Reads a certificate file, checking shapes and sizes (not yet the mathematics: see
    /// [`verify`]).
    pub fn from_json(text: &str) -> Result<Self> {
        if text.len() > 1 << 20 {
            return Err(Error::too_large("certificate file is larger than 1 MiB"));
        }
        let v = crate::kernel::model::parse_json_strict(text, "certificate")?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::input("certificate must be a JSON object"))?;
        let field = |k: &str| {
            obj.get(k)
                .ok_or_else(|| Error::input(format!("certificate has no {k:?}")))
        };
        let uint = |k: &str, max: u64| -> Result<u64> {
            let x = field(k)?
                .as_u64()
                .ok_or_else(|| Error::input(format!("{k:?} must be a nonnegative integer")))?;
            if x > max {
                return Err(Error::too_large(format!(
                    "{k:?} = {x} is above the limit {max}"
                )));
            }
            Ok(x)
        };
        let model = model_from_json(obj)?;
        let setting = Setting::new(
            model,
            uint("n", 1 << 20)? as usize,
            uint("m", 1 << 20)? as usize,
        )?;
        let degree = uint("degree", MAX_DEGREE as u64)? as usize;
        let coeffs = field("coefficients")?
            .as_array()
            .ok_or_else(|| Error::input("\"coefficients\" must be an array of rational strings"))?;
        if coeffs.len() != degree + 1 {
            return Err(Error::input(format!(
                "\"coefficients\" has {} entries; degree {degree} needs {}",
                coeffs.len(),
                degree + 1
            )));
        }
        let rational = |v: &serde_json::Value, what: &str| -> Result<BigRational> {
            let t = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(x) => x.to_string(),
                _ => return Err(Error::input(format!("{what} must be a rational string"))),
            };
            if t.len() > MAX_COEFF_CHARS {
                return Err(Error::too_large(format!(
                    "{what} has {} characters; at most {MAX_COEFF_CHARS} are accepted",
                    t.len()
                )));
            }
            parse_rational(&t).map_err(|e| Error::input(format!("{what}: {e}")))
        };
        let coefficients = coeffs
            .iter()
            .enumerate()
            .map(|(k, c)| rational(c, &format!("coefficient {k}")))
            .collect::<Result<Vec<_>>>()?;
        let lower = rational(field("lower")?, "\"lower\"")?;
        Ok(Certificate {
            setting,
            coefficients,
            lower,
        })
    }
}

/// The exact polynomial pieces `f - q` must be nonnegative on, as `(poly, lo, hi)`.
pub fn gap_pieces(
    st: &Setting,
    coefficients: &[BigRational],
) -> Vec<(Poly<BigRational>, BigRational, BigRational)> {
    let qpoly = from_gegenbauer(coefficients, st.m);
    let t2p = crate::kernel::gegenbauer::even_power(st.model.p);
    match st.model.act {
        Activation::Power => vec![(t2p.sub(&qpoly), q(-1, 1), q(1, 1))],
        Activation::Rect => vec![
            (Poly::zero().sub(&qpoly), q(-1, 1), q(0, 1)),
            (t2p.sub(&qpoly), q(0, 1), q(1, 1)),
        ],
    }
}

/// `beta = q_0 + (1 - q(1)) / n` and the bound `n mu_2 - c_p / beta` (`None` if `beta <= 0`).
pub fn bound_from(st: &Setting, coefficients: &[BigRational]) -> Option<BigRational> {
    let q1: BigRational = coefficients.iter().fold(q(0, 1), |a, c| a + c);
    let n = q(st.n as i64, 1);
    let beta = &coefficients[0] + (q(1, 1) - q1) / &n;
    (beta > q(0, 1)).then(|| n * st.model.mu(2) - c_p(&st.model) / beta)
}

/// Checks a certificate from scratch: `q_k >= 0` for `k >= 1`, `f - q >= 0` on `[-1, 1]` exactly,
/// `beta > 0`, and that the claimed bound is the one the coefficients give. Returns the bound.
pub fn verify(cert: &Certificate) -> std::result::Result<BigRational, String> {
    let c = &cert.coefficients;
    if c.is_empty() {
        return Err("no coefficients".into());
    }
    if cert.setting.m < 2 {
        return Err(
            "the LP bound needs m >= 2 (the Gegenbauer polynomials of R^1 are degenerate)".into(),
        );
    }
    if let Some(k) = (1..c.len()).find(|&k| c[k] < q(0, 1)) {
        return Err(format!(
            "coefficient q_{k} = {} is negative (needs q_k >= 0 for k >= 1)",
            c[k]
        ));
    }
    let bound = bound_from(&cert.setting, c).ok_or("beta = q_0 + (1 - q(1))/n is not positive")?;
    if bound != cert.lower {
        return Err(format!(
            "the claimed bound {} differs from the bound its coefficients give, {}",
            cert.lower, bound
        ));
    }
    for (poly, lo, hi) in gap_pieces(&cert.setting, c) {
        if !nonnegative_on(&poly.0, &lo, &hi)? {
            return Err(format!("f - q is negative somewhere in [{lo}, {hi}]"));
        }
    }
    Ok(bound)
}
