//! # superbound
//!
//! Exact, machine-checked bounds on the L2 reconstruction loss of the toy autoencoder
//! `xhat = sigma(W^T W x)` of Elhage et al. (2022), companion to "Effects of sparsity and
//! superposition on loss in simple autoencoders" (arXiv:2606.18538).
//!
//! One home per idea:
//!
//! | module | what lives there |
//! |---|---|
//! | [`arith`] | number types: the [`arith::Ring`]/[`arith::Scalar`] traits, exact parsing, polynomials |
//! | [`model`] | activation, value distribution and moments, density, weights |
//! | [`loss`] | the exact expected loss of the power activation, its density polynomial, `L1` |
//! | [`optimise`] | f64 objectives with analytic gradients, L-BFGS restarts, exact evaluation |
//! | [`oracle`] | exact loss by support enumeration (the oracle; the exact rectified loss) |
//! | [`montecarlo`] | seeded Monte Carlo estimates with standard errors |
//! | [`bounds`] | the registry of lower and upper bounds, tightness, the crossover density |
//! | [`certificate`] | LP (Delsarte-type) lower bounds: solve, round, verify exactly, files |
//! | [`constructions`] | explicit rational witnesses: orthogonal, antipodal, designs |
//! | [`gegenbauer`] | exact Gegenbauer polynomials, `alpha_{m,p}`, `kappa_{m,p}`, design moments |
//! | [`sturm`] | exact real-root location (Sturm sequences) |
//! | [`plot`] | SVG plots: bounds against density; the columns of `W` as arrows |
//! | [`table`] | tables of tightness: rows in parallel, resumable store, shards, formats |
//! | [`cli`] | the `superbound` command line |

pub mod arith;
pub mod bounds;
pub mod certificate;
pub mod cli;
pub mod constructions;
pub mod error;
pub mod gegenbauer;
pub mod loss;
pub mod model;
pub mod montecarlo;
pub mod optimise;
pub mod oracle;
pub mod plot;
pub mod sturm;
pub mod table;

pub use error::{Error, Result};
