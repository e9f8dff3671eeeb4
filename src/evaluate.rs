//! What `superbound loss` reports about one `W` at one density: the exact loss wherever an
//! exact route applies (kernel), else a seeded Monte Carlo estimate (labelled as such).

use crate::kernel::arith::{Poly, Scalar};
use crate::kernel::error::{Error, Result};
use crate::kernel::loss::power_loss_and_polynomial;
use crate::kernel::model::{Activation, Model, Weights};
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

/// Everything `superbound loss` reports about one `W` at one density.
#[derive(Clone, Debug)]
pub struct LossReport {
    /// The exact loss, where an exact route applies (power always; rect when no more than
    /// `ORACLE_MAX_N` features are coupled).
    pub exact: Option<BigRational>,
    /// The loss as an exact polynomial in `s` (`s^0` first).
    pub polynomial: Option<Poly<BigRational>>,
    /// The first-order coefficient `L1(W)`, always exact.
    pub first_order: BigRational,
    /// The Monte Carlo estimate (rect beyond the exact route, or on request).
    pub estimate: Option<crate::search::montecarlo::Estimate>,
    /// Why there is no exact loss (rect beyond the exact route).
    pub no_exact: Option<String>,
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

/// Evaluates the loss of `weights` at density `s`: exact wherever possible, else estimated.
pub fn evaluate(
    model: &Model,
    weights: &Weights,
    s: &BigRational,
    mc: MonteCarlo,
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
    })
}
