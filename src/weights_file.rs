//! Weights files as researchers have them: JSON (exact decimals and rationals, read by the
//! kernel), NumPy `.npy` / `.npz` (crate `npyz`, archives by `zip`) and `.safetensors` (crate
//! `safetensors`; a PyTorch state dict saved with it works).
//!
//! Floats are not read through decimal: a float16, bfloat16, float32 or float64 is the dyadic
//! rational its bits encode, and that rational is what the kernel evaluates (every one of them
//! widens to `f64` without rounding, and an `f64` is decoded exactly by `BigRational::from_float`).
//! NaN, infinities, integer, complex, string and object arrays are refused.
//!
//! Shapes: `W` is `(m, n)` (a PyTorch `nn.Linear(n, m).weight`), or `(instances, m, n)` for a
//! batch of models evaluated one by one; `b` and `importance` are `(n,)` (shared by every
//! instance) or `(instances, n)`. With `transpose`, the last two axes of `W` are `(n, m)` (the
//! layout of Elhage et al.'s notebook, `(instances, n_features, n_hidden)`).
//!
//! This reader is outside the kernel: it only produces [`Weights`] (exact rationals) and checks
//! shapes; the kernel evaluates them.

use crate::kernel::error::{Error, Result};
use crate::kernel::model::{Mat, Weights, check_sizes};
use num_rational::BigRational;
use num_traits::Zero;
use std::io::Read;
use std::path::Path;

/// Largest binary weights file read, in bytes.
pub const MAX_BYTES: u64 = 256 << 20;
/// Largest JSON weights file read, in bytes (as for every JSON file the CLI reads).
pub const MAX_JSON_BYTES: u64 = 64 << 20;
/// Largest number of instances (models) in one 3-D array.
pub const MAX_INSTANCES: usize = 100_000;

/// A numeric array read exactly: its shape (row-major) and entries.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<BigRational>,
    /// The element type it was stored as (`"float32"`, ...; `"exact"` for rationals).
    pub dtype: &'static str,
}

/// Which tensors (safetensors) or archive members (npz) hold `W`, `b` and the importance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorNames {
    pub w: String,
    pub b: String,
    pub importance: String,
}

impl Default for TensorNames {
    fn default() -> Self {
        TensorNames {
            w: "W".into(),
            b: "b".into(),
            importance: "importance".into(),
        }
    }
}

impl TensorNames {
    /// Parses `W=NAME,b=NAME,importance=NAME` (any subset; the rest keep their defaults).
    pub fn parse(text: &str) -> Result<Self> {
        let mut names = TensorNames::default();
        for part in text.split(',') {
            let (key, name) = part.split_once('=').ok_or_else(|| {
                Error::input(format!(
                    "--tensor {}: expected KEY=NAME pairs such as W=encoder.weight,b=bias",
                    crate::kernel::model::shown(text)
                ))
            })?;
            let (key, name) = (key.trim(), name.trim());
            if name.is_empty() {
                return Err(Error::input(format!("--tensor: {key}= has no name")));
            }
            match key {
                "W" => names.w = name.into(),
                "b" => names.b = name.into(),
                "importance" => names.importance = name.into(),
                _ => {
                    return Err(Error::input(format!(
                        "--tensor: unknown key {:?} (expected W, b, importance)",
                        crate::kernel::model::shown(key)
                    )));
                }
            }
        }
        Ok(names)
    }
}

/// What a weights file holds: one model, or one per instance of a 3-D array.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub instances: Vec<Weights>,
    /// `W` was 3-D: report one result per instance.
    pub batched: bool,
    /// The stored float types (`None` for JSON, whose numbers are exact decimals).
    pub dtype: Option<String>,
}

impl Loaded {
    /// One line for the user on how the numbers were read (binary formats only).
    pub fn describe(&self) -> Option<String> {
        self.dtype
            .as_ref()
            .map(|d| format!("{d} read exactly as binary fractions"))
    }
}

/// The file's format, from its first bytes (falling back to the extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Npy,
    Npz,
    Safetensors,
}

/// Recognises the format of `bytes` read from `path`.
pub fn detect(path: &Path, bytes: &[u8]) -> Format {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    if bytes.starts_with(b"\x93NUMPY") {
        return Format::Npy;
    }
    if bytes.starts_with(b"PK") {
        return Format::Npz;
    }
    match ext.as_deref() {
        Some("npy") => return Format::Npy,
        Some("npz") => return Format::Npz,
        Some("safetensors") => return Format::Safetensors,
        Some("json") => return Format::Json,
        _ => {}
    }
    if bytes.len() >= 9 && bytes[8] == b'{' {
        let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        if len <= bytes.len() as u64 - 8 {
            return Format::Safetensors;
        }
    }
    Format::Json
}

/// Reads a weights file of any supported format.
pub fn load(path: &Path, names: &TensorNames, transpose: bool) -> Result<Loaded> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(&shown, e))?;
    if meta.len() > MAX_BYTES {
        return Err(Error::too_large(format!(
            "{shown}: {} bytes; files up to {MAX_BYTES} bytes are read",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(&shown, e))?;
    load_bytes(path, &bytes, names, transpose).map_err(|e| match e {
        Error::Input(msg) => Error::input(format!("{shown}: {msg}")),
        Error::TooLarge(msg) => Error::too_large(format!("{shown}: {msg}")),
        other => other,
    })
}

/// [`load`] on bytes already read (`path` names the format by its extension, if the bytes do
/// not). Errors do not name the file.
pub fn load_bytes(
    path: &Path,
    bytes: &[u8],
    names: &TensorNames,
    transpose: bool,
) -> Result<Loaded> {
    match detect(path, bytes) {
        Format::Json => {
            if transpose {
                return Err(Error::input(
                    "--transpose is for NumPy and safetensors arrays",
                ));
            }
            if bytes.len() as u64 > MAX_JSON_BYTES {
                return Err(Error::too_large(format!(
                    "{} bytes of JSON; JSON weights files up to {MAX_JSON_BYTES} bytes are read",
                    bytes.len()
                )));
            }
            let text = std::str::from_utf8(bytes).map_err(|_| {
                Error::input("not a JSON, NumPy or safetensors file (not UTF-8 text)")
            })?;
            Ok(Loaded {
                instances: vec![Weights::from_json(text)?],
                batched: false,
                dtype: None,
            })
        }
        Format::Npy => {
            if *names != TensorNames::default() {
                return Err(Error::input(
                    "--tensor names arrays of an .npz or .safetensors file; an .npy file holds W only",
                ));
            }
            let w = read_npy(bytes).map_err(|e| Error::input(format!("W: {e}")))?;
            from_arrays(w, None, None, transpose)
        }
        Format::Npz => read_npz(bytes, names, transpose),
        Format::Safetensors => read_safetensors(bytes, names, transpose),
    }
}

/// An `f64` (any narrower float widened to it) as the exact rational its bits encode.
pub fn exact_float(x: f64) -> std::result::Result<BigRational, String> {
    if x.is_nan() {
        return Err("is NaN".into());
    }
    if x.is_infinite() {
        return Err(format!("is {}infinite", if x < 0.0 { "-" } else { "+" }));
    }
    // Finite: `from_float` decodes mantissa and exponent exactly (no decimal step).
    BigRational::from_float(x).ok_or_else(|| "is not a finite number".to_string())
}

/// `[i][j][k]` of the flat row-major index `flat` in `shape`.
pub fn index_text(shape: &[usize], mut flat: usize) -> String {
    let mut idx = vec![0; shape.len()];
    for (d, &len) in shape.iter().enumerate().rev() {
        if len > 0 {
            idx[d] = flat % len;
            flat /= len;
        }
    }
    idx.iter().map(|i| format!("[{i}]")).collect()
}

fn exact_all(
    values: impl Iterator<Item = f64>,
    shape: &[usize],
) -> std::result::Result<Vec<BigRational>, String> {
    values
        .enumerate()
        .map(|(k, x)| exact_float(x).map_err(|e| format!("entry {} {e}", index_text(shape, k))))
        .collect()
}

fn shape_len(shape: &[usize]) -> std::result::Result<usize, String> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} is too large"))
}

/// One `.npy` array (C or Fortran order; float16/32/64, either byte order).
pub fn read_npy(bytes: &[u8]) -> std::result::Result<Array, String> {
    use npyz::{DType, TypeChar};
    let mut reader = bytes;
    let header = npyz::NpyHeader::from_reader(&mut reader)
        .map_err(|e| format!("not a valid .npy array: {e}"))?;
    let dtype = header.dtype();
    let DType::Plain(ty) = &dtype else {
        return Err(format!(
            "dtype {} is not a float array (structured or nested dtypes are not read)",
            dtype.descr()
        ));
    };
    let name = match (ty.type_char(), ty.size_field()) {
        (TypeChar::Float, 2) => "float16",
        (TypeChar::Float, 4) => "float32",
        (TypeChar::Float, 8) => "float64",
        (TypeChar::Float, _) => {
            return Err(format!(
                "dtype {} (extended precision) is not read; save as float64",
                dtype.descr()
            ));
        }
        (c, _) => {
            let kind = match c {
                TypeChar::Int | TypeChar::Uint => "an integer",
                TypeChar::Bool => "a boolean",
                TypeChar::Complex => "a complex",
                TypeChar::ByteStr | TypeChar::UnicodeStr | TypeChar::RawData => "a string or bytes",
                TypeChar::Object => "an object (pickled)",
                _ => "a non-float",
            };
            return Err(format!(
                "dtype {} is {kind} type; weights must be float16, float32 or float64",
                dtype.descr()
            ));
        }
    };
    let shape: Vec<usize> = header
        .shape()
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| format!("shape {:?} is too large", header.shape()))
        })
        .collect::<std::result::Result<_, _>>()?;
    let len = shape_len(&shape)?;
    let size = ty.size_field() as usize;
    let need = len
        .checked_mul(size)
        .ok_or_else(|| format!("shape {shape:?} is too large"))?;
    if reader.len() < need {
        return Err(format!(
            "truncated: shape {shape:?} of {name} needs {need} bytes of data, the file has {}",
            reader.len()
        ));
    }
    let order = header.order();
    let file = npyz::NpyFile::with_header(header, reader);
    let io = |e: std::io::Error| format!("unreadable data: {e}");
    let flat: Vec<f64> = match size {
        2 => file
            .into_vec::<half::f16>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        4 => file
            .into_vec::<f32>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => file.into_vec::<f64>().map_err(io)?,
    };
    let flat = match order {
        npyz::Order::C => flat,
        npyz::Order::Fortran => fortran_to_c(&flat, &shape),
    };
    Ok(Array {
        data: exact_all(flat.into_iter(), &shape)?,
        shape,
        dtype: name,
    })
}

/// Reorders column-major data to row-major.
fn fortran_to_c(data: &[f64], shape: &[usize]) -> Vec<f64> {
    let len = data.len();
    let mut out = Vec::with_capacity(len);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..len {
        // Fortran offset of the row-major multi-index `idx`.
        let mut off = 0;
        let mut stride = 1;
        for (d, &i) in idx.iter().enumerate() {
            off += i * stride;
            stride *= shape[d];
        }
        out.push(data[off]);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn read_npz(bytes: &[u8], names: &TensorNames, transpose: bool) -> Result<Loaded> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::input(format!("not a valid .npz archive: {e}")))?;
    let members: Vec<String> = archive
        .file_names()
        .map(|name| name.map(|n| n.into_owned()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::input(format!("not a valid .npz archive: {e}")))?;
    let mut member = |key: &str, name: &str| -> Result<Option<Array>> {
        let file_name = format!("{name}.npy");
        if !members.contains(&file_name) {
            return Ok(None);
        }
        let mut f = archive
            .by_name(&file_name)
            .map_err(|e| Error::input(format!("{key} ({file_name}): {e}")))?;
        let mut data = Vec::new();
        // Bounded: a compressed member cannot inflate beyond the size limit.
        (&mut f)
            .take(MAX_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| Error::input(format!("{key} ({file_name}): unreadable: {e}")))?;
        if data.len() as u64 > MAX_BYTES {
            return Err(Error::too_large(format!(
                "{key} ({file_name}) inflates beyond {MAX_BYTES} bytes"
            )));
        }
        read_npy(&data)
            .map(Some)
            .map_err(|e| Error::input(format!("{key} ({file_name}): {e}")))
    };
    let w = member("W", &names.w)?.ok_or_else(|| {
        let keys: Vec<&str> = members
            .iter()
            .map(|m| m.strip_suffix(".npy").unwrap_or(m))
            .collect();
        Error::input(format!(
            "no array {:?} (the archive holds: {}); choose with --tensor W=NAME",
            names.w,
            keys.join(", ")
        ))
    })?;
    let b = member("b", &names.b)?;
    let importance = member("importance", &names.importance)?;
    from_arrays(w, b, importance, transpose)
}

fn read_safetensors(bytes: &[u8], names: &TensorNames, transpose: bool) -> Result<Loaded> {
    use safetensors::{Dtype, SafeTensors};
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::input(format!("not a valid safetensors file: {e}")))?;
    let tensor = |key: &str, name: &str| -> Result<Option<Array>> {
        let Ok(view) = st.tensor(name) else {
            return Ok(None);
        };
        let shape = view.shape().to_vec();
        let data = view.data();
        let err = |e: String| Error::input(format!("{key} (tensor {name:?}): {e}"));
        let (dtype, flat): (&'static str, Vec<f64>) = match view.dtype() {
            Dtype::F16 => (
                "float16",
                data.chunks_exact(2)
                    .map(|c| f64::from(half::f16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            ),
            Dtype::BF16 => (
                "bfloat16",
                data.chunks_exact(2)
                    .map(|c| f64::from(half::bf16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            ),
            Dtype::F32 => (
                "float32",
                data.chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))))
                    .collect(),
            ),
            Dtype::F64 => (
                "float64",
                data.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect(),
            ),
            other => {
                return Err(err(format!(
                    "dtype {other:?} is not read; weights must be F16, BF16, F32 or F64"
                )));
            }
        };
        let len = shape_len(&shape).map_err(err)?;
        if flat.len() != len {
            return Err(err(format!(
                "shape {shape:?} has {len} entries but the data holds {}",
                flat.len()
            )));
        }
        let data = exact_all(flat.into_iter(), &shape).map_err(err)?;
        Ok(Some(Array { shape, data, dtype }))
    };
    let w = tensor("W", &names.w)?.ok_or_else(|| {
        let mut all = st.names();
        all.sort_unstable();
        let all: Vec<String> = all.iter().take(20).map(|s| format!("{s:?}")).collect();
        Error::input(format!(
            "no tensor {:?} (the file holds: {}); choose with --tensor W=NAME",
            names.w,
            if all.is_empty() {
                "none".into()
            } else {
                all.join(", ")
            }
        ))
    })?;
    // A bias or importance named explicitly must exist; the defaults are optional.
    let defaults = TensorNames::default();
    let optional = |key: &str, name: &str, default: &str| -> Result<Option<Array>> {
        let t = tensor(key, name)?;
        if t.is_none() && name != default {
            return Err(Error::input(format!("no tensor {name:?} for {key}")));
        }
        Ok(t)
    };
    let b = optional("b", &names.b, &defaults.b)?;
    let importance = optional("importance", &names.importance, &defaults.importance)?;
    from_arrays(w, b, importance, transpose)
}

/// Builds the model(s) from exact arrays: `W` of shape `(m, n)` or `(instances, m, n)` (the
/// last two swapped with `transpose`), `b` and `importance` of shape `(n,)` or `(instances, n)`.
pub fn from_arrays(
    w: Array,
    b: Option<Array>,
    importance: Option<Array>,
    transpose: bool,
) -> Result<Loaded> {
    let (batched, k, rows, cols) = match w.shape.as_slice() {
        &[r, c] => (false, 1, r, c),
        &[k, r, c] => (true, k, r, c),
        s => {
            return Err(Error::input(format!(
                "W has rank {} (shape {s:?}); expected (m, n) or (instances, m, n)",
                s.len()
            )));
        }
    };
    let (m, n) = if transpose {
        (cols, rows)
    } else {
        (rows, cols)
    };
    if k == 0 {
        return Err(Error::input("W has 0 instances"));
    }
    if k > MAX_INSTANCES {
        return Err(Error::too_large(format!(
            "W has {k} instances; at most {MAX_INSTANCES} are evaluated"
        )));
    }
    check_sizes(n, m).map_err(|e| Error::input(format!("W of shape {:?}: {e}", w.shape)))?;
    let per_instance = |key: &str, a: &Option<Array>| -> Result<Option<Vec<Vec<BigRational>>>> {
        let Some(a) = a else { return Ok(None) };
        let ok1 = a.shape == [n];
        let ok2 = batched && a.shape == [k, n];
        if !ok1 && !ok2 {
            let expected = if batched {
                format!("({n},) or ({k}, {n})")
            } else {
                format!("({n},)")
            };
            return Err(Error::input(format!(
                "{key} has shape {:?}; W of shape {:?} needs {expected}",
                a.shape, w.shape
            )));
        }
        Ok(Some(
            (0..k)
                .map(|i| {
                    let start = if ok1 { 0 } else { i * n };
                    a.data[start..start + n].to_vec()
                })
                .collect(),
        ))
    };
    let bs = per_instance("b", &b)?;
    let imps = per_instance("importance", &importance)?;
    if let Some(imp) = &importance
        && let Some(i) = imp.data.iter().position(|x| *x < BigRational::zero())
    {
        return Err(Error::input(format!(
            "importance entry {} is negative",
            index_text(&imp.shape, i)
        )));
    }
    let mut instances = Vec::with_capacity(k);
    for i in 0..k {
        let block = &w.data[i * rows * cols..(i + 1) * rows * cols];
        let mat = Mat::from_fn(m, n, |r, c| {
            if transpose {
                block[c * cols + r].clone()
            } else {
                block[r * cols + c].clone()
            }
        });
        instances.push(Weights {
            w: mat,
            bias: bs.as_ref().map(|v| v[i].clone()),
            importance: imps.as_ref().map(|v| v[i].clone()),
        });
    }
    let mut dtypes: Vec<&str> = Vec::new();
    for d in std::iter::once(w.dtype)
        .chain(b.as_ref().map(|a| a.dtype))
        .chain(importance.as_ref().map(|a| a.dtype))
    {
        if !dtypes.contains(&d) {
            dtypes.push(d);
        }
    }
    let dtype = (!dtypes.iter().all(|d| *d == "exact")).then(|| dtypes.join("/"));
    Ok(Loaded {
        instances,
        batched,
        dtype,
    })
}
