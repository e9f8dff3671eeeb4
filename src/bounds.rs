//! The bounds engine: every lower and upper bound on the optimal loss `L*(s) = inf_W L(W; s)`,
//! exact, in one registry (THEORY.md, "Constants" to "Theorem 3").
//!
//! A bound is one item implementing [`Bound`]; [`registry`] lists them, and everything that
//! iterates over bounds (the `bounds` command, the tests, the tables) takes them from there.
//! Lower bounds state a first-order value; at a density they are lifted by the single-support
//! lemma `L(W; s) >= s (1-s)^{n-1} L1(W)` ([`single_support`]). Upper bounds are exact losses of
//! explicit rational witnesses ([`crate::search::constructions`]).

use crate::kernel::arith::{Ring, Scalar};
pub use crate::kernel::closed_form::{
    c_p, linear_optimum, orthogonal_first_order, self_first_order, single_support,
    theorem1_first_order,
};
use crate::kernel::error::{Error, Result};
pub use crate::kernel::loss::exact_loss;
use crate::kernel::loss::{first_order_exact, power_loss, power_loss_polynomial};
pub use crate::kernel::model::Setting;
use crate::kernel::model::{Activation, Model, Weights};
use crate::kernel::oracle::{oracle_applies, oracle_polynomial};
use crate::kernel::roots::smallest_root;
use crate::search::constructions::{Construction, Family};
use crate::search::golden_section;
use num_bigint::BigInt;
use num_rational::BigRational;
use rayon::prelude::*;

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

/// Lower or upper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Lower,
    Upper,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Lower => "lower",
            Side::Upper => "upper",
        }
    }
}

/// A bound's value, with the witness `W` for an upper bound.
#[derive(Clone, Debug)]
pub struct Value {
    pub value: BigRational,
    pub witness: Option<Weights>,
    /// Which member of a family gave the value (e.g. `regular-polygon-r2 (N=5)`).
    pub detail: Option<String>,
    /// What the kernel needs besides the model to re-derive a lower bound (e.g. the LP
    /// certificate, the floor `e_lb`): fields of the row evidence's `"lower"` object
    /// ([`crate::kernel::evidence`]).
    pub evidence: serde_json::Map<String, serde_json::Value>,
}

impl Value {
    fn plain(value: BigRational) -> Self {
        Value {
            value,
            witness: None,
            detail: None,
            evidence: Default::default(),
        }
    }
}

/// Where a bound is proved (THEORY.md, "Scope of each bound"): which activations, and whether
/// it holds with a trained bias and with importance weights. A bound is never asked outside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    pub power: bool,
    pub rect: bool,
    /// Proved for the optimum over `W` and any bias `b`; otherwise only for `b = 0`.
    pub any_bias: bool,
    /// Proved for any importance weights `I_i >= 0`; otherwise only for equal importance.
    pub any_importance: bool,
}

impl Scope {
    /// Both activations, `b = 0`, equal importance: the paper's corner.
    pub const CORNER: Scope = Scope {
        power: true,
        rect: true,
        any_bias: false,
        any_importance: false,
    };

    /// Both activations, any bias, any importance: a bound for every question.
    pub const ANY: Scope = Scope {
        power: true,
        rect: true,
        any_bias: true,
        any_importance: true,
    };

    /// Whether the scope covers the question.
    pub fn covers(&self, q: &Query) -> bool {
        let act = match q.model.act {
            Activation::Power => self.power,
            Activation::Rect => self.rect,
        };
        act && (self.any_bias || !q.bias) && (self.any_importance || q.importance.is_none())
    }

    /// In words, e.g. `power and rect; b = 0; equal importance`.
    pub fn describe(&self) -> String {
        let acts = match (self.power, self.rect) {
            (true, true) => "power and rect",
            (true, false) => "power",
            (false, true) => "rect",
            (false, false) => "no activation",
        };
        format!(
            "{acts}; {}; {}",
            if self.any_bias { "any bias" } else { "b = 0" },
            if self.any_importance {
                "any importance"
            } else {
                "equal importance"
            }
        )
    }
}

/// Importance weights as given: an explicit list (one per feature) or `I_i = R^i`.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportanceSpec {
    List(Vec<BigRational>),
    Geometric(BigRational),
}

impl ImportanceSpec {
    /// Parses `1,1/2,1/4` or `geometric:7/10` (weights nonnegative).
    pub fn parse(text: &str) -> Result<Self> {
        let parse = |t: &str| {
            crate::kernel::arith::parse_rational(t.trim())
                .map_err(|e| Error::input(format!("--importance: {e}")))
        };
        let spec = match text.strip_prefix("geometric:") {
            Some(r) => ImportanceSpec::Geometric(parse(r)?),
            None => ImportanceSpec::List(text.split(',').map(parse).collect::<Result<_>>()?),
        };
        let negative = match &spec {
            ImportanceSpec::Geometric(r) => *r < q(0, 1),
            ImportanceSpec::List(v) => v.iter().any(|x| *x < q(0, 1)),
        };
        if negative {
            return Err(Error::input("--importance: weights must be nonnegative"));
        }
        Ok(spec)
    }

    /// The weights of `n` features.
    pub fn weights(&self, n: usize) -> Result<Vec<BigRational>> {
        match self {
            ImportanceSpec::Geometric(r) => Ok((0..n).map(|i| Ring::pow(r, i as u32)).collect()),
            ImportanceSpec::List(v) if v.len() == n => Ok(v.clone()),
            ImportanceSpec::List(v) => Err(Error::input(format!(
                "--importance has {} weights; n = {n} needs {n}",
                v.len()
            ))),
        }
    }
}

impl std::fmt::Display for ImportanceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportanceSpec::Geometric(r) => write!(f, "geometric:{r}"),
            ImportanceSpec::List(v) => {
                let t: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                write!(f, "{}", t.join(","))
            }
        }
    }
}

/// The question the bounds answer: the optimum `L*` over `W` (and over `b` too when `bias`) for
/// a setting, with equal importance or the given weights `I_i`.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub setting: Setting,
    pub bias: bool,
    pub importance: Option<Vec<BigRational>>,
}

impl Query {
    /// The paper's question: no bias, equal importance.
    pub fn plain(setting: Setting) -> Self {
        Query {
            setting,
            bias: false,
            importance: None,
        }
    }

    /// `bias` and `importance` in words (for headers).
    pub fn describe(&self) -> String {
        format!(
            "{}; {}",
            if self.bias {
                "W and a bias b optimised"
            } else {
                "b = 0"
            },
            if self.importance.is_some() {
                "importance weights given"
            } else {
                "equal importance"
            }
        )
    }
}

impl std::ops::Deref for Query {
    type Target = Setting;
    fn deref(&self) -> &Setting {
        &self.setting
    }
}

/// One bound of the registry.
pub trait Bound: Send + Sync {
    fn name(&self) -> &'static str;
    fn side(&self) -> Side;
    /// When it applies, in words.
    fn statement(&self) -> &'static str;
    /// Where it is proved; [`first_order_entries_for`] and [`density_entries_for`] ask a bound
    /// only about questions its scope covers.
    fn scope(&self) -> Scope;
    /// The bound on the first-order coefficient `L1* = lim_{s->0} L*(s)/s` (`None`: not applicable).
    fn first_order(&self, st: &Query) -> Option<Value>;
    /// The bound on `L*(s)` at density `s` (`None`: not applicable, or no exact value).
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value>;
}

/// Lower bound for every activation: each feature saves at most `c_p`, `L1 >= n (mu_2 - c_p)`.
pub struct SelfBound;

impl Bound for SelfBound {
    fn name(&self) -> &'static str {
        "self"
    }
    fn side(&self) -> Side {
        Side::Lower
    }
    fn statement(&self) -> &'static str {
        "both activations, all n, m, p: L1 >= n (mu_2 - c_p)"
    }
    fn scope(&self) -> Scope {
        Scope::CORNER
    }
    fn first_order(&self, st: &Query) -> Option<Value> {
        Some(Value::plain(self_first_order(st)))
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        lift(self, st, s)
    }
}

/// Theorem 1 (power): `L1 >= n mu_2 - c_p min(n, kappa_{m,p})`.
pub struct Theorem1;

impl Bound for Theorem1 {
    fn name(&self) -> &'static str {
        "theorem1"
    }
    fn side(&self) -> Side {
        Side::Lower
    }
    fn statement(&self) -> &'static str {
        "power activation: L1 >= n mu_2 - c_p min(n, kappa_{m,p})"
    }
    fn scope(&self) -> Scope {
        Scope {
            rect: false,
            ..Scope::CORNER
        }
    }
    fn first_order(&self, st: &Query) -> Option<Value> {
        (st.model.act == Activation::Power)
            .then(|| Value::plain(theorem1_first_order(&st.model, st.n, st.m)))
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        lift(self, st, s)
    }
}

/// The linear-programming (Delsarte-type) bound, from a certificate verified exactly
/// ([`crate::kernel::certificate`]): `L1 >= n mu_2 - c_p / (q_0 + (1 - q(1))/n)`.
pub struct LpBound;

impl Bound for LpBound {
    fn name(&self) -> &'static str {
        "lp-certificate"
    }
    fn side(&self) -> Side {
        Side::Lower
    }
    fn statement(&self) -> &'static str {
        "both activations: any q = sum q_k P_k^(m) with q_k >= 0 (k >= 1) and q <= f on [-1, 1] \
         (verified exactly) gives L1 >= n mu_2 - c_p / (q_0 + (1 - q(1))/n)"
    }
    fn scope(&self) -> Scope {
        Scope::CORNER
    }
    fn first_order(&self, st: &Query) -> Option<Value> {
        let cert = crate::search::lp::certified_adaptive(st)?;
        let degree = cert.degree();
        Some(Value {
            value: cert.lower.clone(),
            witness: None,
            detail: Some(format!("lp-certificate (degree {degree})")),
            evidence: [("certificate".to_string(), cert.to_json())]
                .into_iter()
                .collect(),
        })
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        lift(self, st, s)
    }
}

/// The spectral bound of the rectified linear unit (rect, `p = 1`), from a certificate verified
/// exactly ([`crate::kernel::spectral`]): `L1 = mu_2 F(G)` with `F(G) >= sum_{k>m} (1 - nu_k)^2`
/// over the eigenvalues of `N = max(-G, 0)` (off the diagonal), `sum nu = 0`, `sum nu^3 >= 0`.
/// Asked only where `n > 2m` (otherwise antipodal pairs reach the self bound `0`).
pub struct SpectralBound;

impl Bound for SpectralBound {
    fn name(&self) -> &'static str {
        "spectral-certificate"
    }
    fn side(&self) -> Side {
        Side::Lower
    }
    fn statement(&self) -> &'static str {
        "rect, p = 1: L1 = mu_2 ||I - N - G||^2 >= mu_2 sum_{k>m} (1 - nu_k(N))^2 with \
         N = max(-G, 0) off the diagonal, tr N = 0, tr N^3 >= 0 (certificate verified exactly)"
    }
    fn scope(&self) -> Scope {
        Scope {
            power: false,
            ..Scope::CORNER
        }
    }
    fn first_order(&self, st: &Query) -> Option<Value> {
        if !crate::kernel::spectral::applies(st) || st.n <= 2 * st.m {
            return None;
        }
        let cert = crate::search::spectral::certified(st)?;
        Some(Value {
            value: cert.lower.clone(),
            witness: None,
            detail: Some(format!(
                "spectral-certificate ({} pieces)",
                cert.pieces.len()
            )),
            evidence: [("certificate".to_string(), cert.to_json())]
                .into_iter()
                .collect(),
        })
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        lift(self, st, s)
    }
}

/// The single-support lemma applied to a first-order lower bound.
fn lift(bound: &dyn Bound, st: &Query, s: &BigRational) -> Option<Value> {
    let v = bound.first_order(st)?;
    Some(Value {
        value: single_support(s, st.n) * v.value,
        ..v
    })
}

/// The `f64` loss of a witness at density `s` (for tuning), where computable.
fn float_loss(model: &Model, w: &Weights, s: f64) -> Option<f64> {
    let g = w.gram::<f64>();
    let imp: Option<Vec<f64>> = w
        .importance
        .as_ref()
        .map(|v| v.iter().map(<f64 as Scalar>::from_rational).collect());
    let imp = imp.as_deref();
    match model.act {
        Activation::Power => Some(power_loss::<f64>(model, &g, None, imp, &s)),
        Activation::Rect => oracle_applies(model, &g).then(|| {
            oracle_polynomial(model, &g, None, imp)
                .ok()
                .map(|p| p.eval(&s))
        })?,
    }
}

/// An upper bound from one construction family.
pub struct ConstructionBound(pub Family);

impl ConstructionBound {
    fn candidates(&self, st: &Setting) -> Vec<Construction> {
        Construction::of_family(self.0, &st.model, st.n, st.m)
    }

    /// The witness of `c` at scale `lambda`, carrying the question's importance weights.
    fn witness(&self, st: &Query, c: &Construction, lambda: &BigRational) -> Weights {
        let mut w = c.witness(&st.model, st.n, st.m, lambda);
        w.importance = st.importance.clone();
        w
    }

    /// The first-order witness of each candidate and its exact `L1`; the best one.
    fn best_first_order(&self, st: &Query) -> Option<(Construction, Weights, BigRational)> {
        self.candidates(st)
            .into_iter()
            .map(|c| {
                let w = self.witness(st, &c, &c.first_order_scale(&st.model));
                let l1 = first_order_exact(&st.model, &w);
                (c, w, l1)
            })
            .min_by(|a, b| a.2.cmp(&b.2))
    }
}

impl Bound for ConstructionBound {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn side(&self) -> Side {
        Side::Upper
    }
    fn statement(&self) -> &'static str {
        match self.0 {
            Family::Orthogonal => "always: orthogonal columns on min(n, m) features",
            Family::Antipodal => "rect, n > m: antipodal pairs on min(n, 2m) features",
            Family::Lines2d => "p >= 2, m >= 2, n >= p+1: p+1 equiangular lines in R^2",
            Family::Polygon => "rect, m >= 2, n >= 3: regular N-gon in R^2, best N <= min(n, 12)",
            Family::Icosahedron => {
                "m >= 3, n >= 6: icosahedron's 6 diagonals (a design for p <= 2)"
            }
            Family::Cell24 => "m >= 4, n >= 12: 24-cell's 12 lines (a design for p <= 2)",
            Family::Cell600 => "m >= 4, n >= 60: 600-cell's 60 lines (a design for p <= 5)",
            Family::E8 => "m >= 8, n >= 120: E8 roots' 120 lines (a design for p <= 3)",
            Family::Srg => {
                "rect p = 1, n = 10, 16, 50, 56, 77, 100: a triangle-free strongly regular graph's \
                 configuration (optimal: meets the spectral bound)"
            }
        }
    }
    /// The witness's exact loss, with the question's importance weights, bounds the optimum
    /// from above whatever the bias may be (`b = 0` is one choice of it).
    fn scope(&self) -> Scope {
        Scope::ANY
    }
    fn first_order(&self, st: &Query) -> Option<Value> {
        let (c, w, l1) = self.best_first_order(st)?;
        Some(Value {
            value: l1,
            witness: Some(w),
            detail: Some(c.name),
            evidence: Default::default(),
        })
    }
    /// The witness's scale `a_k = x lambda omega_k` is tuned for `s` ([`tune_scale`], `x` in
    /// `[0.05, 1.2]`), then its loss is computed exactly.
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        self.candidates(st)
            .into_par_iter()
            .filter_map(|c| {
                let lam = c.first_order_scale(&st.model);
                // No exact loss for the rectified activation with too many coupled features.
                if st.model.act == Activation::Rect
                    && !oracle_applies(
                        &st.model,
                        &c.witness(&st.model, st.n, st.m, &lam).exact_gram(),
                    )
                {
                    return None;
                }
                let at = |mult: f64| {
                    let m = <f64 as Scalar>::to_rational(&mult).unwrap_or_else(|| q(1, 1));
                    self.witness(st, &c, &(&lam * m))
                };
                let (w, value) = tune_scale(&st.model, s, (0.05, 1.2), at)?;
                Some(Value {
                    value,
                    witness: Some(w),
                    detail: Some(c.name),
                    evidence: Default::default(),
                })
            })
            .min_by(|a, b| a.value.cmp(&b.value))
    }
}

/// The witness `at(x)` whose scale multiplier `x` in `range` is best at density `s` (golden
/// section on the `f64` loss), or `at(1)` (exact where the first-order scale is optimal): the
/// better of the two by its exact loss `L(W; s)`, with that loss. `None` where neither has an
/// exact loss (rectified, too many coupled features).
fn tune_scale(
    model: &Model,
    s: &BigRational,
    range: (f64, f64),
    at: impl Fn(f64) -> Weights,
) -> Option<(Weights, BigRational)> {
    let sf = s.to_f64();
    let best = golden_section(
        |x| float_loss(model, &at(x), sf).unwrap_or(f64::INFINITY),
        range.0,
        range.1,
        30,
    );
    [at(best), at(1.0)]
        .into_iter()
        .filter_map(|w| exact_loss(model, &w, s).map(|v| (w, v)))
        .min_by(|a, b| a.1.cmp(&b.1))
}

/// The construction candidates with no exact loss at a density (rectified, refused by the
/// exact support sum), each as `name: why`: they are left out of [`density_entries`], and
/// whoever prints those entries says so.
pub fn skipped_at_density(st: &Setting) -> Vec<String> {
    if st.model.act != Activation::Rect {
        return Vec::new();
    }
    let stored = crate::search::store::load(st, &q(0, 1)).and_then(|stored| {
        let g = stored.weights.exact_gram();
        crate::kernel::oracle::oracle_refusal(&st.model, &g).map(|why| {
            format!(
                "best-known (stored: {}, rescaled for this density): {why}",
                stored.file
            )
        })
    });
    Family::ALL
        .iter()
        .flat_map(|&f| ConstructionBound(f).candidates(st))
        .filter_map(|c| {
            let lam = c.first_order_scale(&st.model);
            let g = c.witness(&st.model, st.n, st.m, &lam).exact_gram();
            crate::kernel::oracle::oracle_refusal(&st.model, &g)
                .map(|why| format!("{}: {why}", c.name))
        })
        .chain(stored)
        .collect()
}

/// The best-known witness of the model in the store (`proofs/witnesses/`, see
/// [`crate::search::store`]): found by `superbound search` for `b = 0` and equal importance,
/// verified exactly on every read. At a density `s`, the better of the witness stored for `s`
/// and the first-order one with its scale tuned for `s` (a valid `W` at every density). Any
/// `W` bounds every question from above once its loss is computed for that question: with a
/// bias (`b = 0` is one choice of it) and with importance weights (the loss is recomputed with
/// them, for the stored columns and for them matched to the weights, [`with_importance`]).
pub struct BestKnown;

/// The stored `w` for the question's importance weights: as stored, and (with weights) with
/// its columns permuted so that the longest column goes to the most important feature, the
/// next to the next, and so on; each carrying the weights, with the value `value` gives it,
/// the better one. `None` where `value` gives none.
fn with_importance(
    st: &Query,
    w: Weights,
    value: impl Fn(&Weights) -> Option<BigRational>,
) -> Option<(Weights, BigRational, bool)> {
    let Some(imp) = &st.importance else {
        return value(&w).map(|v| (w, v, false));
    };
    let n = w.n();
    let norm2 = |i: usize| -> BigRational {
        (0..w.m())
            .map(|r| &w.w.data[r * n + i] * &w.w.data[r * n + i])
            .sum()
    };
    let mut by_norm: Vec<usize> = (0..n).collect();
    by_norm.sort_by_key(|&i| std::cmp::Reverse(norm2(i)));
    let mut by_imp: Vec<usize> = (0..n).collect();
    by_imp.sort_by(|&a, &b| imp[b].cmp(&imp[a]));
    let mut matched = w.clone();
    for (&to, &from) in by_imp.iter().zip(&by_norm) {
        for r in 0..w.m() {
            matched.w.data[r * n + to] = w.w.data[r * n + from].clone();
        }
    }
    [(w, false), (matched, true)]
        .into_iter()
        .filter_map(|(mut c, permuted)| {
            c.importance = Some(imp.clone());
            value(&c).map(|v| (c, v, permuted))
        })
        .min_by(|a, b| a.1.cmp(&b.1))
}

impl BestKnown {
    /// The value of a stored witness for the question, named after its file.
    fn entry(
        st: &Query,
        w: Weights,
        file: &str,
        how: &str,
        value: impl Fn(&Weights) -> Option<BigRational>,
    ) -> Option<Value> {
        let (w, v, permuted) = with_importance(st, w, value)?;
        let matched = if permuted {
            ", columns matched to the importance"
        } else {
            ""
        };
        Some(Value {
            value: v,
            witness: Some(w),
            detail: Some(format!("best-known (stored: {file}{how}{matched})")),
            evidence: Default::default(),
        })
    }
}

impl Bound for BestKnown {
    fn name(&self) -> &'static str {
        "best-known"
    }
    fn side(&self) -> Side {
        Side::Upper
    }
    fn statement(&self) -> &'static str {
        "always: the stored best-known W of the model (proofs/witnesses/, first order and per \
         density, found for b = 0 and equal importance), its exact L1 or L(W; s) recomputed for \
         the question"
    }
    fn scope(&self) -> Scope {
        Scope::ANY
    }
    fn first_order(&self, st: &Query) -> Option<Value> {
        let stored = crate::search::store::load(&st.setting, &q(0, 1))?;
        Self::entry(st, stored.weights, &stored.file, "", |w| {
            Some(first_order_exact(&st.model, w))
        })
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        use crate::search::store::load;
        let here = load(&st.setting, s).and_then(|stored| {
            Self::entry(st, stored.weights, &stored.file, "", |w| {
                exact_loss(&st.model, w, s)
            })
        });
        let rescaled = load(&st.setting, &q(0, 1)).and_then(|stored| {
            let w0 = stored.weights;
            let at = |x: f64| {
                let x = <f64 as Scalar>::to_rational(&x).unwrap_or_else(|| q(1, 1));
                let mut w = w0.clone();
                w.w.data.iter_mut().for_each(|v| *v *= &x);
                w
            };
            let (w, _) = tune_scale(&st.model, s, (0.5, 1.1), at)?;
            Self::entry(st, w, &stored.file, ", rescaled for this density", |w| {
                exact_loss(&st.model, w, s)
            })
        });
        [here, rescaled]
            .into_iter()
            .flatten()
            .min_by(|a, b| a.value.cmp(&b.value))
    }
}

/// The trivial lower bound `L >= 0` (an expectation of squares), for every question: it keeps
/// a lower bound in every table row, also where nothing better is proved.
pub struct Zero;

impl Bound for Zero {
    fn name(&self) -> &'static str {
        "zero"
    }
    fn side(&self) -> Side {
        Side::Lower
    }
    fn statement(&self) -> &'static str {
        "always: the loss is an expectation of squares, L >= 0"
    }
    fn scope(&self) -> Scope {
        Scope::ANY
    }
    fn first_order(&self, _: &Query) -> Option<Value> {
        Some(Value::plain(q(0, 1)))
    }
    fn at_density(&self, _: &Query, _: &BigRational) -> Option<Value> {
        Some(Value::plain(q(0, 1)))
    }
}

/// The certified floor `e_lb <= e_sigma` of the model (`None` where it is 0 or not proved).
fn floor_of(model: &Model) -> Option<BigRational> {
    let cert = crate::search::floor::certified_floor(model.act, model.p, model.values)?;
    (cert.e_lb > q(0, 1)).then_some(cert.e_lb)
}

/// `sum_i I_i` (`n` for equal importance).
fn total_importance(st: &Query) -> BigRational {
    st.importance
        .as_ref()
        .map_or(q(st.n as i64, 1), |v| v.iter().sum())
}

/// The active-coordinate floor (THEORY.md): an active feature's output `sigma(G_ii U + R + b_i)`
/// misses `U` by at least `e_sigma` in mean square whatever `R + b_i` is, so
/// `L(W, b; s) >= s e_sigma sum_i I_i` for every `W`, `b`, importance and density.
pub struct Floor;

impl Bound for Floor {
    fn name(&self) -> &'static str {
        "floor"
    }
    fn side(&self) -> Side {
        Side::Lower
    }
    fn statement(&self) -> &'static str {
        "both activations, any bias, any importance: L >= s e_sigma sum_i I_i, with \
         e_sigma = min_{g,r} E(U - sigma(gU + r))^2 certified by exact branch and bound"
    }
    fn scope(&self) -> Scope {
        Scope::ANY
    }
    fn first_order(&self, st: &Query) -> Option<Value> {
        // For b = 0 and equal importance it is dominated (so not computed): with r = 0,
        // e_sigma <= min_d l(d) = mu_2 - c_p, so e_sigma n <= the self bound, and at a density
        // e_sigma n s <= single-support+floor.
        if !st.bias && st.importance.is_none() {
            return None;
        }
        let e = floor_of(&st.model)?;
        Some(Value {
            detail: Some(format!("floor (e_sigma >= {e})")),
            evidence: [("e_lb".to_string(), serde_json::json!(e.to_string()))]
                .into_iter()
                .collect(),
            ..Value::plain(e.clone() * total_importance(st))
        })
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        let v = self.first_order(st)?;
        Some(Value {
            value: s * v.value,
            ..v
        })
    }
}

/// The projection bound (`proofs/projection-bound.md`, [`crate::kernel::projection`]): the
/// output is a function of `W x`, so on supports of `k > m` features any decoder misses the
/// uniform values by at least `c_{k-m} C(k,m)^{-1/(k-m)} HM(I)` in mean square, with
/// `c_j = j/(j+2) omega_j^{-2/j}`; with the floor `e_sigma k mean(I)` per support size where it
/// is larger. It holds for any activation, bias and importance, and is the only lower bound
/// above 0 for a ReLU with a bias; it matters at high densities (it is `O(s^{m+1})`).
pub struct Projection;

impl Projection {
    /// The number `j` of features of largest importance to keep: all of them for equal
    /// importance; otherwise the `j` that maximises an `f64` estimate of the bound (a choice,
    /// not a proof: the kernel evaluates the chosen `j` exactly).
    fn features(st: &Query, s: f64, floor: Option<f64>) -> usize {
        let Some(imp) = &st.importance else {
            return st.n;
        };
        let mut w: Vec<f64> = imp
            .iter()
            .map(|x| x.to_f64())
            .filter(|&x| x > 0.0)
            .collect();
        w.sort_by(|a, b| b.total_cmp(a));
        let ln_binom = |a: usize, b: usize| {
            use statrs::function::gamma::ln_gamma;
            ln_gamma(a as f64 + 1.0) - ln_gamma(b as f64 + 1.0) - ln_gamma((a - b) as f64 + 1.0)
        };
        let term = |k: usize, m: usize| {
            use statrs::function::gamma::ln_gamma;
            let j = (k - m) as f64;
            let ln_omega_sq = j * std::f64::consts::PI.ln() - 2.0 * ln_gamma(j / 2.0 + 1.0);
            j / (j + 2.0) * (-(ln_omega_sq + ln_binom(k, m)) / j).exp()
        };
        let estimate = |j: usize| {
            let top = &w[..j];
            let mean = top.iter().sum::<f64>() / j as f64;
            let harmonic = j as f64 / top.iter().map(|x| 1.0 / x).sum::<f64>();
            (1..=j)
                .map(|k| {
                    let ln_p = ln_binom(j, k) + k as f64 * s.ln() + (j - k) as f64 * (-s).ln_1p();
                    let proj = if k > st.m {
                        term(k, st.m) * harmonic
                    } else {
                        0.0
                    };
                    let fl = floor.map_or(0.0, |e| e * k as f64 * mean);
                    ln_p.exp() * proj.max(fl)
                })
                .sum::<f64>()
        };
        (1..=w.len())
            .max_by(|&a, &b| estimate(a).total_cmp(&estimate(b)))
            .unwrap_or(0)
    }
}

impl Bound for Projection {
    fn name(&self) -> &'static str {
        "projection"
    }
    fn side(&self) -> Side {
        Side::Lower
    }
    fn statement(&self) -> &'static str {
        "both activations, any bias, any importance, uniform values: on a support of k > m \
         features any decoder of W x misses at least c_{k-m} C(k,m)^{-1/(k-m)} HM(I), \
         c_j = j/(j+2) omega_j^{-2/j} (with the floor e_sigma k mean(I) where larger)"
    }
    fn scope(&self) -> Scope {
        Scope::ANY
    }
    fn first_order(&self, _: &Query) -> Option<Value> {
        // O(s^{m+1}): nothing at first order.
        None
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        use crate::kernel::model::Values;
        use crate::kernel::projection::{projection_bound, top_weights};
        if st.model.values != Values::Uniform {
            return None;
        }
        let e = floor_of(&st.model);
        let j = Self::features(st, s.to_f64(), e.as_ref().map(|e| e.to_f64()));
        if j == 0 || (j <= st.m && e.is_none()) {
            return None;
        }
        let weights = top_weights(st.importance.as_deref(), st.n, j).ok()?;
        let value = projection_bound(st.m, &weights, s, e.as_ref()).ok()?;
        if value <= q(0, 1) {
            return None;
        }
        let mut evidence = serde_json::Map::new();
        evidence.insert("features".into(), serde_json::json!(j));
        if let Some(e) = &e {
            evidence.insert("e_lb".into(), serde_json::json!(e.to_string()));
        }
        Some(Value {
            value,
            witness: None,
            detail: Some(format!(
                "projection ({j} feature{}{})",
                if j == 1 { "" } else { "s" },
                e.as_ref()
                    .map_or(String::new(), |e| format!("; floor e_sigma >= {e}"))
            )),
            evidence,
        })
    }
}

/// The best first-order lower bound proved for `b = 0` and equal importance (self, Theorem 1,
/// the LP and the spectral certificates), with its entry.
fn corner_first_order(st: &Query) -> Option<(&'static str, Value)> {
    let corner: [&dyn Bound; 4] = [&SelfBound, &Theorem1, &LpBound, &SpectralBound];
    corner
        .into_iter()
        .filter(|b| b.scope().covers(st))
        .filter_map(|b| b.first_order(st).map(|v| (b.name(), v)))
        .reduce(|a, b| if b.1.value > a.1.value { b } else { a })
}

/// Single support plus floor (`b = 0`, equal importance): supports of size one contribute
/// `s (1-s)^{n-1} L1_lower`, all larger supports at least the floor on their active features,
/// `e_sigma n s (1 - (1-s)^{n-1})` in all:
/// `L*(s) >= s (1-s)^{n-1} L1_lower + e_sigma n s (1 - (1-s)^{n-1})`.
pub struct SupportFloor;

impl Bound for SupportFloor {
    fn name(&self) -> &'static str {
        "single-support+floor"
    }
    fn side(&self) -> Side {
        Side::Lower
    }
    fn statement(&self) -> &'static str {
        "both activations, b = 0, equal importance: L >= s (1-s)^{n-1} L1_lower + \
         e_sigma n s (1 - (1-s)^{n-1})"
    }
    fn scope(&self) -> Scope {
        Scope::CORNER
    }
    fn first_order(&self, _: &Query) -> Option<Value> {
        None
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        let e = floor_of(&st.model)?;
        let (name, l1) = corner_first_order(st)?;
        let single = single_support(s, st.n);
        let rest = s * q(st.n as i64, 1) - &single * q(st.n as i64, 1);
        Some(Value {
            value: &single * &l1.value + e.clone() * rest,
            witness: None,
            detail: Some(format!(
                "single-support+floor ({} ; e_sigma >= {e})",
                l1.detail.clone().unwrap_or_else(|| name.to_string())
            )),
            evidence: {
                let mut inner = l1.evidence;
                inner.insert("bound".into(), serde_json::json!(name));
                [
                    ("e_lb".to_string(), serde_json::json!(e.to_string())),
                    ("first_order".to_string(), serde_json::Value::Object(inner)),
                ]
                .into_iter()
                .collect()
            },
        })
    }
}

/// The linear autoencoder's optimum (power `p = 1`; THEORY.md, "The linear case exactly"):
/// `L*(s) = (n - m)^+ (s mu_2 - s^2 mu_1^2)` by Eckart–Young, with or without a bias.
pub struct LinearExact;

impl Bound for LinearExact {
    fn name(&self) -> &'static str {
        "linear-exact"
    }
    fn side(&self) -> Side {
        Side::Lower
    }
    fn statement(&self) -> &'static str {
        "power p = 1, any bias, equal importance: L* = (n - m)^+ (s mu_2 - s^2 mu_1^2)"
    }
    fn scope(&self) -> Scope {
        Scope {
            rect: false,
            any_bias: true,
            ..Scope::CORNER
        }
    }
    fn first_order(&self, st: &Query) -> Option<Value> {
        (st.model.p == 1).then(|| Value::plain(linear_optimum(st, None)))
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        (st.model.p == 1).then(|| Value::plain(linear_optimum(st, Some(s))))
    }
}

/// The principal subspace as a witness (`p = 1`): for the power activation its exact loss meets
/// [`LinearExact`] up to the rounding of its square roots. For the ReLU (rect `p = 1`) its
/// **linear** loss is an upper bound on its ReLU loss: the targets are nonnegative, so
/// `|x - max(z, 0)| <= |x - z|` for every output `z` (`proofs/relu-below-linear.md`); the
/// evidence says `"via": "linear"` and the kernel evaluates the linear loss of the same `W`.
/// This is what a trained ReLU with a bias reaches at high density (Elhage's dense regime).
pub struct PrincipalSubspace;

impl Bound for PrincipalSubspace {
    fn name(&self) -> &'static str {
        "principal-subspace"
    }
    fn side(&self) -> Side {
        Side::Upper
    }
    fn statement(&self) -> &'static str {
        "p = 1: W spans the all-ones direction and m - 1 Helmert directions (for the ReLU, \
         the linear loss of that W: the ReLU output is never farther from a nonnegative target)"
    }
    fn scope(&self) -> Scope {
        Scope {
            any_bias: true,
            ..Scope::CORNER
        }
    }
    fn first_order(&self, _: &Query) -> Option<Value> {
        None
    }
    fn at_density(&self, st: &Query, s: &BigRational) -> Option<Value> {
        if st.model.p != 1 {
            return None;
        }
        let w = crate::search::constructions::pca_witness(st.n, st.m);
        let linear = Model {
            act: Activation::Power,
            ..st.model
        };
        let value = exact_loss(&linear, &w, s)?;
        let rect = st.model.act == Activation::Rect;
        Some(Value {
            value,
            witness: Some(w),
            detail: rect.then(|| "principal-subspace (ReLU loss <= linear loss)".to_string()),
            evidence: if rect {
                [("via".to_string(), serde_json::json!("linear"))]
                    .into_iter()
                    .collect()
            } else {
                Default::default()
            },
        })
    }
}

/// Every registered bound. A new bound is one more item here. (On ties the first registered
/// is credited.)
pub fn registry() -> Vec<Box<dyn Bound>> {
    let mut out: Vec<Box<dyn Bound>> = vec![
        Box::new(SelfBound),
        Box::new(Theorem1),
        Box::new(LpBound),
        Box::new(SpectralBound),
        Box::new(LinearExact),
        Box::new(SupportFloor),
        Box::new(Projection),
        Box::new(Floor),
        Box::new(Zero),
    ];
    out.extend(
        Family::ALL
            .iter()
            .map(|&f| Box::new(ConstructionBound(f)) as Box<dyn Bound>),
    );
    out.push(Box::new(PrincipalSubspace));
    out.push(Box::new(BestKnown));
    out
}

/// One evaluated bound.
#[derive(Clone, Debug)]
pub struct Entry {
    pub side: Side,
    pub name: &'static str,
    pub value: Value,
}

/// The best lower and upper bound and their ratio.
#[derive(Clone, Debug)]
pub struct Best {
    pub lower: Entry,
    pub upper: Entry,
}

impl Best {
    /// `upper / lower` (`1` when equal, `None` when the lower bound is `0` and the upper is not).
    pub fn ratio(&self) -> Option<f64> {
        let (l, u) = (&self.lower.value.value, &self.upper.value.value);
        if l == u {
            Some(1.0)
        } else if l.is_zero() {
            None
        } else {
            Some((u / l).to_f64())
        }
    }
    /// Whether the optimum is certified: the best lower and upper bounds agree exactly or to
    /// `1e-9` relative.
    pub fn certified(&self) -> bool {
        let (l, u) = (&self.lower.value.value, &self.upper.value.value);
        l == u || (!l.is_zero() && (u - l) / l <= q(1, 1_000_000_000))
    }
    /// `upper / lower` exactly (`None` when the lower bound is zero).
    pub fn ratio_exact(&self) -> Option<BigRational> {
        let (l, u) = (&self.lower.value.value, &self.upper.value.value);
        (!l.is_zero()).then(|| u / l)
    }
}

/// The best of each side among `entries`. Fails if a lower bound exceeds an upper bound (a
/// refutation: never silently reported).
pub fn best_of(entries: &[Entry]) -> Result<Best> {
    // On ties the first registered bound is credited (`max_by` would take the last).
    let lower = entries
        .iter()
        .filter(|e| e.side == Side::Lower)
        .reduce(|a, b| if b.value.value > a.value.value { b } else { a })
        .cloned()
        .ok_or_else(|| Error::input("no lower bound applies"))?;
    let upper = entries
        .iter()
        .filter(|e| e.side == Side::Upper)
        .min_by(|a, b| a.value.value.cmp(&b.value.value))
        .cloned()
        .ok_or_else(|| Error::input("no upper bound applies"))?;
    if lower.value.value > upper.value.value {
        return Err(Error::input(format!(
            "contradiction: lower bound {} = {} exceeds upper bound {} = {}",
            lower.name, lower.value.value, upper.name, upper.value.value
        )));
    }
    Ok(Best { lower, upper })
}

/// Evaluates every registered bound at first order, for the paper's question (`b = 0`, equal
/// importance).
pub fn first_order_entries(st: &Setting) -> Vec<Entry> {
    first_order_entries_for(&Query::plain(*st))
}

/// Evaluates every registered bound whose scope covers the question, at first order.
pub fn first_order_entries_for(st: &Query) -> Vec<Entry> {
    registry()
        .iter()
        .filter(|b| b.scope().covers(st))
        .filter_map(|b| {
            b.first_order(st).map(|value| Entry {
                side: b.side(),
                name: b.name(),
                value,
            })
        })
        .collect()
}

/// Evaluates every registered bound at density `s`, for the paper's question (`b = 0`, equal
/// importance).
pub fn density_entries(st: &Setting, s: &BigRational) -> Vec<Entry> {
    density_entries_for(&Query::plain(*st), s)
}

/// Evaluates every registered bound whose scope covers the question, at density `s`.
pub fn density_entries_for(st: &Query, s: &BigRational) -> Vec<Entry> {
    registry()
        .par_iter()
        .filter(|b| b.scope().covers(st))
        .filter_map(|b| {
            b.at_density(st, s).map(|value| Entry {
                side: b.side(),
                name: b.name(),
                value,
            })
        })
        .collect()
}

/// The best lower bound whose scope covers the question, at first order (`None`) or at a
/// density (only the lower side of the registry is evaluated).
pub fn best_lower_for(st: &Query, density: Option<&BigRational>) -> Option<Entry> {
    registry()
        .iter()
        .filter(|b| b.side() == Side::Lower && b.scope().covers(st))
        .filter_map(|b| {
            let v = match density {
                None => b.first_order(st),
                Some(s) => b.at_density(st, s),
            }?;
            Some(Entry {
                side: Side::Lower,
                name: b.name(),
                value: v,
            })
        })
        .reduce(|a, b| if b.value.value > a.value.value { b } else { a })
}

/// Theorem 3 and the crossover: the best non-orthogonal first-order witness `W_U` against every
/// orthogonal `W`, whose optimum is `O(s) = s (n mu_2 - c_p min(n, m))`.
#[derive(Clone, Debug)]
pub struct Crossover {
    /// Which construction.
    pub by: String,
    /// `n mu_2 - c_p min(n, m)`: the no-superposition first-order optimum.
    pub orthogonal: BigRational,
    /// The construction's exact `L1`.
    pub construction: BigRational,
    /// `(lo, hi]`, of width `<= 1e-12`, holding the smallest density in `(0, 1]` where
    /// `L(W_U; s) = O(s)`: below it `W_U` beats every orthogonal `W`. `None`: it beats them on all
    /// of `(0, 1]`.
    pub bracket: Option<(BigRational, BigRational)>,
    /// Why the crossover density was not located (then `bracket` is `None` and says nothing):
    /// e.g. the exact rectified loss of the witness is refused as too costly.
    pub skipped: Option<String>,
}

/// The crossover density of the best superposing construction, located exactly (Sturm), when a
/// construction beats the orthogonal optimum at first order and its loss polynomial is exact.
pub fn crossover(st: &Setting, first: &[Entry]) -> Option<Crossover> {
    let ortho = orthogonal_first_order(st);
    let best = first
        .iter()
        .filter(|e| e.side == Side::Upper && e.name != Family::Orthogonal.name())
        .min_by(|a, b| a.value.value.cmp(&b.value.value))?;
    if best.value.value >= ortho {
        return None;
    }
    let w = best.value.witness.as_ref()?;
    let poly = match st.model.act {
        Activation::Power => power_loss_polynomial(&st.model, w),
        Activation::Rect => oracle_polynomial(&st.model, &w.exact_gram(), None, None),
    };
    let located = poly.and_then(|poly| {
        // D(s) = (O(s) - U(s)) / s = ortho - U_1 - U_2 s - ...; D(0) > 0.
        let mut d = crate::kernel::arith::Poly(poly.0.iter().skip(1).map(|c| -c.clone()).collect());
        d.0[0] += &ortho;
        let width = q(1, 1_000_000_000_000);
        smallest_root(&d.0, &q(0, 1), &q(1, 1), &width).map_err(Error::input)
    });
    let (bracket, skipped) = match located {
        Ok(bracket) => (bracket, None),
        Err(e) => (None, Some(e.to_string())),
    };
    Some(Crossover {
        by: best
            .value
            .detail
            .clone()
            .unwrap_or_else(|| best.name.to_string()),
        orthogonal: ortho,
        construction: best.value.value.clone(),
        bracket,
        skipped,
    })
}
