//! What `superbound loss` reports about one `W` at one density: the exact loss wherever an
//! exact route applies (kernel), else the kernel's exact enclosure `lo <= L <= hi`, beside a
//! seeded Monte Carlo estimate (labelled as such).

use crate::kernel::arith::{Poly, Scalar};
use crate::kernel::enclosure::{
    ENCLOSURE_BUDGET, Enclosure, enclosure, enclosure_cost, enclosure_to_width,
};
use crate::kernel::error::{Error, Result};
use crate::kernel::loss::power_loss_and_polynomial;
use crate::kernel::model::{Activation, Model, Weights};
use crate::kernel::oracle::ORACLE_MAX_N;
use num_rational::BigRational;

/// Options of the Monte Carlo estimate.
#[derive(Clone, Copy, Debug)]
pub struct MonteCarlo {
    pub samples: usize,
    pub seed: u64,
    /// Estimate even where an exact value exists (a cross-check).
    pub always: bool,
}

impl Default for MonteCarlo {
    fn default() -> Self {
        MonteCarlo {
            samples: 200_000,
            seed: 0,
            always: false,
        }
    }
}

/// How the enclosure is chosen where the exact value is refused: a fixed support limit `K`, or
/// the smallest `K` reaching a relative width within a cost budget.
#[derive(Clone, Debug)]
pub struct EnclosureOptions {
    /// `--support-limit K`.
    pub support_limit: Option<usize>,
    /// `--enclosure-width W`: the target `(hi - lo) / hi`.
    pub width: BigRational,
    /// Cost budget of the search over `K` (units of [`enclosure_cost`]).
    pub budget: f64,
    /// Enclose even where the exact value is computable.
    pub force: bool,
}

impl Default for EnclosureOptions {
    fn default() -> Self {
        EnclosureOptions {
            support_limit: None,
            width: default_width(),
            budget: ENCLOSURE_BUDGET,
            force: false,
        }
    }
}

/// The default relative width target, `1e-6`.
pub fn default_width() -> BigRational {
    BigRational::new(1.into(), 1_000_000.into())
}

/// The kernel's enclosure under `opts` (exact-limit components summed in full).
pub fn enclose(
    model: &Model,
    weights: &Weights,
    s: &BigRational,
    opts: &EnclosureOptions,
) -> Result<Enclosure> {
    match opts.support_limit {
        Some(k) => enclosure(model, weights, s, k, ORACLE_MAX_N),
        None => enclosure_to_width(model, weights, s, &opts.width, opts.budget, ORACLE_MAX_N),
    }
}

/// The loss as rigorously as the kernel states it: exact where an exact route applies, else
/// the enclosure (`value` is then its upper end `hi`, a rigorous upper bound on the loss).
#[derive(Clone, Debug, PartialEq)]
pub struct RigorousValue {
    pub value: BigRational,
    pub exact: bool,
    /// `(lo, hi)` when not exact.
    pub enclosure: Option<(BigRational, BigRational)>,
    /// The support limit of the enclosure (`n` when exact).
    pub k: usize,
}

/// The exact loss where computable, else the enclosure of relative width `<= width` if the
/// cost `budget` allows (else the narrowest reached within it). For the optimiser.
pub fn rigorous_value(
    model: &Model,
    weights: &Weights,
    s: &BigRational,
    width: &BigRational,
    budget: f64,
) -> Result<RigorousValue> {
    if let Some(v) = crate::kernel::loss::exact_loss(model, weights, s) {
        return Ok(RigorousValue {
            value: v,
            exact: true,
            enclosure: None,
            k: weights.n(),
        });
    }
    let e = enclosure_to_width(model, weights, s, width, budget, ORACLE_MAX_N)?;
    Ok(if e.is_exact() {
        RigorousValue {
            value: e.hi,
            exact: true,
            enclosure: None,
            k: weights.n(),
        }
    } else {
        RigorousValue {
            value: e.hi.clone(),
            exact: false,
            enclosure: Some((e.lo, e.hi)),
            k: e.k,
        }
    })
}

/// Everything `superbound loss` reports about one `W` at one density.
#[derive(Clone, Debug)]
pub struct LossReport {
    /// The exact loss, where an exact route applies (power always; rect when no more than
    /// `ORACLE_MAX_N` features are coupled, or the enclosure sums every support).
    pub exact: Option<BigRational>,
    /// The loss as an exact polynomial in `s` (`s^0` first).
    pub polynomial: Option<Poly<BigRational>>,
    /// The first-order coefficient `L1(W)`, always exact.
    pub first_order: BigRational,
    /// The Monte Carlo estimate (rect beyond the exact route, or on request).
    pub estimate: Option<crate::search::montecarlo::Estimate>,
    /// Why there is no exact loss (rect beyond the exact route).
    pub no_exact: Option<String>,
    /// The kernel's enclosure where the exact value is refused (or forced).
    pub enclosure: Option<Enclosure>,
    /// The enclosure's width target (`None` with a fixed support limit).
    pub width_target: Option<BigRational>,
}

/// The first-order coefficient alone (no density): the `s^1` coefficient of the exact density
/// polynomial (power), or the sum over one-feature supports (rect); the same values
/// [`evaluate`] reports as `first_order`.
pub fn first_order(model: &Model, weights: &Weights) -> Result<BigRational> {
    match model.act {
        Activation::Power => {
            let one = <BigRational as num_traits::One>::one();
            let (_, poly) = power_loss_and_polynomial(model, weights, &one)?;
            Ok(poly.coeff(1))
        }
        Activation::Rect => Ok(crate::kernel::oracle::first_order_by_supports(
            model,
            &weights.exact_gram(),
            weights.bias.as_deref(),
            weights.importance.as_deref(),
        )),
    }
}

/// Evaluates the loss of `weights` at density `s`: exact wherever possible, else enclosed and
/// estimated.
pub fn evaluate(
    model: &Model,
    weights: &Weights,
    s: &BigRational,
    mc: MonteCarlo,
) -> Result<LossReport> {
    evaluate_with(model, weights, s, mc, &EnclosureOptions::default())
}

/// [`evaluate`] with the enclosure's options.
pub fn evaluate_with(
    model: &Model,
    weights: &Weights,
    s: &BigRational,
    mc: MonteCarlo,
    opts: &EnclosureOptions,
) -> Result<LossReport> {
    let bias = weights.bias.as_deref();
    let importance = weights.importance.as_deref();
    let mut no_exact = None;
    // Power: one fraction-free convolution gives the polynomial, the loss and `L1` (its `s^1`
    // coefficient); no rational Gram matrix. Rect: the Gram matrix fraction-free.
    let mut gram = None;
    let (exact, polynomial, first_order) = match model.act {
        Activation::Power => {
            let (loss, poly) = power_loss_and_polynomial(model, weights, s)?;
            let first = poly.coeff(1);
            (Some(loss), Some(poly), first)
        }
        Activation::Rect => {
            let g = gram.insert(weights.exact_gram());
            let first = crate::kernel::oracle::first_order_by_supports(model, g, bias, importance);
            match crate::kernel::oracle::oracle_refusal(model, g) {
                None => {
                    let poly =
                        crate::kernel::oracle::oracle_polynomial(model, g, bias, importance)?;
                    (Some(poly.eval(s)), Some(poly), first)
                }
                Some(why) => {
                    no_exact = Some(why);
                    (None, None, first)
                }
            }
        }
    };
    let enclosure = if exact.is_none() || opts.force {
        if let Some(k) = opts.support_limit {
            // Refuse a fixed K that is too costly before computing anything.
            let cost = enclosure_cost(model, weights, k, ORACLE_MAX_N);
            if cost > crate::kernel::enclosure::ENCLOSURE_MAX_COST {
                return Err(Error::too_large(format!(
                    "--support-limit {k}: estimated cost {cost:.2e} is above the limit {:.1e}",
                    crate::kernel::enclosure::ENCLOSURE_MAX_COST
                )));
            }
        }
        match enclose(model, weights, s, opts) {
            Ok(e) => Some(e),
            // Too costly: say so beside the estimate (a fixed --support-limit is an error).
            Err(Error::TooLarge(why)) if opts.support_limit.is_none() => {
                no_exact = Some(format!(
                    "{}; no enclosure either: {why}",
                    no_exact.unwrap_or_default()
                ));
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    // Every coupled group summed in full: the exact value, by the enclosure's route.
    let (mut exact, mut no_exact, mut enclosure) = (exact, no_exact, enclosure);
    if exact.is_none()
        && let Some(e) = enclosure.as_ref().filter(|e| e.is_exact())
    {
        exact = Some(e.lo.clone());
        no_exact = None;
        if !opts.force {
            enclosure = None;
        }
    }
    let estimate = if exact.is_none() || mc.always {
        if mc.samples < 2 {
            return Err(Error::input("--samples must be at least 2"));
        }
        let g = gram
            .get_or_insert_with(|| weights.exact_gram())
            .map(<f64 as Scalar>::from_rational);
        let to_f = |v: &[BigRational]| {
            v.iter()
                .map(<f64 as Scalar>::from_rational)
                .collect::<Vec<_>>()
        };
        let (b, imp) = (bias.map(to_f), importance.map(to_f));
        let est = crate::search::montecarlo::estimate_loss(
            model,
            &g,
            b.as_deref(),
            imp.as_deref(),
            s.to_f64(),
            mc.samples,
            mc.seed,
        );
        if !est.mean.is_finite() || !est.std_error.is_finite() {
            return Err(Error::too_large(
                "the Monte Carlo estimate overflows f64 (weights, bias or importance too large \
                 for floating point); no estimate is given",
            ));
        }
        Some(est)
    } else {
        None
    };
    Ok(LossReport {
        exact,
        polynomial,
        first_order,
        estimate,
        no_exact,
        width_target: opts.support_limit.is_none().then(|| opts.width.clone()),
        enclosure,
    })
}
