//! The trusted kernel: the small exact code that decides every claim the tool makes.
//!
//! Everything outside `kernel` proposes (the optimiser, the LP solver, the constructions, Monte
//! Carlo); the kernel disposes. It imports nothing from the rest of the crate and no search or
//! floating-point solver crate (no rayon, clarabel, argmin, rand); `tests/kernel_boundary.rs`
//! enforces this by reading its `use` lines.
//!
//! | module | what it decides |
//! |---|---|
//! | [`arith`] | number types: the [`arith::Ring`]/[`arith::Scalar`] traits, exact parsing, polynomials |
//! | [`error`] | the one error type, one-line messages |
//! | [`model`] | activation, value distribution and moments, density, weights, sizes |
//! | [`loss`] | the exact loss of the power activation, its density polynomial, `L1` |
//! | [`oracle`] | exact loss by support enumeration (the exact rectified loss) |
//! | [`enclosure`] | exact rational enclosure `lo <= L <= hi` of the loss for any `n` |
//! | [`gegenbauer`] | exact Gegenbauer polynomials, `alpha_{m,p}`, `kappa_{m,p}`, design moments |
//! | [`closed_form`] | `c_p`, the self bound, Theorem 1, the single-support factor |
//! | [`roots`] | exact nonnegativity and root location (square-free Sturm and Descartes) |
//! | [`certificate`] | LP certificates: file form and exact verification |
//! | [`spectral`] | the spectral bound of the rectified linear unit: certificates, exact check |
//! | [`evidence`] | witness files and table rows, re-checked from scratch |

pub mod arith;
pub mod certificate;
pub mod closed_form;
pub mod enclosure;
pub mod error;
pub mod evidence;
pub mod floor;
pub mod gegenbauer;
pub mod loss;
pub mod model;
pub mod oracle;
pub mod projection;
pub mod roots;
pub mod spectral;
