//! The store of best-known configurations (untrusted files, verified on every read): one
//! witness file per model under `proofs/witnesses/`, in the witness format the kernel checks
//! ([`crate::kernel::evidence::verify_witness`]): `{"activation", "p", "values", "n", "m",
//! "W", "value", "source"}`, first order (`s -> 0`), `b = 0`, equal importance. `value` is the
//! exact `L1` of the rational `W`; `source` says how it was found.
//!
//! Reading a witness recomputes its exact value with the kernel and refuses a file whose claim
//! is wrong; [`offer`] replaces a stored witness only by a strictly better one (its exact value
//! recomputed too), so the store never gets worse.

use crate::kernel::error::{Error, Result};
use crate::kernel::evidence::verify_witness;
use crate::kernel::model::{Mat, Setting, Values, Weights};
use num_bigint::BigInt;
use num_rational::BigRational;
use std::path::{Path, PathBuf};

/// The store's directory: `$SUPERBOUND_STORE` if set (an empty value disables the store),
/// else `proofs/witnesses` of the source tree the binary was built from.
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os("SUPERBOUND_STORE") {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs/witnesses")),
    }
}

/// The file name of a model's first-order witness, e.g. `power-p2-n20-m5.json` (values other
/// than uniform are named: `rect-p1-n5-m2-beta2_3.json`).
pub fn file_name(st: &Setting) -> String {
    let values = match st.model.values {
        Values::Uniform => String::new(),
        v => format!(
            "-{}",
            v.to_string()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        ),
    };
    format!(
        "{}-p{}-n{}-m{}{values}.json",
        st.model.act.name(),
        st.model.p,
        st.n,
        st.m
    )
}

/// A stored witness, verified.
#[derive(Clone, Debug)]
pub struct Stored {
    pub weights: Weights,
    /// The exact `L1`, recomputed by the kernel.
    pub value: BigRational,
    /// The file name (provenance).
    pub file: String,
    /// How it was found, as the file says.
    pub source: String,
}

/// The witness file's JSON text.
pub fn witness_text(st: &Setting, w: &Weights, value: &BigRational, source: &str) -> String {
    let rows: Vec<Vec<String>> = (0..w.m())
        .map(|r| w.w.row(r).iter().map(|x| x.to_string()).collect())
        .collect();
    let head = serde_json::json!({
        "activation": st.model.act.name(),
        "p": st.model.p,
        "values": st.model.values.to_string(),
        "n": st.n,
        "m": st.m,
        "density": "0",
        "value": value.to_string(),
        "float": crate::kernel::arith::rational_to_f64(value),
        "source": source,
    });
    // One key a line, one row of W a line.
    let mut lines: Vec<String> = head
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("  {}: {v}", serde_json::json!(k)))
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<String> = rows
        .iter()
        .map(|r| format!("    {}", serde_json::json!(r)))
        .collect();
    lines.push(format!("  \"W\": [\n{}\n  ]", rows.join(",\n")));
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

/// Reads and verifies the witness of `st` in `dir` (`Ok(None)`: no file). A file for another
/// model or size, with a bias or importance weights, or whose value is not its exact `L1`, is
/// an error.
pub fn load_from(dir: &Path, st: &Setting) -> Result<Option<Stored>> {
    let file = file_name(st);
    let path = dir.join(&file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path.display().to_string(), e)),
    };
    let bad = |why: String| Error::input(format!("{}: {why}", path.display()));
    let obj: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let model =
        crate::kernel::certificate::model_from_json(&obj).map_err(|e| bad(e.to_string()))?;
    if model != st.model {
        return Err(bad(format!("is for the model {model}, not {}", st.model)));
    }
    for key in ["b", "importance"] {
        if obj.get(key).is_some_and(|v| !v.is_null()) {
            return Err(bad(format!("a stored witness has no {key:?}")));
        }
    }
    if obj
        .get("density")
        .is_some_and(|d| d.as_str() != Some("0") && d.as_u64() != Some(0))
    {
        return Err(bad("a stored witness is first order (density 0)".into()));
    }
    let (value, hi) = verify_witness(&text).map_err(bad)?;
    if value != hi {
        return Err(bad(
            "a stored witness must claim an exact value, not an enclosure".into(),
        ));
    }
    let mut sub = serde_json::Map::new();
    sub.insert("W".into(), obj.get("W").cloned().unwrap_or_default());
    let weights = Weights::from_json(&serde_json::Value::Object(sub).to_string())
        .map_err(|e| bad(e.to_string()))?;
    if weights.n() != st.n || weights.m() != st.m {
        return Err(bad(format!(
            "W is {} x {}; the model has m = {}, n = {}",
            weights.m(),
            weights.n(),
            st.m,
            st.n
        )));
    }
    let source = obj
        .get("source")
        .and_then(|s| s.as_str())
        .unwrap_or("")
        .to_string();
    Ok(Some(Stored {
        weights,
        value,
        file,
        source,
    }))
}

/// [`load_from`] the default store; a missing store or file, or a file that fails, gives
/// `None` (a failing file is reported on stderr once per file).
pub fn load(st: &Setting) -> Option<Stored> {
    let dir = default_dir()?;
    match load_from(&dir, st) {
        Ok(found) => found,
        Err(e) => {
            use std::collections::HashSet;
            use std::sync::{Mutex, OnceLock};
            static WARNED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
            let warned = WARNED.get_or_init(|| Mutex::new(HashSet::new()));
            if warned.lock().is_ok_and(|mut w| w.insert(file_name(st))) {
                eprintln!("superbound: warning: stored witness ignored: {e}");
            }
            None
        }
    }
}

/// What [`offer`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// No witness was stored; the offered one was written.
    New,
    /// The offered witness was strictly better and replaced the old value.
    Improved(BigRational),
    /// The stored witness (this value) is at least as good; nothing was written.
    Kept(BigRational),
}

/// Offers a first-order witness for `st`: its exact `L1` is computed, and it is written only
/// when no witness is stored or it is strictly better than the stored one (which is verified;
/// a stored file that fails verification is replaced). Returns what happened and the exact
/// value of the offered witness.
pub fn offer(
    dir: &Path,
    st: &Setting,
    w: &Weights,
    source: &str,
) -> Result<(Outcome, BigRational)> {
    if w.n() != st.n || w.m() != st.m || w.bias.is_some() || w.importance.is_some() {
        return Err(Error::input(
            "a stored witness is an m x n W without bias or importance",
        ));
    }
    let value = crate::kernel::loss::first_order_exact(&st.model, w);
    let old = match load_from(dir, st) {
        Ok(old) => old,
        Err(e) => {
            eprintln!("superbound: warning: replacing a stored witness that fails: {e}");
            None
        }
    };
    let outcome = match old {
        Some(old) if old.value <= value => return Ok((Outcome::Kept(old.value), value)),
        Some(old) => Outcome::Improved(old.value),
        None => Outcome::New,
    };
    let text = witness_text(st, w, &value, source);
    // The kernel re-checks the text before it is written.
    let checked = verify_witness(&text).map_err(Error::input)?;
    if checked.0 != value || checked.1 != value {
        return Err(Error::input("the witness's value changed on re-checking"));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    let path = dir.join(file_name(st));
    let tmp = dir.join(format!(".{}.tmp{}", file_name(st), std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| Error::io(tmp.display().to_string(), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(path.display().to_string(), e))?;
    Ok((outcome, value))
}

/// `W` rounded to the denominator `2^bits` entry by entry.
pub fn round_weights(w: &Weights, bits: usize) -> Weights {
    let den = BigInt::from(1) << bits;
    Weights::new(Mat {
        rows: w.w.rows,
        cols: w.w.cols,
        data: w
            .w
            .data
            .iter()
            .map(|x| crate::kernel::arith::round_to_denominator(x, &den))
            .collect(),
    })
}

/// A short rational form of `w` with (almost) the same `L1`: the roundings to `2^-bits` for
/// `bits` in 24, 32, 40 and `w` itself; the one of fewest bits whose exact `L1` is within
/// `1e-15` relative of the smallest of them (small denominators keep the files and the exact
/// evaluation small).
pub fn rationalise(st: &Setting, w: &Weights) -> (Weights, BigRational) {
    let mut cands: Vec<(Weights, BigRational)> = [24, 32, 40]
        .into_iter()
        .map(|b| round_weights(w, b))
        .chain(std::iter::once(Weights::new(w.w.clone())))
        .map(|c| {
            let v = crate::kernel::loss::first_order_exact(&st.model, &c);
            (c, v)
        })
        .collect();
    let best = cands
        .iter()
        .map(|c| c.1.clone())
        .min()
        .expect("four candidates");
    let tol = &best * BigRational::new(BigInt::from(1), BigInt::from(10).pow(15));
    let k = cands
        .iter()
        .position(|c| c.1 <= &best + &tol)
        .expect("the best is within its tolerance");
    cands.swap_remove(k)
}
