//! Chapter 8: aligning the Tang LLaMA to the tone rules. `rules` is the
//! reward a program can check (the "true" reward every method is scored
//! against); `strains` compares its tones with the corpus's own strains.

pub mod dpo;
pub mod rules;
pub mod strains;

pub use rules::{check, Checked, Rule, Tone, ToneTable};

pub mod metrics;

use crate::models::llama::sampling::Sampling;

/// How every run is evaluated and the page writes: temperature 0.8, no
/// top-k or top-p, so the KL is between plain tempered softmaxes.
pub const EVAL_SAMPLING: Sampling = Sampling {
    temperature: 0.8,
    top_k: 0,
    top_p: 1.0,
};

/// The Philox seed of the i-th poem drawn with `seed`, as chapter 4's
/// `sample llama --seed` numbers them.
pub fn poem_seed(seed: u64, i: usize) -> u64 {
    (seed << 32) | i as u64
}
