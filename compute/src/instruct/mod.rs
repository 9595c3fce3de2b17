//! Chapter 7: instructions a program can check. Each instruction states a
//! [`Constraint`] on a poem (its form, a character it must hold or avoid,
//! an acrostic's heads, a first line to continue); `parse` reads one from
//! Chinese in either script, `Constraint::verify` checks a poem against it,
//! and `rouge` is self-instruct's novelty test.

pub mod constraint;
pub mod data;
pub mod model;
pub mod parse;
pub mod rouge;
pub mod seeds;
pub mod vocab;

pub use constraint::{Check, CheckKind, Constraint, Kind, Verdict};
pub use parse::{parse, ParseError, Scripts};
