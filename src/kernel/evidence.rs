//! Evidence files, re-checked from scratch: a witness (a rational `W`, optional `b` and
//! importance, with the exact value it claims) and a table row (its lower bound's proof and its
//! upper bound's witness). The kernel recomputes every number from the model and the file; it
//! believes nothing the file says about a value.
//!
//! A row's lower bound is one of (scope in brackets; THEORY.md, "Scope of each bound"):
//! - `self`: `L1 >= n (mu_2 - c_p)`, re-evaluated ([`closed_form::self_first_order`])
//!   [`b = 0`, equal importance];
//! - `theorem1`: `L1 >= n mu_2 - c_p min(n, kappa_{m,p})`, re-evaluated [power, `b = 0`, equal];
//! - `lp-certificate`: the certificate in the file, verified ([`certificate::verify`])
//!   [`b = 0`, equal];
//! - `spectral-certificate`: the spectral certificate in the file, verified
//!   ([`spectral::verify`]) [rect `p = 1`, `b = 0`, equal];
//!   (these four are first-order bounds, lifted at a density by `s (1-s)^{n-1}`);
//! - `single-support+floor`: `s (1-s)^{n-1} L1_lower + e n s (1 - (1-s)^{n-1})` with
//!   `L1_lower` one of the four above and `e` a floor proved here [`b = 0`, equal];
//! - `floor`: `s e sum_i I_i` (first order: `e sum_i I_i`), `e` proved here by exact branch and
//!   bound ([`floor::certify_floor_with_limit`]) [any bias, any importance];
//! - `projection`: any decoder of `W x` misses the values of supports larger than `m`, with the
//!   floor per support size ([`projection::projection_bound`], `"features"`: the `j` features
//!   of largest importance, optional `"e_lb"`) [uniform values, any bias, any importance];
//! - `linear-exact`: `(n - m)^+ (s mu_2 - s^2 mu_1^2)` [power `p = 1`, any bias, equal];
//! - `zero` (anything).
//!
//! The upper bound is the exact loss (or exact `L1` at first order) of the witness, computed
//! here with the question's importance weights; with `"via": "linear"` (rect `p = 1` only) it is
//! the exact loss of the same witness under the linear activation, which bounds its ReLU loss
//! from above (the targets are nonnegative: `|x - max(z, 0)| <= |x - z|`).

use crate::kernel::arith::{fmt_decimal_exact, parse_rational};
use crate::kernel::certificate::{self, Certificate, model_from_json};
use crate::kernel::closed_form;
use crate::kernel::enclosure::{ENCLOSURE_BUDGET, enclosure, enclosure_cost};
use crate::kernel::floor;
use crate::kernel::loss::{exact_loss, first_order_exact};
use crate::kernel::model::{Activation, Model, Setting, Values, Weights, check_sizes};
use crate::kernel::projection;
use crate::kernel::spectral::{self, SpectralCertificate};
use num_bigint::BigInt;
use num_rational::BigRational;
use serde_json::{Map, Value};

/// Cost budget of confirming an enclosure claim (twice the default of `loss`).
pub const CHECK_BUDGET: f64 = 2.0 * ENCLOSURE_BUDGET;

/// The version tag of evidence files; a change of format changes it.
pub const EVIDENCE_FORMAT: &str = "superbound-evidence/1";

/// What a verified row establishes.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedRow {
    pub setting: Setting,
    /// `None`: first order (`s -> 0`).
    pub density: Option<BigRational>,
    pub bias: bool,
    pub importance: Option<Vec<BigRational>>,
    pub lower: BigRational,
    pub upper: BigRational,
    /// `upper == lower` or `(upper - lower) / lower <= 1e-9`.
    pub certified: bool,
    /// `upper == lower`.
    pub exact: bool,
}

type Obj = Map<String, Value>;

fn field<'a>(obj: &'a Obj, key: &str) -> Result<&'a Value, String> {
    obj.get(key).ok_or_else(|| format!("no {key:?}"))
}

fn rational(v: &Value, what: &str) -> Result<BigRational, String> {
    let t = match v {
        Value::String(s) => s.clone(),
        Value::Number(x) => x.to_string(),
        _ => return Err(format!("{what} must be a rational string")),
    };
    if t.len() > 100_000 {
        return Err(format!("{what} is longer than 100000 characters"));
    }
    parse_rational(&t).map_err(|e| format!("{what}: {e}"))
}

fn uint(obj: &Obj, key: &str) -> Result<usize, String> {
    field(obj, key)?
        .as_u64()
        .map(|x| x as usize)
        .ok_or_else(|| format!("{key:?} must be a nonnegative integer"))
}

/// `None` for `"0"` (first order), else the density in `(0, 1]`.
/// The `"density"` of a witness or evidence object: absent or `0` is first order (`None`),
/// else a rational in `(0, 1]` (a string `"a/b"`, a decimal, or an integer).
pub fn density_of(obj: &Obj) -> Result<Option<BigRational>, String> {
    let s = match obj.get("density") {
        None => return Ok(None),
        Some(v) => rational(v, "\"density\"")?,
    };
    let zero = BigRational::from_integer(BigInt::from(0));
    let one = BigRational::from_integer(BigInt::from(1));
    if s == zero {
        Ok(None)
    } else if s > zero && s <= one {
        Ok(Some(s))
    } else {
        Err(format!("density {s} is outside [0, 1]"))
    }
}

/// The most bits of the common denominator of a witness's `W` (and of its `b`, of its
/// importance weights) and of any numerator, in the files `check` reads. Every `f64` fits (a
/// denominator of at most `2^1074`, a numerator below `2^1024`), and so do decimals of up to
/// about 1,200 digits; beyond, the exact loss (the entries raised to powers up to `4p`) of a
/// 40 KB file of 1,000-digit entries ran for hours.
pub const MAX_WITNESS_BITS: u64 = 4096;

/// Refuses entries whose common denominator, or any numerator, has more than `max_bits` bits
/// (the running lcm stops as soon as it is too large).
pub fn check_entry_sizes(what: &str, xs: &[BigRational], max_bits: u64) -> Result<(), String> {
    use num_integer::Integer;
    let mut lcm = BigInt::from(1);
    for x in xs {
        if x.numer().bits() > max_bits {
            return Err(format!(
                "an entry of {what} has a numerator of more than {max_bits} bits"
            ));
        }
        lcm = lcm.lcm(x.denom());
        if lcm.bits() > max_bits {
            return Err(format!(
                "the entries of {what} have a common denominator of more than {max_bits} bits"
            ));
        }
    }
    Ok(())
}

/// The weights of a witness: `"W"` (`m` rows of `n`), optional `"b"`, each within
/// [`MAX_WITNESS_BITS`]; the importance is the question's, given by the caller.
fn weights_of(obj: &Obj, importance: Option<Vec<BigRational>>) -> Result<Weights, String> {
    let mut sub = Map::new();
    sub.insert("W".into(), field(obj, "W")?.clone());
    if let Some(b) = obj.get("b") {
        sub.insert("b".into(), b.clone());
    }
    let mut w = Weights::from_json(&Value::Object(sub).to_string()).map_err(|e| e.to_string())?;
    let limit = |e: String| format!("{e} (the limit of check; every f64 fits)");
    check_entry_sizes("W", &w.w.data, MAX_WITNESS_BITS).map_err(limit)?;
    if let Some(b) = &w.bias {
        check_entry_sizes("b", b, MAX_WITNESS_BITS).map_err(limit)?;
    }
    w.importance = importance;
    Ok(w)
}

/// The exact value a witness has for the question: `L1(W)` at first order (no bias allowed:
/// with `sigma(b) != 0` the loss does not vanish as `s -> 0`), else the exact loss at `s`.
fn witness_value(
    model: &Model,
    w: &Weights,
    density: Option<&BigRational>,
) -> Result<BigRational, String> {
    match density {
        None => {
            if w.bias.is_some() {
                return Err("a first-order claim cannot carry a bias".into());
            }
            Ok(first_order_exact(model, w))
        }
        Some(s) => exact_loss(model, w, s).ok_or_else(|| {
            "no exact route for this witness's loss (more than 8 coupled features, rectified)"
                .to_string()
        }),
    }
}

fn importance_of(obj: &Obj, n: usize) -> Result<Option<Vec<BigRational>>, String> {
    match obj.get("importance") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => {
            if a.len() != n {
                return Err(format!("\"importance\" has {} entries; n = {n}", a.len()));
            }
            let v = a
                .iter()
                .enumerate()
                .map(|(i, x)| rational(x, &format!("importance[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            if v.iter()
                .any(|x| *x < BigRational::from_integer(BigInt::from(0)))
            {
                return Err("an importance weight is negative".into());
            }
            check_entry_sizes("\"importance\"", &v, MAX_WITNESS_BITS)
                .map_err(|e| format!("{e} (the limit of check)"))?;
            Ok(Some(v))
        }
        Some(_) => Err("\"importance\" must be an array or null".into()),
    }
}

fn parse_object(text: &str) -> Result<Obj, String> {
    if text.len() > 64 << 20 {
        return Err("evidence file is larger than 64 MiB".into());
    }
    // Strict: a key given twice is refused (serde_json alone keeps the last one silently, so
    // a file could show one claim and have another checked).
    let v: Value =
        crate::kernel::model::parse_json_strict(text, "the file").map_err(|e| e.to_string())?;
    match v {
        Value::Object(o) => Ok(o),
        _ => Err("must be a JSON object".into()),
    }
}

/// Checks a witness file `{"activation", "p", "values"?, "W", "b"?, "importance"?,
/// "density"? (absent or "0": first order), "value": "a/b"}` (the exact `L1` or loss claimed)
/// or with `"enclosure": ["lo", "hi"]` instead of `"value"` (claims `lo <= L <= hi`).
/// Returns what the kernel established: `(L, L)` where the exact value is computed, else its
/// own enclosure `(lo, hi)`, which lies inside the claimed one.
///
/// Beyond the exact route (rectified, more than 8 coupled features) an enclosure claim is
/// accepted when the kernel's enclosure ([`enclosure`]) at some support limit `K` lies inside
/// it; `K` grows until it does, or the two are disjoint (refused: the claim is wrong), or the
/// cost budget [`CHECK_BUDGET`] is spent (refused: not confirmed).
pub fn verify_witness(text: &str) -> Result<(BigRational, BigRational), String> {
    let obj = parse_object(text)?;
    let model = model_from_json(&obj).map_err(|e| e.to_string())?;
    let w0 = weights_of(&obj, None)?;
    let importance = importance_of(&obj, w0.n())?;
    let w = Weights { importance, ..w0 };
    for (key, size) in [("n", w.n()), ("m", w.m())] {
        if let Some(v) = obj.get(key)
            && v.as_u64() != Some(size as u64)
        {
            return Err(format!("\"{key}\" is {v}, but W has {key} = {size}"));
        }
    }
    let density = density_of(&obj)?;
    let claim = match (obj.get("value"), obj.get("enclosure")) {
        (Some(v), None) => {
            let c = rational(v, "\"value\"")?;
            (c.clone(), c)
        }
        (None, Some(Value::Array(e))) if e.len() == 2 => (
            rational(&e[0], "enclosure[0]")?,
            rational(&e[1], "enclosure[1]")?,
        ),
        _ => return Err("a witness claims either \"value\" or \"enclosure\": [lo, hi]".into()),
    };
    let is_value = obj.get("value").is_some();
    let exact = match &density {
        Some(s) => exact_loss(&model, &w, s),
        None => Some(witness_value(&model, &w, None)?),
    };
    let Some(exact) = exact else {
        if is_value {
            return Err(
                "no exact route for this witness's loss (more than 8 coupled features, \
                        rectified): claim an \"enclosure\": [lo, hi]"
                    .into(),
            );
        }
        let s = density.as_ref().ok_or("no density")?;
        return enclosure_inside(&model, &w, s, &claim);
    };
    if is_value {
        if claim.0 != exact {
            return Err(format!(
                "claims {} (≈ {}), but the exact value is ≈ {}: {}",
                claim.0,
                fmt_decimal_exact(&claim.0),
                fmt_decimal_exact(&exact),
                exact
            ));
        }
    } else if !(claim.0 <= exact && exact <= claim.1) {
        return Err(format!(
            "claims [{}, {}], but the exact value is ≈ {}: {}",
            claim.0,
            claim.1,
            fmt_decimal_exact(&exact),
            exact
        ));
    }
    Ok((exact.clone(), exact))
}

/// The kernel's enclosure at the first support limit `K` where it lies inside `claim`.
fn enclosure_inside(
    model: &Model,
    w: &Weights,
    s: &BigRational,
    claim: &(BigRational, BigRational),
) -> Result<(BigRational, BigRational), String> {
    let (lo, hi) = claim;
    if lo > hi {
        return Err(format!("the enclosure [{lo}, {hi}] is empty"));
    }
    let exact_up_to = crate::kernel::oracle::ORACLE_MAX_N;
    let mut last = None;
    // K = 1, 2, ... (the cost grows about geometrically, so the total is a small multiple of
    // the last) within the check's budget.
    for k in 1..=w.n() {
        if k > 1 && enclosure_cost(model, w, k, exact_up_to) > CHECK_BUDGET {
            break;
        }
        let e = enclosure(model, w, s, k, exact_up_to).map_err(|e| e.to_string())?;
        if e.hi < *lo || e.lo > *hi {
            return Err(format!(
                "claims [{lo}, {hi}], but the loss lies in [{}, {}] (kernel enclosure, K = {k})",
                e.lo, e.hi
            ));
        }
        if *lo <= e.lo && e.hi <= *hi {
            return Ok((e.lo, e.hi));
        }
        last = Some(e);
    }
    let e = last.ok_or("no support limit fits the cost budget")?;
    Err(format!(
        "claims [{lo}, {hi}]: not confirmed; the kernel's narrowest enclosure within the cost \
         budget is [{}, {}] (K = {}), not inside the claim",
        e.lo, e.hi, e.k
    ))
}

/// `e_lb` of a `"lower"` object, proved again: `phi(g, r) >= e_lb` for all real `g, r`.
fn proved_floor(lower: &Obj, model: &Model) -> Result<BigRational, String> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    // Floors proved in this process (a table repeats one per model): `(model, e_lb)` pairs.
    static PROVED: OnceLock<Mutex<HashSet<(Model, String)>>> = OnceLock::new();
    let e = rational(field(lower, "e_lb")?, "e_lb")?;
    let key = (*model, e.to_string());
    let proved = PROVED.get_or_init(|| Mutex::new(HashSet::new()));
    if proved.lock().is_ok_and(|m| m.contains(&key)) {
        return Ok(e);
    }
    floor::certify_floor_with_limit(
        model.act,
        model.p,
        &model.values,
        &e,
        floor::DEFAULT_MAX_BOXES,
    )
    .map_err(|err| format!("the floor e_lb = {e} is not proved: {err}"))?;
    if let Ok(mut m) = proved.lock() {
        m.insert(key);
    }
    Ok(e)
}

/// The lower bound a row's `"lower"` object proves for the question, re-derived by the kernel
/// inside the bound's scope.
fn lower_bound(
    lower: &Obj,
    st: &Setting,
    density: Option<&BigRational>,
    bias: bool,
    importance: Option<&[BigRational]>,
) -> Result<BigRational, String> {
    let name = field(lower, "bound")?.as_str().unwrap_or("");
    let corner = !bias && importance.is_none();
    let zero = || BigRational::from_integer(BigInt::from(0));
    let n = BigRational::from_integer(BigInt::from(st.n));
    match name {
        "zero" => Ok(zero()),
        "floor" => {
            let e = proved_floor(lower, &st.model)?;
            let total = importance.map_or(n, |v| v.iter().sum());
            Ok(density.map_or(e.clone() * &total, |s| s * e * total))
        }
        "linear-exact" => {
            if st.model.act != Activation::Power || st.model.p != 1 || importance.is_some() {
                return Err("linear-exact is proved for power p = 1 and equal importance".into());
            }
            Ok(closed_form::linear_optimum(st, density))
        }
        "projection" => {
            let s = density.ok_or("projection is a bound at a density")?;
            if st.model.values != Values::Uniform {
                return Err("projection is proved for uniform values only".into());
            }
            let j = uint(lower, "features")?;
            let weights = projection::top_weights(importance, st.n, j)?;
            let e = match lower.get("e_lb") {
                None => None,
                Some(_) => Some(proved_floor(lower, &st.model)?),
            };
            projection::projection_bound(st.m, &weights, s, e.as_ref())
        }
        "single-support+floor" => {
            let s = density.ok_or("single-support+floor is a bound at a density")?;
            if !corner {
                return Err(format!(
                    "{name} is proved for b = 0 and equal importance only"
                ));
            }
            let e = proved_floor(lower, &st.model)?;
            let inner = field(lower, "first_order")?
                .as_object()
                .ok_or("\"first_order\" must be an object")?;
            let l1 = lower_first_order(inner, st)?;
            let single = closed_form::single_support(s, st.n);
            Ok(&single * l1 + e * (s * &n - single * &n))
        }
        _ => {
            if !corner {
                return Err(format!(
                    "{name} is proved for b = 0 and equal importance only"
                ));
            }
            let l1 = lower_first_order(lower, st)?;
            Ok(density.map_or(l1.clone(), |s| closed_form::single_support(s, st.n) * l1))
        }
    }
}

/// The first-order lower bound (self, Theorem 1, an LP or a spectral certificate) a `"lower"` object
/// proves, re-derived by the kernel (`b = 0`, equal importance).
fn lower_first_order(lower: &Obj, st: &Setting) -> Result<BigRational, String> {
    let name = field(lower, "bound")?.as_str().unwrap_or("");
    match name {
        "self" => Ok(closed_form::self_first_order(st)),
        "theorem1" => {
            if st.model.act != Activation::Power {
                return Err("theorem1 is proved for the power activation only".into());
            }
            Ok(closed_form::theorem1_first_order(&st.model, st.n, st.m))
        }
        "lp-certificate" => {
            let cert = Certificate::from_json(&field(lower, "certificate")?.to_string())
                .map_err(|e| format!("certificate: {e}"))?;
            if cert.setting != *st {
                return Err("the certificate is for another model or size".into());
            }
            certificate::verify(&cert).map_err(|e| format!("certificate refused: {e}"))
        }
        "spectral-certificate" => {
            let cert = SpectralCertificate::from_json(field(lower, "certificate")?)
                .map_err(|e| format!("certificate: {e}"))?;
            if cert.setting != *st {
                return Err("the certificate is for another model or size".into());
            }
            spectral::verify(&cert).map_err(|e| format!("certificate refused: {e}"))
        }
        other => Err(format!(
            "unknown lower bound {other:?} (self, theorem1, lp-certificate, spectral-certificate)"
        )),
    }
}

/// Checks one table row's evidence from scratch (see the module documentation): the lower
/// bound re-derived and within its scope, the upper bound's witness evaluated exactly, both
/// equal to the values the row claims, `lower <= upper`, and the `certified` flag.
pub fn verify_row(text: &str) -> Result<VerifiedRow, String> {
    let obj = parse_object(text)?;
    match obj.get("format").and_then(|v| v.as_str()) {
        Some(EVIDENCE_FORMAT) => {}
        other => return Err(format!("format {other:?} is not {EVIDENCE_FORMAT:?}")),
    }
    let model = model_from_json(&obj).map_err(|e| e.to_string())?;
    let (n, m) = (uint(&obj, "n")?, uint(&obj, "m")?);
    check_sizes(n, m).map_err(|e| e.to_string())?;
    let st = Setting { model, n, m };
    let bias = match obj.get("bias") {
        None => false,
        Some(v) => v.as_bool().ok_or("\"bias\" must be true or false")?,
    };
    let importance = importance_of(&obj, n)?;
    let density = density_of(&obj)?;

    let lower_obj = field(&obj, "lower")?
        .as_object()
        .ok_or("\"lower\" must be an object")?;
    let lower = lower_bound(
        lower_obj,
        &st,
        density.as_ref(),
        bias,
        importance.as_deref(),
    )?;
    let claimed_lower = rational(field(lower_obj, "value")?, "lower value")?;
    if claimed_lower != lower {
        return Err(format!(
            "the lower bound is {lower}, not the claimed {claimed_lower}"
        ));
    }

    let upper_obj = field(&obj, "upper")?
        .as_object()
        .ok_or("\"upper\" must be an object")?;
    let w = weights_of(upper_obj, importance.clone())?;
    if w.n() != n || w.m() != m {
        return Err(format!(
            "the witness is {} x {}; the row is about m = {m}, n = {n}",
            w.m(),
            w.n()
        ));
    }
    if w.bias.is_some() && !bias {
        return Err("the witness has a bias but the row's question has b = 0".into());
    }
    let upper = match upper_obj.get("via") {
        None => witness_value(&model, &w, density.as_ref())?,
        // The ReLU is never farther than the identity from a nonnegative target, so the linear
        // loss of the same W and b bounds its ReLU loss from above (proofs/relu-below-linear.md).
        Some(Value::String(v)) if v == "linear" => {
            if model.act != Activation::Rect || model.p != 1 {
                return Err("\"via\": \"linear\" bounds the ReLU (rect p = 1) only".into());
            }
            let linear = Model {
                act: Activation::Power,
                ..model
            };
            witness_value(&linear, &w, density.as_ref())?
        }
        Some(other) => return Err(format!("\"via\": {other} is not \"linear\"")),
    };
    let claimed_upper = rational(field(upper_obj, "value")?, "upper value")?;
    if claimed_upper != upper {
        return Err(format!(
            "the witness's exact value is {upper}, not the claimed {claimed_upper}"
        ));
    }
    if lower > upper {
        return Err(format!(
            "refutation: lower bound {lower} exceeds upper bound {upper}"
        ));
    }
    let exact = lower == upper;
    let zero = BigRational::from_integer(BigInt::from(0));
    let tol = BigRational::new(BigInt::from(1), BigInt::from(1_000_000_000));
    let certified = exact || (lower > zero && (&upper - &lower) / &lower <= tol);
    if let Some(c) = obj.get("certified")
        && c.as_bool() != Some(certified)
    {
        return Err(format!("claims certified = {c}, but it is {certified}"));
    }
    Ok(VerifiedRow {
        setting: st,
        density,
        bias,
        importance,
        lower,
        upper,
        certified,
        exact,
    })
}
