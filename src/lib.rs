//! # superbound
//!
//! Exact, machine-checked bounds on the L2 reconstruction loss of the toy autoencoder
//! `xhat = sigma(W^T W x)` of Elhage et al. (2022), companion to "Effects of sparsity and
//! superposition on loss in simple autoencoders" (arXiv:2606.18538).
//!
//! The layout is the trust boundary:
//!
//! | module | role |
//! |---|---|
//! | [`kernel`] | trusted: exact arithmetic, model, exact losses, roots, verifiers; imports nothing else |
//! | [`search`] | untrusted proposers: optimiser, LP solver, constructions, Monte Carlo |
//! | [`bounds`] | the registry of lower and upper bounds with their scope |
//! | [`evaluate`] | the loss report of one `W` (exact where possible, else estimated) |
//! | [`report`] | tables of tightness and plots |
//! | [`cli`] | the `superbound` command line, one file per command |
//! | [`weights_file`] | weights from JSON, NumPy (`.npy`, `.npz`) and safetensors files, floats read exactly |

pub mod bounds;
pub mod cli;
pub mod evaluate;
pub mod kernel;
pub mod report;
pub mod search;
pub mod weights_file;

pub use kernel::error::{Error, Result};
