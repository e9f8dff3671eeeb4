//! Tables of bound tightness: for each model and density, the best lower bound, the best upper
//! bound, who gives each, and their ratio. Rows are computed in parallel; with a store file each
//! finished row is appended and flushed as one CSV line, so a sweep can be killed and resumed
//! without losing or repeating a row, and `--shard K/N` splits a sweep deterministically.

use crate::bounds::{self, Setting, Side};
use crate::kernel::arith::fmt_decimal_exact;
use crate::kernel::error::{Error, Result};
use crate::kernel::gegenbauer::kappa;
use crate::kernel::model::{Activation, Density, Model, Values};
use num_rational::BigRational;
use rayon::prelude::*;
use std::io::Write;

/// The store's columns, in order (exact values as `a/b`, decimals beside them).
pub const COLUMNS: [&str; 15] = [
    "activation",
    "p",
    "n",
    "m",
    "density",
    "lower",
    "lower_float",
    "lower_by",
    "upper",
    "upper_float",
    "upper_by",
    "ratio",
    "kappa",
    "certified",
    "crossover",
];

/// One row to compute: a model, sizes, and a density (`None`: first order, written `0`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Spec {
    pub act: Activation,
    pub p: u32,
    pub n: usize,
    pub m: usize,
    pub density: Option<BigRational>,
}

impl Spec {
    /// The row's key as stored: `activation,p,n,m,density`.
    pub fn key(&self) -> String {
        format!(
            "{},{},{},{},{}",
            self.act,
            self.p,
            self.n,
            self.m,
            self.density
                .as_ref()
                .map_or("0".to_string(), |d| d.to_string())
        )
    }
}

/// A computed row: the columns of [`COLUMNS`] as strings.
#[derive(Clone, Debug, PartialEq)]
pub struct Row(pub Vec<String>);

impl Row {
    pub fn key(&self) -> String {
        self.0[..5].join(",")
    }
    pub fn get(&self, column: &str) -> &str {
        let i = COLUMNS
            .iter()
            .position(|c| *c == column)
            .expect("known column");
        &self.0[i]
    }
    fn csv_line(&self) -> String {
        self.0
            .iter()
            .map(|f| csv_field(f))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

/// Splits one CSV line (quotes as written by [`Row::csv_line`]).
fn parse_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The grid of a table.
#[derive(Clone, Debug)]
pub struct Grid {
    pub acts: Vec<Activation>,
    pub ps: Vec<u32>,
    pub ns: Vec<usize>,
    pub ms: Vec<usize>,
    pub densities: Vec<Option<BigRational>>,
    pub values: Values,
}

impl Grid {
    /// Every row, in canonical order.
    pub fn specs(&self) -> Vec<Spec> {
        let mut out = Vec::new();
        for &act in &self.acts {
            for &p in &self.ps {
                for &m in &self.ms {
                    for &n in &self.ns {
                        for d in &self.densities {
                            out.push(Spec {
                                act,
                                p,
                                n,
                                m,
                                density: d.clone(),
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

/// Parses `1,2,3`, `2..12` (inclusive) or a mix `2,4..6`.
pub fn parse_list(text: &str, what: &str, max: usize) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let bad = || {
            Error::input(format!(
                "--{what}: {part:?} is not a number or a range a..b"
            ))
        };
        if let Some((a, b)) = part.split_once("..") {
            let (a, b): (usize, usize) = (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            );
            if a > b {
                return Err(Error::input(format!("--{what}: empty range {part}")));
            }
            if b > max {
                return Err(Error::too_large(format!(
                    "--{what}: {b} is above the limit {max}"
                )));
            }
            out.extend(a..=b);
        } else {
            let v: usize = part.parse().map_err(|_| bad())?;
            if v > max {
                return Err(Error::too_large(format!(
                    "--{what}: {v} is above the limit {max}"
                )));
            }
            out.push(v);
        }
    }
    if out.is_empty() {
        return Err(Error::input(format!("--{what} is empty")));
    }
    Ok(out)
}

/// Parses `0,1/10,0.01`: `0` is first order, anything else a density in `(0, 1]`.
pub fn parse_densities(text: &str) -> Result<Vec<Option<BigRational>>> {
    text.split(',')
        .map(|d| {
            let q = crate::kernel::arith::parse_rational(d)
                .map_err(|e| Error::input(format!("--density: {e}")))?;
            if num_traits::Zero::is_zero(&q) {
                Ok(None)
            } else {
                Density::new(q).map(|d| Some(d.0))
            }
        })
        .collect()
}

/// Computes one row (with `optimize`, the optimiser's exact value joins the upper bounds).
pub fn compute(spec: &Spec, values: Values, optimize: bool) -> Result<Row> {
    let model = Model::new(spec.act, spec.p, values)?;
    let st = Setting::new(model, spec.n, spec.m)?;
    let first = bounds::first_order_entries(&st);
    let mut entries = match &spec.density {
        None => first.clone(),
        Some(s) => bounds::density_entries(&st, s),
    };
    if optimize {
        use crate::search::optimise::{Objective, Options, Problem, optimise};
        let objective = spec
            .density
            .clone()
            .map_or(Objective::FirstOrder, Objective::Density);
        let problem = Problem {
            setting: st,
            objective,
            bias: false,
            importance: None,
        };
        if let Ok(found) = optimise(
            &problem,
            &Options {
                restarts: 8,
                ..Default::default()
            },
        ) {
            entries.push(bounds::Entry {
                side: Side::Upper,
                name: "optimizer",
                value: bounds::Value {
                    value: found.value,
                    witness: Some(found.weights),
                    detail: None,
                },
            });
        }
    }
    let best = bounds::best_of(&entries)?;
    let by = |e: &bounds::Entry| e.value.detail.clone().unwrap_or_else(|| e.name.to_string());
    let cross = bounds::crossover(&st, &first).map_or("-".to_string(), |c| match c.bracket {
        Some((lo, hi)) => fmt_decimal_exact(&((lo + hi) / BigRational::from_integer(2.into()))),
        None => "none".to_string(),
    });
    let (lo, up) = (&best.lower.value.value, &best.upper.value.value);
    let ratio = best
        .ratio()
        .map_or("inf".to_string(), |r| format!("{r:.12}"));
    let kap = if spec.m >= 1 {
        kappa(spec.m, spec.p).to_string()
    } else {
        "-".into()
    };
    let key = spec.key();
    let mut cols: Vec<String> = key.split(',').map(String::from).collect();
    cols.extend([
        lo.to_string(),
        fmt_decimal_exact(lo),
        by(&best.lower),
        up.to_string(),
        fmt_decimal_exact(up),
        by(&best.upper),
        ratio,
        kap,
        best.certified().to_string(),
        cross,
    ]);
    Ok(Row(cols))
}

/// A store file: existing complete rows, and whether a half-written last line was dropped.
pub struct Store {
    path: std::path::PathBuf,
    pub rows: Vec<Row>,
}

impl Store {
    /// Opens (or creates) a store; a trailing partial line (a run killed mid-write) is cut off.
    pub fn open(path: &std::path::Path) -> Result<Store> {
        let io = |e| Error::io(path.display().to_string(), e);
        let header = COLUMNS.join(",");
        if !path.exists() {
            std::fs::write(path, format!("{header}\n")).map_err(io)?;
            return Ok(Store {
                path: path.to_path_buf(),
                rows: Vec::new(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let complete = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        if complete.len() != text.len() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io)?;
            f.set_len(complete.len() as u64).map_err(io)?;
        }
        let mut lines = complete.lines();
        match lines.next() {
            None => {
                std::fs::write(path, format!("{header}\n")).map_err(io)?;
                return Ok(Store {
                    path: path.to_path_buf(),
                    rows: Vec::new(),
                });
            }
            Some(h) if h == header => {}
            Some(_) => {
                return Err(Error::input(format!(
                    "{}: not a table store (its header differs from {header:?})",
                    path.display()
                )));
            }
        }
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let fields = parse_csv_line(line);
            if fields.len() != COLUMNS.len() {
                return Err(Error::input(format!(
                    "{}: line {} has {} fields",
                    path.display(),
                    i + 2,
                    fields.len()
                )));
            }
            rows.push(Row(fields));
        }
        Ok(Store {
            path: path.to_path_buf(),
            rows,
        })
    }

    /// Appends one row as a single write, then flushes.
    fn append(&self, file: &std::sync::Mutex<std::fs::File>, row: &Row) -> Result<()> {
        let mut f = file
            .lock()
            .map_err(|_| Error::input("store lock poisoned"))?;
        f.write_all(format!("{}\n", row.csv_line()).as_bytes())
            .and_then(|_| f.flush())
            .map_err(|e| Error::io(self.path.display().to_string(), e))
    }
}

/// Which rows belong to shard `k` of `n` (1-based): every `n`-th row of the canonical order.
pub fn shard(specs: Vec<Spec>, shard: Option<(usize, usize)>) -> Vec<Spec> {
    match shard {
        None => specs,
        Some((k, n)) => specs
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, s)| s)
            .collect(),
    }
}

/// Computes the rows of `specs` not already in the store (if any), in parallel; returns all
/// rows of `specs`, in order.
pub fn run(
    specs: &[Spec],
    values: Values,
    optimize: bool,
    store: Option<&std::path::Path>,
    progress: bool,
) -> Result<Vec<Row>> {
    use indicatif::ParallelProgressIterator;
    let store = store.map(Store::open).transpose()?;
    let have: std::collections::HashMap<String, Row> = store
        .as_ref()
        .map(|s| s.rows.iter().map(|r| (r.key(), r.clone())).collect())
        .unwrap_or_default();
    let todo: Vec<&Spec> = specs
        .iter()
        .filter(|s| !have.contains_key(&s.key()))
        .collect();
    let file = match &store {
        Some(s) => Some(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&s.path)
                .map_err(|e| Error::io(s.path.display().to_string(), e))?,
        )),
        None => None,
    };
    let bar = if progress {
        indicatif::ProgressBar::new(todo.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let computed: Vec<Row> = todo
        .par_iter()
        .progress_with(bar)
        .map(|spec| {
            let row = compute(spec, values, optimize)?;
            if let (Some(s), Some(f)) = (&store, &file) {
                s.append(f, &row)?;
            }
            Ok(row)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut all = have;
    for r in computed {
        all.insert(r.key(), r);
    }
    Ok(specs
        .iter()
        .filter_map(|s| all.get(&s.key()).cloned())
        .collect())
}

/// Renders rows as `md`, `csv`, `latex` or `json` (with the tool version and the arguments).
pub fn render(rows: &[Row], format: &str, arguments: &serde_json::Value) -> Result<String> {
    let short = |x: &str| {
        if x.len() <= 24 {
            x.to_string()
        } else {
            "…".to_string()
        }
    };
    match format {
        "csv" => {
            let mut out = format!("{}\n", COLUMNS.join(","));
            for r in rows {
                out += &format!("{}\n", r.csv_line());
            }
            Ok(out)
        }
        "json" => {
            let rows: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::Value::Object(
                        COLUMNS
                            .iter()
                            .zip(&r.0)
                            .map(|(c, v)| (c.to_string(), serde_json::json!(v)))
                            .collect(),
                    )
                })
                .collect();
            Ok(format!(
                "{}\n",
                serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "arguments": arguments, "rows": rows})
            ))
        }
        "md" => {
            let mut out = String::from(
                "| act | p | n | m | density | lower | lower by | upper | upper by | ratio | kappa | certified | crossover |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            );
            for r in rows {
                out += &format!(
                    "| {} | {} | {} | {} | {} | {} ({}) | {} | {} ({}) | {} | {} | {} | {} | {} |\n",
                    r.get("activation"),
                    r.get("p"),
                    r.get("n"),
                    r.get("m"),
                    r.get("density"),
                    r.get("lower_float"),
                    short(r.get("lower")),
                    r.get("lower_by"),
                    r.get("upper_float"),
                    short(r.get("upper")),
                    r.get("upper_by"),
                    r.get("ratio"),
                    r.get("kappa"),
                    if r.get("certified") == "true" {
                        "yes"
                    } else {
                        ""
                    },
                    r.get("crossover"),
                );
            }
            Ok(out)
        }
        "latex" => {
            let esc = |s: &str| {
                s.replace('_', "\\_")
                    .replace('&', "\\&")
                    .replace('#', "\\#")
            };
            let mut out = String::from(
                "\\begin{tabular}{lrrrrrlrlrrl}\n\\toprule\nact & $p$ & $n$ & $m$ & $s$ & lower & by & upper & by & ratio & $\\kappa$ & cert. \\\\\n\\midrule\n",
            );
            for r in rows {
                out += &format!(
                    "{} & {} & {} & {} & {} & {} & {} & {} & {} & {} & {} & {} \\\\\n",
                    r.get("activation"),
                    r.get("p"),
                    r.get("n"),
                    r.get("m"),
                    r.get("density"),
                    r.get("lower_float"),
                    esc(r.get("lower_by")),
                    r.get("upper_float"),
                    esc(r.get("upper_by")),
                    r.get("ratio"),
                    r.get("kappa"),
                    if r.get("certified") == "true" {
                        "\\checkmark"
                    } else {
                        ""
                    },
                );
            }
            out += "\\bottomrule\n\\end{tabular}\n";
            Ok(out)
        }
        other => Err(Error::input(format!(
            "unknown --format {other:?} (md, csv, latex or json)"
        ))),
    }
}

/// Parses `--shard K/N` (`1 <= K <= N`).
pub fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let bad = || Error::input(format!("--shard {text:?}: expected K/N with 1 <= K <= N"));
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}
