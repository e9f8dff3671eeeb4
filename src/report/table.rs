//! Tables of bound tightness: for each model and density, the best lower bound, the best upper
//! bound, who gives each, and their ratio. Rows are computed in parallel; with a store file each
//! finished row is appended and flushed as one CSV line, so a sweep can be killed and resumed
//! without losing or repeating a row, and `--shard K/N` splits a sweep deterministically.

use crate::bounds::{self, Setting, Side};
use crate::kernel::arith::{Scalar, fmt_decimal_exact};
use crate::kernel::error::{Error, Result};
use crate::kernel::gegenbauer::kappa;
use crate::kernel::model::{Activation, Density, Model, Values};
use num_rational::BigRational;
use rayon::prelude::*;
use std::io::Write;

/// The store's columns, in order (exact values as `a/b`, decimals beside them).
pub const COLUMNS: [&str; 17] = [
    "activation",
    "p",
    "n",
    "m",
    "values",
    "question",
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

/// The columns that identify a row (the rest are computed).
pub const KEY_COLUMNS: [&str; 7] = ["activation", "p", "n", "m", "values", "question", "density"];

/// One row to compute: a model, sizes, and a density (`None`: first order, written `0`).
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub act: Activation,
    pub p: u32,
    pub n: usize,
    pub m: usize,
    pub values: Values,
    /// Optimise a bias too (only bounds valid with a bias apply).
    pub bias: bool,
    /// Importance weights (`None`: equal).
    pub importance: Option<bounds::ImportanceSpec>,
    pub density: Option<BigRational>,
}

/// The question in a row's `question` column: `b=0` or `b=any`, and `I=equal` or the weights.
pub fn question_text(bias: bool, importance: Option<&[BigRational]>) -> String {
    let i = importance.map_or("equal".to_string(), |v| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(";")
    });
    format!("b={} I={i}", if bias { "any" } else { "0" })
}

impl Spec {
    /// The importance weights of this row's `n` features.
    pub fn weights(&self) -> Result<Option<Vec<BigRational>>> {
        self.importance
            .as_ref()
            .map(|s| s.weights(self.n))
            .transpose()
    }

    /// The row's key as stored: `activation,p,n,m,values,density`.
    pub fn key(&self) -> String {
        [
            self.act.to_string(),
            self.p.to_string(),
            self.n.to_string(),
            self.m.to_string(),
            self.values.to_string(),
            question_text(self.bias, self.weights().ok().flatten().as_deref()),
            self.density
                .as_ref()
                .map_or("0".to_string(), |d| d.to_string()),
        ]
        .join(",")
    }

    /// A file name for the row's evidence, e.g. `power-p2-n3-m2-uniform-s1_100.json`.
    pub fn evidence_name(&self) -> String {
        let d = self
            .density
            .as_ref()
            .map_or("0".to_string(), |d| d.to_string().replace('/', "_"));
        let v = self.values.to_string().replace([':', ','], "_");
        format!(
            "{}-p{}-n{}-m{}-{v}-s{d}.json",
            self.act, self.p, self.n, self.m
        )
    }
}

/// A computed row: the columns of [`COLUMNS`] as strings.
#[derive(Clone, Debug, PartialEq)]
pub struct Row(pub Vec<String>);

impl Row {
    pub fn key(&self) -> String {
        KEY_COLUMNS
            .iter()
            .map(|c| self.get(c))
            .collect::<Vec<_>>()
            .join(",")
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
    pub bias: bool,
    pub importance: Option<bounds::ImportanceSpec>,
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
                                values: self.values,
                                bias: self.bias,
                                importance: self.importance.clone(),
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
            let q = crate::kernel::arith::parse_rational(d).map_err(|e| {
                Error::input(format!("--density {}: {e}", crate::kernel::model::shown(d)))
            })?;
            if num_traits::Zero::is_zero(&q) {
                Ok(None)
            } else {
                Density::parse_option("--density", d).map(|d| Some(d.0))
            }
        })
        .collect()
}

/// The evidence of a row, as [`crate::kernel::evidence::verify_row`] reads it: the lower bound
/// (its name, value and, for the LP bound, the certificate) and the upper bound's witness `W`.
fn evidence(spec: &Spec, best: &bounds::Best) -> serde_json::Value {
    use crate::kernel::evidence::EVIDENCE_FORMAT;
    let (lo, up) = (&best.lower.value, &best.upper.value);
    let mut lower = serde_json::json!({"bound": best.lower.name, "value": lo.value.to_string()});
    for (k, v) in &lo.evidence {
        lower[k] = v.clone();
    }
    let mut upper = serde_json::json!({
        "bound": up.detail.clone().unwrap_or_else(|| best.upper.name.to_string()),
        "value": up.value.to_string(),
    });
    for (k, v) in &up.evidence {
        upper[k] = v.clone();
    }
    if let Some(w) = &up.witness
        && let serde_json::Value::Object(o) = w.to_json()
    {
        for (k, v) in o {
            if k != "importance" {
                upper[k] = v;
            }
        }
    }
    serde_json::json!({
        "format": EVIDENCE_FORMAT,
        "activation": spec.act.name(),
        "p": spec.p,
        "values": spec.values.to_string(),
        "n": spec.n,
        "m": spec.m,
        "bias": spec.bias,
        "importance": spec
            .weights()
            .ok()
            .flatten()
            .map(|v| v.iter().map(|x| x.to_string()).collect::<Vec<_>>()),
        "density": spec.density.as_ref().map_or("0".to_string(), |d| d.to_string()),
        "lower": lower,
        "upper": upper,
        "certified": best.certified(),
    })
}

/// Computes one row and its evidence (with `optimize`, the optimiser's exact value joins the
/// upper bounds).
pub fn compute(spec: &Spec, optimize: bool) -> Result<(Row, serde_json::Value)> {
    let model = Model::new(spec.act, spec.p, spec.values)?;
    let st = Setting::new(model, spec.n, spec.m)?;
    let query = bounds::Query {
        setting: st,
        bias: spec.bias,
        importance: spec.weights()?,
    };
    let first = bounds::first_order_entries_for(&query);
    let mut entries = match &spec.density {
        None => first.clone(),
        Some(s) => bounds::density_entries_for(&query, s),
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
            bias: spec.bias,
            importance: query
                .importance
                .as_ref()
                .map(|v| v.iter().map(|x| x.to_f64()).collect()),
        };
        // The exact value for the exact weights (the search saw f64 weights).
        let exact = |mut found: crate::search::optimise::Found| {
            found.weights.importance = query.importance.clone();
            found.value = match &spec.density {
                None => crate::kernel::loss::first_order_exact(&model, &found.weights),
                Some(s) => crate::kernel::loss::exact_loss(&model, &found.weights, s)?,
            };
            Some(found)
        };
        if let Some(found) = optimise(
            &problem,
            &Options {
                restarts: 8,
                ..Default::default()
            },
        )
        .ok()
        .and_then(exact)
        {
            entries.push(bounds::Entry {
                side: Side::Upper,
                name: "optimizer",
                value: bounds::Value {
                    value: found.value,
                    witness: Some(found.weights),
                    detail: None,
                    evidence: Default::default(),
                },
            });
        }
    }
    let best = bounds::best_of(&entries)?;
    let by = |e: &bounds::Entry| e.value.detail.clone().unwrap_or_else(|| e.name.to_string());
    let cross = (query == bounds::Query::plain(st))
        .then(|| bounds::crossover(&st, &first))
        .flatten()
        .map_or("-".to_string(), |c| match c.bracket {
            Some((lo, hi)) => fmt_decimal_exact(&((lo + hi) / BigRational::from_integer(2.into()))),
            None if c.skipped.is_some() => "skipped".to_string(),
            None => "none".to_string(),
        });
    let (lo, up) = (&best.lower.value.value, &best.upper.value.value);
    let ratio = best
        .ratio()
        .map_or("infinite".to_string(), |r| format!("{r:.12}"));
    let kap = kappa(spec.m, spec.p).to_string();
    let mut cols: Vec<String> = spec.key().split(',').map(String::from).collect();
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
    Ok((Row(cols), evidence(spec, &best)))
}

/// Everything that changes a row's value besides its key: a store written under other
/// arguments is refused, never silently reused.
pub fn store_arguments(
    values: Values,
    optimize: bool,
    bias: bool,
    importance: Option<&bounds::ImportanceSpec>,
) -> serde_json::Value {
    serde_json::json!({
        "store_format": 5,
        "evidence_format": crate::kernel::evidence::EVIDENCE_FORMAT,
        "values": values.to_string(),
        "optimize": optimize,
        "bias": bias,
        "importance": importance.map(|i| i.to_string()),
        "lp_degree": "adaptive: d, d + 4, d + 8 with d = max(12, 2p), while the bound rises by 1e-12",
        "best_known": "proofs/witnesses (first order, and per density with the first-order witness rescaled)",
    })
}

/// Rows from CSV text (a header line of [`COLUMNS`], then one row a line).
pub fn parse_rows(text: &str, what: &str) -> Result<Vec<Row>> {
    let header = COLUMNS.join(",");
    let mut lines = text.lines();
    match lines.next() {
        Some(h) if h == header => {}
        _ => {
            return Err(Error::input(format!(
                "{what}: not a table (its header is not {header:?})"
            )));
        }
    }
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields = parse_csv_line(line);
        if fields.len() != COLUMNS.len() {
            return Err(Error::input(format!(
                "{what}: line {} has {} fields, not {}",
                i + 2,
                fields.len(),
                COLUMNS.len()
            )));
        }
        rows.push(Row(fields));
    }
    Ok(rows)
}

/// A store file: its first line records the arguments it was computed under, the second is
/// the CSV header, then complete rows.
pub struct Store {
    path: std::path::PathBuf,
    pub rows: Vec<Row>,
}

/// The first line of a store: `# superbound table store ` and the arguments as JSON.
const STORE_TAG: &str = "# superbound table store ";

impl Store {
    /// Opens (or creates) a store for `arguments`; a trailing partial line (a run killed
    /// mid-write) is cut off. A store written under other arguments is refused.
    pub fn open(path: &std::path::Path, arguments: &serde_json::Value) -> Result<Store> {
        let io = |e| Error::io(path.display().to_string(), e);
        let head = format!("{STORE_TAG}{arguments}\n{}\n", COLUMNS.join(","));
        let fresh = || -> Result<Store> {
            std::fs::write(path, &head).map_err(io)?;
            Ok(Store {
                path: path.to_path_buf(),
                rows: Vec::new(),
            })
        };
        if !path.exists() {
            return fresh();
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        if text.is_empty() {
            return fresh();
        }
        let complete = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        let (first, rest) = complete.split_once('\n').unwrap_or((complete, ""));
        let Some(stored) = first.strip_prefix(STORE_TAG) else {
            return Err(Error::input(format!(
                "{}: not a table store of this version (its first line does not record the \
                 arguments); use another --out file",
                path.display()
            )));
        };
        let stored: serde_json::Value = serde_json::from_str(stored).map_err(|_| {
            Error::input(format!(
                "{}: the store's argument line is damaged",
                path.display()
            ))
        })?;
        if stored != *arguments {
            let differ: Vec<String> = arguments
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| stored.get(k.as_str()) != Some(v))
                .map(|(k, v)| {
                    format!(
                        "{k} = {} there, {v} here",
                        stored
                            .get(k.as_str())
                            .map_or("(absent)".to_string(), |x| x.to_string())
                    )
                })
                .collect();
            return Err(Error::input(format!(
                "{}: written under other arguments ({}); refusing to mix rows: use another --out file",
                path.display(),
                differ.join("; ")
            )));
        }
        if complete.len() != text.len() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io)?;
            f.set_len(complete.len() as u64).map_err(io)?;
        }
        let rows = parse_rows(rest, &path.display().to_string())?;
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

/// How [`run`] works: whether to add the optimiser, where to keep finished rows and their
/// evidence, and whether to draw a progress bar.
#[derive(Clone, Debug, Default)]
pub struct RunOptions<'a> {
    pub optimize: bool,
    pub store: Option<&'a std::path::Path>,
    pub evidence: Option<&'a std::path::Path>,
    pub progress: bool,
}

/// Computes the rows of `specs` not already in the store (if any), in parallel; returns all
/// rows of `specs`, in order. With an evidence directory every row's evidence is written there
/// (a stored row whose evidence file is missing is computed again).
pub fn run(specs: &[Spec], opts: &RunOptions) -> Result<Vec<Row>> {
    use indicatif::ParallelProgressIterator;
    if specs.windows(2).any(|w| {
        (w[0].values, w[0].bias, &w[0].importance) != (w[1].values, w[1].bias, &w[1].importance)
    }) {
        return Err(Error::input(
            "a table run has one --values, --bias and --importance",
        ));
    }
    let arguments = match specs.first() {
        Some(s) => store_arguments(s.values, opts.optimize, s.bias, s.importance.as_ref()),
        None => store_arguments(Values::Uniform, opts.optimize, false, None),
    };
    let store = opts.store.map(|p| Store::open(p, &arguments)).transpose()?;
    if let Some(dir) = opts.evidence {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    }
    let have_evidence = |s: &Spec| {
        opts.evidence
            .is_none_or(|d| d.join(s.evidence_name()).exists())
    };
    let have: std::collections::HashMap<String, Row> = store
        .as_ref()
        .map(|s| s.rows.iter().map(|r| (r.key(), r.clone())).collect())
        .unwrap_or_default();
    let todo: Vec<&Spec> = specs
        .iter()
        .filter(|s| !have.contains_key(&s.key()) || !have_evidence(s))
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
    let bar = if opts.progress {
        indicatif::ProgressBar::new(todo.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let computed: Vec<Row> = todo
        .par_iter()
        .progress_with(bar)
        .map(|spec| {
            let (row, ev) = compute(spec, opts.optimize)?;
            if let Some(dir) = opts.evidence {
                let path = dir.join(spec.evidence_name());
                std::fs::write(&path, format!("{ev:#}\n"))
                    .map_err(|e| Error::io(path.display().to_string(), e))?;
            }
            if let (Some(s), Some(f)) = (&store, &file)
                && !have.contains_key(&row.key())
            {
                s.append(f, &row)?;
            }
            Ok(row)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut all = have;
    for r in computed {
        all.insert(r.key(), r);
    }
    let rows: Vec<Row> = specs
        .iter()
        .filter_map(|s| all.get(&s.key()).cloned())
        .collect();
    Ok(rows)
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
            let mut out = String::new();
            if let Some(q) = rows
                .first()
                .map(|r| r.get("question"))
                .filter(|q| *q != "b=0 I=equal")
            {
                out += &format!("question: {q} (only bounds valid for it are used)\n\n");
            }
            out += &String::from(
                "| act | p | n | m | density | lower | lower by | upper | upper by | ratio | kappa | certified (1e-9) | crossover |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
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
                    if r.get("certified") != "true" {
                        ""
                    } else if r.get("lower") == r.get("upper") {
                        "exact"
                    } else {
                        "yes"
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
