//! The store of best-known configurations (untrusted files, verified on every read): one
//! witness file per model and density under `proofs/witnesses/`, in the witness format the
//! kernel checks ([`crate::kernel::evidence::verify_witness`]): `{"activation", "p", "values",
//! "n", "m", "density", "W", "value", "source"}`, `b = 0`, equal importance. At density `0`
//! (first order, `s -> 0`) `value` is the exact `L1` of the rational `W`; at a density `s > 0`
//! it is the exact loss `L(W; s)`. `source` says how it was found.
//!
//! Reading a witness recomputes its exact value with the kernel and refuses a file whose claim
//! is wrong; [`offer`] replaces a stored witness only by a strictly better one (its exact value
//! recomputed too), so the store never gets worse.

use crate::kernel::error::{Error, Result};
use crate::kernel::evidence::verify_witness;
use crate::kernel::model::{Mat, Setting, Values, Weights};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;
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

/// The file name of a model's witness at density `s`, e.g. `power-p2-n20-m5.json` at first
/// order (`s = 0`) and `power-p2-n4-m3-s1_100.json` at `s = 1/100` (values other than uniform
/// are named: `rect-p1-n5-m2-beta2_3.json`).
pub fn file_name(st: &Setting, s: &BigRational) -> String {
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
    let density = if s.is_zero() {
        String::new()
    } else {
        format!("-s{}", s.to_string().replace('/', "_"))
    };
    format!(
        "{}-p{}-n{}-m{}{values}{density}.json",
        st.model.act.name(),
        st.model.p,
        st.n,
        st.m
    )
}

/// The longest density the store names files by, in characters of `"a/b"` (a file name has at
/// most 255 bytes).
pub const MAX_DENSITY_CHARS: usize = 64;

/// Refuses a density the store cannot name a file by (see [`MAX_DENSITY_CHARS`]); `search`
/// calls it before any optimisation.
pub fn check_density(s: &BigRational) -> Result<()> {
    let text = s.to_string();
    if text.len() > MAX_DENSITY_CHARS {
        return Err(Error::input(format!(
            "density {}: the store names its files by the density, which is at most \
             {MAX_DENSITY_CHARS} characters as a/b; give a shorter one",
            crate::kernel::model::shown(&text)
        )));
    }
    Ok(())
}

/// The value a stored witness claims: the exact `L1` at `s = 0`, the exact loss `L(W; s)` at
/// a density `s > 0` (`None` where the kernel has no exact route: rectified, too many coupled
/// features).
pub fn stored_value(st: &Setting, s: &BigRational, w: &Weights) -> Option<BigRational> {
    if s.is_zero() {
        Some(crate::kernel::loss::first_order_exact(&st.model, w))
    } else {
        crate::kernel::loss::exact_loss(&st.model, w, s)
    }
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
pub fn witness_text(
    st: &Setting,
    s: &BigRational,
    w: &Weights,
    value: &BigRational,
    source: &str,
) -> String {
    let rows: Vec<Vec<String>> = (0..w.m())
        .map(|r| w.w.row(r).iter().map(|x| x.to_string()).collect())
        .collect();
    let head = serde_json::json!({
        "activation": st.model.act.name(),
        "p": st.model.p,
        "values": st.model.values.to_string(),
        "n": st.n,
        "m": st.m,
        "density": s.to_string(),
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

/// The largest store file read, in bytes (the largest stored witness, `n = 100`, `m = 10`,
/// is about 38 KB).
pub const MAX_FILE_BYTES: usize = 256 << 10;

/// The longest entry of a stored `W`, in characters of `"a/b"` (stored entries are dyadic with
/// denominators up to `2^40`, at most 37 characters). The exact loss costs grow with the
/// digits, so a longer entry is refused before any arithmetic: a crafted file cannot stall
/// `bounds` or `table`, which read the store by default.
pub const MAX_ENTRY_CHARS: usize = 64;

/// The largest common denominator of a stored `W`, in bits (stored witnesses are dyadic with
/// denominators up to `2^40`).
pub const MAX_DENOMINATOR_BITS: u64 = 128;

/// Refuses a `W` whose entries' common denominator exceeds [`MAX_DENOMINATOR_BITS`] (computed
/// with an early stop, so its own cost stays small).
fn check_denominator(w: &Weights) -> std::result::Result<(), String> {
    crate::kernel::evidence::check_entry_sizes("W", &w.w.data, MAX_DENOMINATOR_BITS)
        .map_err(|e| format!("{e}; stored witnesses are dyadic, at most 2^40"))
}

/// Whether every entry of `w` is at most [`MAX_ENTRY_CHARS`] characters long as `"a/b"`.
fn fits(w: &Weights) -> bool {
    w.w.data
        .iter()
        .all(|x| x.to_string().len() <= MAX_ENTRY_CHARS)
}

/// Refuses a store object with a `W` entry longer than [`MAX_ENTRY_CHARS`] (checked on the
/// parsed JSON, before any arithmetic; the file size is checked before parsing).
fn check_entries(
    obj: &serde_json::Map<String, serde_json::Value>,
) -> std::result::Result<(), String> {
    let longest = obj
        .get("W")
        .and_then(|w| w.as_array())
        .into_iter()
        .flatten()
        .filter_map(|row| row.as_array())
        .flatten()
        .map(|x| x.as_str().map_or_else(|| x.to_string().len(), str::len))
        .max()
        .unwrap_or(0);
    if longest > MAX_ENTRY_CHARS {
        return Err(format!(
            "has a W entry of {longest} characters; stored entries have at most \
             {MAX_ENTRY_CHARS}"
        ));
    }
    Ok(())
}

/// Reads and verifies the witness of `st` at density `s` in `dir` (`Ok(None)`: no file). A
/// file for another model, size or density, with a bias or importance weights, or whose value
/// is not its exact loss, is an error.
pub fn load_from(dir: &Path, st: &Setting, s: &BigRational) -> Result<Option<Stored>> {
    if check_density(s).is_err() {
        return Ok(None); // no file can be named by it
    }
    let file = file_name(st, s);
    let path = dir.join(&file);
    let bad = |why: String| Error::input(format!("{}: {why}", path.display()));
    if !path.exists() && path.symlink_metadata().is_err() {
        return Ok(None);
    }
    let text = crate::kernel::model::read_text(&path, MAX_FILE_BYTES as u64)
        .map_err(|e| Error::input(e.to_string()))?;
    let obj = match crate::kernel::model::parse_json_strict(&text, "the file") {
        Ok(serde_json::Value::Object(o)) => o,
        Ok(_) => return Err(bad("must be a JSON object".into())),
        Err(e) => return Err(bad(e.to_string())),
    };
    check_entries(&obj).map_err(bad)?;
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
    // The density as the kernel reads it (the same parser as `check`).
    let density = crate::kernel::evidence::density_of(&obj)
        .map_err(bad)?
        .unwrap_or_else(BigRational::zero);
    if &density != s {
        let short = |q: &BigRational| crate::kernel::model::shown(&q.to_string());
        return Err(bad(format!(
            "is a witness at density {}, not at {}",
            short(&density),
            short(s)
        )));
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
    // The exact value's cost, bounded before any arithmetic on it: every entry short as an
    // exact rational (a short literal like 1e-4096 is not), and the common denominator of W
    // small (entries of 63 characters with distinct 31-digit denominators have one of about
    // 28,000 digits, and the exact L1 works with its 4p-th power).
    if !fits(&weights) {
        return Err(bad(format!(
            "has a W entry longer than {MAX_ENTRY_CHARS} characters as a/b"
        )));
    }
    check_denominator(&weights).map_err(bad)?;
    let (value, hi) = verify_witness(&text).map_err(bad)?;
    if value != hi {
        return Err(bad(
            "a stored witness must claim an exact value, not an enclosure".into(),
        ));
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
pub fn load(st: &Setting, s: &BigRational) -> Option<Stored> {
    let dir = default_dir()?;
    match load_from(&dir, st, s) {
        Ok(found) => found,
        Err(e) => {
            use std::collections::HashSet;
            use std::sync::{Mutex, OnceLock};
            static WARNED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
            let warned = WARNED.get_or_init(|| Mutex::new(HashSet::new()));
            if warned.lock().is_ok_and(|mut w| w.insert(file_name(st, s))) {
                eprintln!(
                    "superbound: warning: stored witness ignored: {}",
                    crate::kernel::model::one_line(&e.to_string())
                );
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

/// Offers a witness for `st` at density `s`: its exact value ([`stored_value`]) is computed,
/// and it is written only when no witness is stored or it is strictly better than the stored
/// one (which is verified; a stored file that fails verification is replaced). Returns what
/// happened and the exact value of the offered witness.
pub fn offer(
    dir: &Path,
    st: &Setting,
    s: &BigRational,
    w: &Weights,
    source: &str,
) -> Result<(Outcome, BigRational)> {
    if w.n() != st.n || w.m() != st.m || w.bias.is_some() || w.importance.is_some() {
        return Err(Error::input(
            "a stored witness is an m x n W without bias or importance",
        ));
    }
    check_density(s)?;
    if !fits(w) {
        return Err(Error::input(format!(
            "a stored W has entries of at most {MAX_ENTRY_CHARS} characters"
        )));
    }
    check_denominator(w).map_err(Error::input)?;
    let value = stored_value(st, s, w).ok_or_else(|| {
        Error::too_large(format!(
            "no exact loss at density {s} for this W (rectified, too many coupled features): \
             nothing stored"
        ))
    })?;
    let old = match load_from(dir, st, s) {
        Ok(old) => old,
        Err(e) => {
            eprintln!(
                "superbound: warning: replacing a stored witness that fails: {}",
                crate::kernel::model::one_line(&e.to_string())
            );
            None
        }
    };
    let outcome = match old {
        Some(old) if old.value <= value => return Ok((Outcome::Kept(old.value), value)),
        Some(old) => Outcome::Improved(old.value),
        None => Outcome::New,
    };
    let text = witness_text(st, s, w, &value, source);
    // The kernel re-checks the text before it is written.
    let checked = verify_witness(&text).map_err(Error::input)?;
    if checked.0 != value || checked.1 != value {
        return Err(Error::input("the witness's value changed on re-checking"));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    let path = dir.join(file_name(st, s));
    let tmp = dir.join(format!(".{}.tmp{}", file_name(st, s), std::process::id()));
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

/// A short rational form of `w` with (almost) the same value at density `s` ([`stored_value`]):
/// the roundings to `2^-bits` for `bits` in 24, 32, 40 and `w` itself; the one of fewest bits
/// whose exact value is within `1e-15` relative of the smallest of them (small denominators
/// keep the files and the exact evaluation small). Candidates with an entry longer than
/// [`MAX_ENTRY_CHARS`] or a common denominator beyond [`MAX_DENOMINATOR_BITS`] are left out
/// (the store would refuse them). `None` where no candidate
/// has an exact value.
pub fn rationalise(st: &Setting, s: &BigRational, w: &Weights) -> Option<(Weights, BigRational)> {
    let mut cands: Vec<(Weights, BigRational)> = [24, 32, 40]
        .into_iter()
        .map(|b| round_weights(w, b))
        .chain(std::iter::once(Weights::new(w.w.clone())))
        .filter(|c| fits(c) && check_denominator(c).is_ok())
        .filter_map(|c| stored_value(st, s, &c).map(|v| (c, v)))
        .collect();
    let best = cands.iter().map(|c| c.1.clone()).min()?;
    let tol = &best * BigRational::new(BigInt::from(1), BigInt::from(10).pow(15));
    let k = cands
        .iter()
        .position(|c| c.1 <= &best + &tol)
        .expect("the best is within its tolerance");
    Some(cands.swap_remove(k))
}
