//! `superbound._superbound`: the Rust side of the Python module. Each function returns the JSON
//! text the CLI's `--json` prints (built by the same library functions); the pure-Python package
//! `superbound` parses it and turns exact values into `fractions.Fraction`.
//!
//! Numbers come in exactly: NumPy float arrays and Python floats are the binary fractions they
//! are (decoded from their bits, never through decimal); ints, `Fraction`s (and anything with an
//! exact `as_integer_ratio`) and strings such as `"-3/7"` are exact rationals. Every error is a
//! `ValueError` with the CLI's one-line message.

use num_bigint::BigInt;
use num_rational::BigRational;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString, PyTuple};
use superbound::evaluate::MonteCarlo;
use superbound::kernel::arith::parse_rational;
use superbound::kernel::model::{Activation, Density, Model, Values};
use superbound::weights_file::{Array, exact_float, from_arrays};

fn value_error(msg: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(msg.to_string())
}

/// `obj` converted to `T`, the error as text.
fn ext<'a, 'py, T: FromPyObject<'a, 'py>>(obj: &'a Bound<'py, PyAny>) -> Result<T, String> {
    obj.extract::<T>().map_err(|e| {
        let e: PyErr = e.into();
        e.to_string()
    })
}

/// A Python integer as a `BigInt` (through its decimal digits: exact).
fn big_int(obj: &Bound<'_, PyAny>) -> PyResult<BigInt> {
    let text = obj.str()?.to_string();
    text.parse::<BigInt>()
        .map_err(|_| value_error(format!("{text:?} is not an integer")))
}

/// One entry: float (exact binary value), int, `Fraction` (or any exact `as_integer_ratio`),
/// or a string such as `"-3/7"` or `"0.1"` (exact decimal).
fn entry(obj: &Bound<'_, PyAny>) -> Result<(BigRational, bool), String> {
    if obj.is_instance_of::<PyBool>() {
        return Err("is a bool, not a number".into());
    }
    if obj.is_instance_of::<PyString>() {
        let s: String = ext(obj)?;
        return parse_rational(&s).map(|q| (q, false));
    }
    if obj.is_instance_of::<PyFloat>() {
        let x: f64 = ext(obj)?;
        return exact_float(x).map(|q| (q, true));
    }
    if obj.is_instance_of::<PyInt>() {
        return big_int(obj)
            .map(|n| (BigRational::from_integer(n), false))
            .map_err(|e| e.to_string());
    }
    // NumPy scalars (np.float32(0.1) widens exactly to a Python float) and Fractions.
    if obj.hasattr("dtype").unwrap_or(false) && obj.hasattr("__float__").unwrap_or(false) {
        let kind = obj
            .getattr("dtype")
            .and_then(|d| d.getattr("kind"))
            .map_err(|e| e.to_string())?;
        let kind: String = ext(&kind)?;
        if kind == "f" {
            let x = obj.call_method0("__float__").map_err(|e| e.to_string())?;
            let x: f64 = ext(&x)?;
            return exact_float(x).map(|q| (q, true));
        }
    }
    let type_name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    let ratio = obj.call_method0("as_integer_ratio").map_err(|_| {
        format!("has type {type_name}, not a number (int, float, Fraction or \"a/b\")")
    })?;
    let (num, den): (Bound<'_, PyAny>, Bound<'_, PyAny>) = ext(&ratio)?;
    let (num, den) = (
        big_int(&num).map_err(|e| e.to_string())?,
        big_int(&den).map_err(|e| e.to_string())?,
    );
    if den == BigInt::from(0) {
        return Err("has a zero denominator".into());
    }
    Ok((BigRational::new(num, den), false))
}

/// A NumPy array or nested lists/tuples as an exact [`Array`]; `what` names it in errors.
fn array(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Array> {
    // NumPy (or anything with dtype, shape and tolist): check the dtype, then read its values.
    if obj.hasattr("dtype")? && obj.hasattr("shape")? && obj.hasattr("tolist")? {
        let dtype = obj.getattr("dtype")?;
        let kind: String = dtype.getattr("kind")?.extract()?;
        let name: String = dtype.getattr("name")?.extract()?;
        let label: &'static str = match (kind.as_str(), name.as_str()) {
            ("f", "float16") => "float16",
            ("f", "float32") => "float32",
            ("f", "float64") => "float64",
            ("f", _) => {
                return Err(value_error(format!(
                    "{what}: dtype {name} (extended precision) is not read; use float64"
                )));
            }
            ("i" | "u", _) => "exact",
            _ => {
                return Err(value_error(format!(
                    "{what}: dtype {name} is not a float or integer array"
                )));
            }
        };
        let shape: Vec<usize> = obj.getattr("shape")?.extract()?;
        let flat = obj.call_method1("reshape", (-1,))?.call_method0("tolist")?;
        let mut data = Vec::new();
        for (k, item) in flat.try_iter()?.enumerate() {
            let item = item?;
            let (q, _) = entry(&item).map_err(|e| {
                value_error(format!(
                    "{what}: entry {} {e}",
                    superbound::weights_file::index_text(&shape, k)
                ))
            })?;
            data.push(q);
        }
        return Ok(Array {
            shape,
            data,
            dtype: label,
        });
    }
    // Nested lists or tuples.
    let mut shape = Vec::new();
    let mut data = Vec::new();
    let mut saw_float = false;
    nested(
        obj,
        what,
        0,
        &mut shape,
        &mut data,
        &mut saw_float,
        &mut Vec::new(),
    )?;
    Ok(Array {
        shape,
        data,
        dtype: if saw_float { "float64" } else { "exact" },
    })
}

fn nested(
    obj: &Bound<'_, PyAny>,
    what: &str,
    depth: usize,
    shape: &mut Vec<usize>,
    data: &mut Vec<BigRational>,
    saw_float: &mut bool,
    at: &mut Vec<usize>,
) -> PyResult<()> {
    let at_text = |at: &[usize]| at.iter().map(|i| format!("[{i}]")).collect::<String>();
    let is_seq = obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>();
    if !is_seq {
        if depth == 0 {
            return Err(value_error(format!(
                "{what}: expected a NumPy array or nested lists of numbers"
            )));
        }
        if depth != shape.len() {
            return Err(value_error(format!(
                "{what} is ragged: {what}{} is a number where a list was expected",
                at_text(at)
            )));
        }
        let (q, float) =
            entry(obj).map_err(|e| value_error(format!("{what}{} {e}", at_text(at))))?;
        *saw_float |= float;
        data.push(q);
        return Ok(());
    }
    if depth > 3 {
        return Err(value_error(format!("{what}: nested deeper than 3 levels")));
    }
    let items: Vec<Bound<'_, PyAny>> = obj.try_iter()?.collect::<PyResult<_>>()?;
    if depth == shape.len() {
        if !data.is_empty() {
            return Err(value_error(format!(
                "{what} is ragged: {what}{} is a list where a number was expected",
                at_text(at)
            )));
        }
        shape.push(items.len());
    } else if shape[depth] != items.len() {
        return Err(value_error(format!(
            "{what} is ragged: {what}{} has {} entries, expected {}",
            at_text(at),
            items.len(),
            shape[depth]
        )));
    }
    for (i, item) in items.iter().enumerate() {
        at.push(i);
        nested(item, what, depth + 1, shape, data, saw_float, at)?;
        at.pop();
    }
    Ok(())
}

fn model(act: &str, p: u32, values: &str) -> PyResult<Model> {
    let act = match act {
        "power" => Activation::Power,
        "rect" => Activation::Rect,
        other => {
            return Err(value_error(format!(
                "act {other:?}: expected \"power\" or \"rect\""
            )));
        }
    };
    let values: Values = values.parse().map_err(value_error)?;
    Model::new(act, p, values).map_err(value_error)
}

/// The loss record(s) of `loss --json` (density given) or the first-order record(s) (no density)
/// for `w` (2-D, or 3-D: one record per instance), as JSON text.
#[pyfunction]
#[pyo3(signature = (w, act, p, density, b, importance, values, samples, seed))]
#[allow(clippy::too_many_arguments)]
fn loss_json(
    w: &Bound<'_, PyAny>,
    act: &str,
    p: u32,
    density: Option<String>,
    b: Option<&Bound<'_, PyAny>>,
    importance: Option<&Bound<'_, PyAny>>,
    values: &str,
    samples: usize,
    seed: u64,
) -> PyResult<String> {
    let model = model(act, p, values)?;
    let s = density
        .as_deref()
        .map(|d| Density::parse_option("density", d).map(|d| d.0))
        .transpose()
        .map_err(value_error)?;
    let w = array(w, "W")?;
    let b = b.map(|b| array(b, "b")).transpose()?;
    let importance = importance.map(|i| array(i, "importance")).transpose()?;
    let loaded = from_arrays(w, b, importance, false).map_err(value_error)?;
    let mc = MonteCarlo {
        samples,
        seed,
        always: false,
    };
    let v = superbound::cli::loss_records(&model, &loaded, s.as_ref(), mc).map_err(value_error)?;
    Ok(v.to_string())
}

/// Runs a `superbound` command line (`args` without the program name) and returns what it
/// prints; a usage or input error is a `ValueError` with its first line.
#[pyfunction]
fn run_cli(args: Vec<String>) -> PyResult<String> {
    let argv = std::iter::once("superbound".to_string()).chain(args);
    let cli = superbound::cli::Cli::try_parse_args(argv).map_err(|msg| {
        // clap's message is several lines (usage, hint): its first line is the error.
        let first = msg.lines().next().unwrap_or("invalid arguments");
        value_error(first.trim_start_matches("error: "))
    })?;
    superbound::cli::run(cli).map_err(value_error)
}

#[pymodule]
fn _superbound(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(loss_json, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
