//! Reports built on the bounds: tables of tightness and plots.

pub mod features;
pub mod plot;
pub mod table;
