//! The standards engine: exact, versioned implementations of the Chinese
//! national standards the platform judges data by. Pure: no I/O, no async.
//!
//! Every result names the rule set that produced it; rule sets are chosen by
//! the date of the data unless the caller forces one.
#![forbid(unsafe_code)]

pub mod aqi;
pub mod cst;
pub mod emission;
pub mod evaluation;
pub mod exact;
pub mod rules;
pub mod soil;
pub mod water;
