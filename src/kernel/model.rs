//! The toy autoencoder `xhat = sigma(G x + b)`, `G = W^T W` (THEORY.md, "The model").
//!
//! Inputs `x_i = B_i U_i` with `B_i ~ Bernoulli(s)` and `U_i ~ D` on `[0, 1]`, all independent;
//! `s` is the **density**, `S = 1 - s` the sparsity. The loss is
//! `L(W; s) = sum_i I_i E (x_i - xhat_i)^2` with importance weights `I_i` (default 1).

use crate::kernel::arith::{Ring, Scalar, binomial, common_denominator, factorial, parse_rational};
use crate::kernel::error::{Error, Result};
use num_bigint::BigInt;
use num_rational::BigRational;
use std::fmt;
use std::str::FromStr;

/// Largest exponent `p` accepted (numbers grow like `|G|^{2p}`; past this nothing is gained).
pub const MAX_P: u32 = 16;
/// Largest number of features or hidden dimensions for the exact engines.
pub const MAX_DIM: usize = 1000;
/// Largest integer parameter of a `beta:A,B` value distribution.
pub const MAX_BETA: u32 = 64;

/// The activation `sigma`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `sigma(t) = t^p`.
    Power,
    /// `sigma(t) = max(t, 0)^p` (`p = 1` is the ReLU of Elhage et al.).
    Rect,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Power => "power",
            Activation::Rect => "rect",
        }
    }
    /// `sigma(t)` for the exponent `p`.
    pub fn apply<F: Scalar>(self, t: &F, p: u32) -> F {
        match self {
            Activation::Power => t.pow(p),
            Activation::Rect => t.max0().pow(p),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The distribution `D` of a feature's value when it is active, with exact rational moments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Values {
    /// `Uniform[0, 1]`: `mu_k = 1/(k+1)`.
    Uniform,
    /// `Beta(A, B)` with integer `A, B >= 1`: `mu_k = prod_{r<k} (A+r)/(A+B+r)`.
    Beta(u32, u32),
    /// The point mass at 1: `mu_k = 1`.
    One,
}

impl Values {
    /// `mu_k = E[U^k]`.
    pub fn moment(&self, k: u32) -> BigRational {
        match *self {
            Values::Uniform => BigRational::new(BigInt::one(), BigInt::from(k + 1)),
            Values::Beta(a, b) => (0..k).fold(BigRational::one(), |acc, r| {
                acc * BigRational::new(BigInt::from(a + r), BigInt::from(a + b + r))
            }),
            Values::One => BigRational::one(),
        }
    }

    /// The density on `[0, 1]` as monomial coefficients `[d_0, d_1, ...]`, or `None` for the
    /// point mass. `Beta(A, B)`: `u^{A-1} (1-u)^{B-1} (A+B-1)! / ((A-1)! (B-1)!)`.
    pub fn density_polynomial(&self) -> Option<Vec<BigRational>> {
        match *self {
            Values::Uniform => Some(vec![BigRational::one()]),
            Values::Beta(a, b) => {
                let norm =
                    BigRational::new(factorial(a + b - 1), factorial(a - 1) * factorial(b - 1));
                let mut coeffs = vec![BigRational::zero(); (a + b - 1) as usize];
                for t in 0..b {
                    let sign = if t % 2 == 0 { 1 } else { -1 };
                    coeffs[(a - 1 + t) as usize] = norm.clone()
                        * BigRational::from_integer(binomial(b - 1, t) * BigInt::from(sign));
                }
                Some(coeffs)
            }
            Values::One => None,
        }
    }
}

impl fmt::Display for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Values::Uniform => f.write_str("uniform"),
            Values::Beta(a, b) => write!(f, "beta:{a},{b}"),
            Values::One => f.write_str("one"),
        }
    }
}

impl FromStr for Values {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "uniform" => Ok(Values::Uniform),
            "one" => Ok(Values::One),
            other => {
                let Some(params) = other.strip_prefix("beta:") else {
                    return Err(format!(
                        "unknown value distribution {other:?} (expected uniform, one or beta:A,B)"
                    ));
                };
                let (a, b) = params.split_once(',').ok_or_else(|| {
                    format!("beta needs two parameters, as beta:2,3 (got {other:?})")
                })?;
                let parse = |t: &str| -> std::result::Result<u32, String> {
                    let v: u32 = t
                        .trim()
                        .parse()
                        .map_err(|_| format!("beta parameter {t:?} is not a positive integer"))?;
                    if v == 0 || v > MAX_BETA {
                        return Err(format!("beta parameter {v} is outside 1..={MAX_BETA}"));
                    }
                    Ok(v)
                };
                Ok(Values::Beta(parse(a)?, parse(b)?))
            }
        }
    }
}

/// Activation, exponent and value distribution: everything but the sizes and weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Model {
    pub act: Activation,
    pub p: u32,
    pub values: Values,
}

impl Model {
    /// Checks `1 <= p <= MAX_P`.
    pub fn new(act: Activation, p: u32, values: Values) -> Result<Self> {
        if p == 0 {
            return Err(Error::input("p must be at least 1"));
        }
        if p > MAX_P {
            return Err(Error::input(format!(
                "p = {p} is larger than the supported limit {MAX_P}"
            )));
        }
        Ok(Model { act, p, values })
    }
    /// `mu_k = E[U^k]` of the value distribution.
    pub fn mu(&self, k: u32) -> BigRational {
        self.values.moment(k)
    }
    /// `sigma(t)` of this model.
    pub fn sigma<F: Scalar>(&self, t: &F) -> F {
        self.act.apply(t, self.p)
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} p={}, values {}", self.act, self.p, self.values)
    }
}

/// Checks the sizes `n` (features) and `m` (hidden dimensions).
pub fn check_sizes(n: usize, m: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::input("n (features) must be at least 1"));
    }
    if m == 0 {
        return Err(Error::input("m (hidden dimensions) must be at least 1"));
    }
    if n > MAX_DIM || m > MAX_DIM {
        return Err(Error::input(format!(
            "n = {n}, m = {m}: the exact engines accept at most {MAX_DIM} of each"
        )));
    }
    Ok(())
}

/// A model with its sizes: `n` features in `m` hidden dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Setting {
    pub model: Model,
    pub n: usize,
    pub m: usize,
}

impl Setting {
    pub fn new(model: Model, n: usize, m: usize) -> Result<Self> {
        check_sizes(n, m)?;
        Ok(Setting { model, n, m })
    }
}

/// The feature density `s` in `(0, 1]`, exact.
#[derive(Clone, Debug, PartialEq)]
pub struct Density(pub BigRational);

impl Density {
    /// From `--density R` (`R` in `(0, 1]`) or `--sparsity S` (`s = 1 - S`). Every error names
    /// the option and the text given, e.g. `--density 2: the density must be in (0, 1]`.
    pub fn parse(density: Option<&str>, sparsity: Option<&str>) -> Result<Self> {
        match (density, sparsity) {
            (Some(d), None) => Self::parse_option("--density", d),
            (None, Some(sp)) => {
                let shown = shown(sp);
                let big_s = parse_rational(sp)
                    .map_err(|e| Error::input(format!("--sparsity {shown}: {e}")))?;
                Self::new(BigRational::one() - big_s).map_err(|_| {
                    Error::input(format!(
                        "--sparsity {shown}: the sparsity must be in [0, 1) (the density \
                         s = 1 - S must be in (0, 1])"
                    ))
                })
            }
            (Some(_), Some(_)) => Err(Error::input(
                "give either --density or --sparsity, not both",
            )),
            (None, None) => Err(Error::input("give --density R or --sparsity S")),
        }
    }
    /// A density given to the option `option` as `text`; errors name both.
    pub fn parse_option(option: &str, text: &str) -> Result<Self> {
        let shown = shown(text);
        let s = parse_rational(text).map_err(|e| Error::input(format!("{option} {shown}: {e}")))?;
        Self::new(s)
            .map_err(|_| Error::input(format!("{option} {shown}: the density must be in (0, 1]")))
    }
    pub fn new(s: BigRational) -> Result<Self> {
        if !s.positive() || s > BigRational::one() {
            return Err(Error::input(format!(
                "density s = {s} is outside (0, 1] (sparsity S = 1 - s must be in [0, 1))"
            )));
        }
        Ok(Density(s))
    }
}

/// The most characters of a message printed on one line; longer ones keep their start and end.
pub const MAX_LINE_CHARS: usize = 2000;

/// A message made safe for one line of a terminal: line breaks, tabs and other control
/// characters are escaped (`\n`, `\u{1b}`), and a message longer than [`MAX_LINE_CHARS`] keeps
/// its first 1500 and last 300 characters around a note of how many were left out (an exact
/// value of thousands of digits stays readable, and its ends still show).
pub fn one_line(msg: &str) -> String {
    let escaped: String = msg
        .chars()
        .flat_map(|c| {
            let e: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            e
        })
        .collect();
    let count = escaped.chars().count();
    if count <= MAX_LINE_CHARS {
        return escaped;
    }
    let head: String = escaped.chars().take(1500).collect();
    let tail: String = escaped.chars().skip(count - 300).collect();
    format!(
        "{head} ... [{} characters left out] ... {tail}",
        count - 1800
    )
}

/// A user's text for an error line: as given when short and plain, else quoted (escaping line
/// breaks and control characters) and cut to 40 characters.
pub fn shown(text: &str) -> String {
    if !text.is_empty() && text.len() <= 40 && text.chars().all(|c| c.is_ascii_graphic()) {
        return text.to_string();
    }
    let cut: String = text.chars().take(40).collect();
    if cut.len() < text.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

/// A dense row-major matrix over a ring (the crate's matrices are small; rows are features or
/// hidden dimensions).
#[derive(Clone, Debug, PartialEq)]
pub struct Mat<T> {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<T>,
}

impl<T: Clone> Mat<T> {
    pub fn from_fn(rows: usize, cols: usize, f: impl Fn(usize, usize) -> T) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(f(i, j));
            }
        }
        Mat { rows, cols, data }
    }
    pub fn get(&self, i: usize, j: usize) -> &T {
        &self.data[i * self.cols + j]
    }
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
    pub fn map<U: Clone>(&self, f: impl Fn(&T) -> U) -> Mat<U> {
        Mat {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(f).collect(),
        }
    }
}

impl<T: Ring> Mat<T> {
    /// The Gram matrix `W^T W` of an `m x n` matrix: `G_ij = <w_i, w_j>` over columns.
    pub fn gram(&self) -> Mat<T> {
        let n = self.cols;
        let mut g = Mat::from_fn(n, n, |_, _| T::zero());
        for i in 0..n {
            for j in i..n {
                let mut acc = T::zero();
                for k in 0..self.rows {
                    acc.add_mul(self.get(k, i), self.get(k, j));
                }
                g.data[i * n + j] = acc.clone();
                g.data[j * n + i] = acc;
            }
        }
        g
    }
}

/// Weights of one autoencoder, exact: `W` (`m x n`), optional bias `b` and importance `I`.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub w: Mat<BigRational>,
    pub bias: Option<Vec<BigRational>>,
    pub importance: Option<Vec<BigRational>>,
}

impl Weights {
    pub fn new(w: Mat<BigRational>) -> Self {
        Weights {
            w,
            bias: None,
            importance: None,
        }
    }
    pub fn n(&self) -> usize {
        self.w.cols
    }
    pub fn m(&self) -> usize {
        self.w.rows
    }
    /// Reads `{"W": [[n entries] x m rows], "b": [n]?, "importance": [n]?}`; entries are JSON
    /// numbers (read exactly as decimals) or rational strings such as `"-3/7"`.
    pub fn from_json(text: &str) -> Result<Self> {
        let v = parse_json_strict(text, "weights file")?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::input("weights file must be a JSON object with a \"W\" key"))?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "W" | "b" | "importance") {
                return Err(Error::input(format!(
                    "weights file has an unknown key {key:?} (expected W, b, importance)"
                )));
            }
        }
        let rows = obj
            .get("W")
            .ok_or_else(|| Error::input("weights file has no \"W\" key"))?
            .as_array()
            .ok_or_else(|| Error::input("\"W\" must be an array of rows"))?;
        if rows.is_empty() {
            return Err(Error::input("\"W\" has no rows (m must be at least 1)"));
        }
        let mut data = Vec::new();
        let mut n = None;
        for (r, row) in rows.iter().enumerate() {
            let row = row
                .as_array()
                .ok_or_else(|| Error::input(format!("row {r} of \"W\" is not an array")))?;
            if row.is_empty() {
                return Err(Error::input(format!("row {r} of \"W\" is empty")));
            }
            match n {
                None => n = Some(row.len()),
                Some(len) if len != row.len() => {
                    return Err(Error::input(format!(
                        "\"W\" is ragged: row 0 has {len} entries, row {r} has {}",
                        row.len()
                    )));
                }
                _ => {}
            }
            for (c, entry) in row.iter().enumerate() {
                data.push(
                    json_rational(entry).map_err(|e| Error::input(format!("W[{r}][{c}]: {e}")))?,
                );
            }
        }
        let n = n.unwrap_or(0);
        check_sizes(n, rows.len())?;
        let vector = |key: &str| -> Result<Option<Vec<BigRational>>> {
            let Some(v) = obj.get(key) else {
                return Ok(None);
            };
            let arr = v.as_array().ok_or_else(|| {
                Error::input(format!("\"{key}\" must be an array of {n} entries"))
            })?;
            if arr.len() != n {
                return Err(Error::input(format!(
                    "\"{key}\" has {} entries; W has n = {n} columns",
                    arr.len()
                )));
            }
            arr.iter()
                .enumerate()
                .map(|(i, e)| {
                    json_rational(e).map_err(|msg| Error::input(format!("{key}[{i}]: {msg}")))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some)
        };
        let bias = vector("b")?;
        let importance = vector("importance")?;
        if let Some(imp) = &importance
            && let Some(i) = imp.iter().position(|x| *x < BigRational::zero())
        {
            return Err(Error::input(format!("importance[{i}] is negative")));
        }
        Ok(Weights {
            w: Mat {
                rows: rows.len(),
                cols: n,
                data,
            },
            bias,
            importance,
        })
    }

    /// The JSON form [`Weights::from_json`] reads, with exact `"a/b"` strings.
    pub fn to_json(&self) -> serde_json::Value {
        let strings =
            |v: &[BigRational]| -> Vec<String> { v.iter().map(|q| q.to_string()).collect() };
        let mut obj = serde_json::Map::new();
        let rows: Vec<Vec<String>> = (0..self.m()).map(|r| strings(self.w.row(r))).collect();
        obj.insert("W".into(), serde_json::json!(rows));
        if let Some(b) = &self.bias {
            obj.insert("b".into(), serde_json::json!(strings(b)));
        }
        if let Some(i) = &self.importance {
            obj.insert("importance".into(), serde_json::json!(strings(i)));
        }
        serde_json::Value::Object(obj)
    }

    /// `(V^T V, E)` with `W = V / E`, `V` integral and `E` the least common denominator of `W`:
    /// the Gram matrix is `V^T V / E^2`, computed in integers (no gcd per product).
    pub fn integer_gram(&self) -> (Mat<BigInt>, BigInt) {
        let e = common_denominator(&self.w.data);
        let v = self.w.map(|x| x.numer() * (&e / x.denom()));
        (small_gram(&v).unwrap_or_else(|| v.gram()), e)
    }

    /// The exact Gram matrix `W^T W`, fraction-free: [`Weights::integer_gram`], then each entry
    /// normalised once (the generic `w.gram()` reduces after every product and sum).
    pub fn exact_gram(&self) -> Mat<BigRational> {
        let (g, e) = self.integer_gram();
        let e2 = &e * &e;
        g.map(|x| BigRational::new(x.clone(), e2.clone()))
    }

    /// The weights converted to another number type.
    pub fn gram<F: Scalar>(&self) -> Mat<F> {
        self.w.map(F::from_rational).gram()
    }
}

/// `V^T V` in `i128` arithmetic, `None` if an entry or any product or partial sum does not fit
/// (every operation checked): the Gram matrix of the usual input without a big integer per step.
fn small_gram(v: &Mat<BigInt>) -> Option<Mat<BigInt>> {
    use num_traits::ToPrimitive;
    let small: Vec<i128> = v
        .data
        .iter()
        .map(ToPrimitive::to_i128)
        .collect::<Option<_>>()?;
    let (m, n) = (v.rows, v.cols);
    let mut g = Mat::from_fn(n, n, |_, _| BigInt::zero());
    for i in 0..n {
        for j in i..n {
            let mut acc = 0i128;
            for k in 0..m {
                acc = acc.checked_add(small[k * n + i].checked_mul(small[k * n + j])?)?;
            }
            g.data[i * n + j] = BigInt::from(acc);
            g.data[j * n + i] = BigInt::from(acc);
        }
    }
    Some(g)
}

/// Reads a text file of at most `max_bytes`: anything but a regular file (a pipe, a device such
/// as `/dev/zero`, a directory) is refused, and at most `max_bytes + 1` bytes are read, so a file
/// that grows or lies about its size cannot hang the reader or exhaust memory.
pub fn read_text(path: &std::path::Path, max_bytes: u64) -> Result<String> {
    use std::io::Read;
    let shown = || path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(shown(), e))?;
    if !meta.is_file() {
        return Err(Error::input(format!("{}: not a regular file", shown())));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(shown(), e))?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(shown(), e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(Error::too_large(format!(
            "{}: more than {max_bytes} bytes; files up to {max_bytes} bytes are read",
            shown()
        )));
    }
    String::from_utf8(bytes).map_err(|_| Error::input(format!("{}: not valid UTF-8 text", shown())))
}

/// Parses a JSON file's text strictly: a leading UTF-8 byte-order mark is accepted (and
/// skipped), and an object with the same key twice is refused naming the key (serde_json alone
/// silently keeps the last). `what` names the file kind in messages.
pub fn parse_json_strict(text: &str, what: &str) -> Result<serde_json::Value> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::input(format!("{what} is not valid JSON: {e}")))?;
    if let Some(key) = duplicate_key(text) {
        return Err(Error::input(format!(
            "{what} has the key {key:?} twice in one object"
        )));
    }
    Ok(v)
}

/// The first key repeated within one object of a valid JSON text, if any.
fn duplicate_key(text: &str) -> Option<String> {
    // (is an object, keys seen, a key comes next)
    let mut stack: Vec<(bool, std::collections::HashSet<String>, bool)> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some((true, keys, expect_key)) = stack.last_mut()
                    && *expect_key
                {
                    *expect_key = false;
                    let raw = text.get(start..=i.min(bytes.len() - 1))?;
                    let key: String = serde_json::from_str(raw).ok()?;
                    if !keys.insert(key.clone()) {
                        return Some(key);
                    }
                }
            }
            b'{' => stack.push((true, Default::default(), true)),
            b'[' => stack.push((false, Default::default(), false)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                if let Some((true, _, expect_key)) = stack.last_mut() {
                    *expect_key = true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// One entry of a weights file: a JSON number (read exactly as a decimal) or a rational string.
fn json_rational(v: &serde_json::Value) -> std::result::Result<BigRational, String> {
    match v {
        serde_json::Value::Number(num) => parse_rational(&num.to_string()),
        serde_json::Value::String(s) => parse_rational(s),
        other => Err(format!("{other} is not a number or a rational string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_density_integrates_to_its_moments() {
        let v = Values::Beta(2, 3);
        let d = v.density_polynomial().unwrap();
        for k in 0..5u32 {
            // int_0^1 u^k sum_t d_t u^t du = sum_t d_t / (k + t + 1)
            let integral: BigRational = d
                .iter()
                .enumerate()
                .map(|(t, c)| c / BigRational::from_integer(BigInt::from(k as usize + t + 1)))
                .sum();
            assert_eq!(integral, v.moment(k), "moment {k}");
        }
    }

    #[test]
    fn values_parse() {
        assert_eq!("beta:2,5".parse::<Values>().unwrap(), Values::Beta(2, 5));
        assert!("beta:0,1".parse::<Values>().is_err());
        assert!("gauss".parse::<Values>().is_err());
    }

    #[test]
    fn weights_reject_bad_files() {
        for bad in [
            "[1]",
            "{\"W\": []}",
            "{\"W\": [[]]}",
            "{\"W\": [[1,2],[3]]}",
            "{\"W\": [[\"1/0\"]]}",
            "{\"W\": [[true]]}",
            "{\"W\": [[1]], \"b\": [1, 2]}",
            "{\"W\": [[1]], \"x\": 3}",
            "{\"W\": [[1]]",
            "{\"W\": [[1]], \"W\": [[2]]}",
            "{\"W\": [[1]], \"b\": [0], \"b\": [1]}",
        ] {
            assert!(Weights::from_json(bad).is_err(), "{bad} was accepted");
        }
        let err = Weights::from_json("{\"W\": [[1]], \"W\": [[2]]}").unwrap_err();
        assert!(err.to_string().contains("\"W\" twice"), "{err}");
        // A byte-order mark is accepted; keys repeated in different objects are fine.
        assert!(Weights::from_json("\u{feff}{\"W\": [[1]]}").is_ok());
        assert_eq!(
            duplicate_key("[{\"a\": 1}, {\"a\": {\"a\": \"a\\\"\"}}]"),
            None
        );
        assert_eq!(
            duplicate_key("{\"a\\u0062\": 1, \"ab\": 2}"),
            Some("ab".into())
        );
        let w = Weights::from_json("{\"W\": [[0.1, \"-3/7\"]]}").unwrap();
        assert_eq!(w.w.data[0], BigRational::new(1.into(), 10.into()));
        assert_eq!(Weights::from_json(&w.to_json().to_string()).unwrap(), w);
    }
}
