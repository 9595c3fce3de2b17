//! Chapter 8: aligning the Tang LLaMA to the tone rules. `rules` is the
//! reward a program can check (the "true" reward every method is scored
//! against); `strains` compares its tones with the corpus's own strains.

pub mod dpo;
pub mod rules;
pub mod strains;

pub use rules::{check, Checked, Rule, Tone, ToneTable};
