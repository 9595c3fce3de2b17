//! Drawing the next character: temperature, top-k and top-p as
//! `filter_probs` defines them (the GPU computes the same survivors without
//! sorting), then the shared Philox categorical draw over the survivors.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{CpuDecoder, Llama};
use crate::{
    error::ComputeError,
    kernels::{filter::FilterShape, sample::Sampler},
    reference::{filter::filter_probs_ref, sample::sample_ref},
    tang::{CharTokenizer, Form, BOS, EOS, UNK},
};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// > 0; logits are divided by it.
    pub temperature: f32,
    /// 0 keeps every token.
    pub top_k: usize,
    /// 1 keeps every token.
    pub top_p: f32,
}

impl Sampling {
    pub fn shape(&self, cols: usize) -> FilterShape {
        FilterShape {
            cols,
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            // `<unk>` (id 0) stands for the rare characters the vocabulary
            // dropped: drawn, it prints "□".
            skip_first: UNK as usize + 1,
        }
    }
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.8,
            top_k: 0,
            top_p: 1.0,
        }
    }
}

/// The token drawn at step `step` (the position being predicted) with `seed`.
pub fn sample_token(logits: &[f32], s: Sampling, seed: u64, step: u32) -> u32 {
    let probs = filter_probs_ref(logits, s.shape(logits.len()));
    sample_ref(Sampler::Categorical, &probs, 1, probs.len(), seed, step)[0]
}

/// What to generate: a prompt fed as given, then draws, with some
/// positions forced (an acrostic's line openings, a character the visitor
/// picked). Position p's token is drawn with Philox step p.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// `<bos> <form>` and any characters after them.
    pub prompt: Vec<u32>,
    /// (position, token): the token placed at that position instead of a draw.
    pub forced: Vec<(usize, u32)>,
    pub sampling: Sampling,
    pub seed: u64,
}

impl Generation {
    pub fn poem(form: Form, sampling: Sampling, seed: u64) -> Generation {
        Generation {
            prompt: vec![BOS, CharTokenizer::form_id(form)],
            forced: Vec::new(),
            sampling,
            seed,
        }
    }

    /// Where `<eos>` belongs for the prompt's form token, if it has one.
    pub fn eos_position(&self) -> Option<usize> {
        let id = *self.prompt.get(1)?;
        let form = Form::ALL.get(id.checked_sub(crate::tang::FIRST_FORM)? as usize)?;
        Some(form.chars() + 2)
    }

    /// The token forced at `pos` (the first entry, if several name it).
    pub fn forced_at(&self, pos: usize) -> Option<u32> {
        self.forced.iter().find(|f| f.0 == pos).map(|f| f.1)
    }
}

/// A generation's result, the same from either backend.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationTrace {
    /// The whole sequence: the prompt, then each drawn or forced token, up
    /// to and including `<eos>` (or until the cache is full).
    pub tokens: Vec<u32>,
    /// logits[i] is the distribution that token i + 1 was drawn from.
    pub logits: Vec<Vec<f32>>,
}

impl GenerationTrace {
    /// The tokens after the prompt's `<bos> <form>`.
    pub fn poem_ids(&self) -> &[u32] {
        &self.tokens[2.min(self.tokens.len())..]
    }
}

/// The CPU's generation: one step per token through the cache.
pub fn generate_cpu(model: &Arc<Llama>, g: &Generation) -> Result<GenerationTrace, ComputeError> {
    generate_cpu_adapted(model, None, g)
}

/// The same with a LoRA adapter beside the frozen weights.
pub fn generate_cpu_adapted(
    model: &Arc<Llama>,
    adapter: Option<Arc<super::lora::Adapter>>,
    g: &Generation,
) -> Result<GenerationTrace, ComputeError> {
    let max = model.config.max_seq_len;
    if g.prompt.is_empty() || g.prompt.len() > max {
        return Err(ComputeError::Shape {
            op: "llama generate",
            detail: format!("a prompt of {} tokens (1 to {max})", g.prompt.len()),
        });
    }
    let mut decoder = CpuDecoder::new(model.clone());
    decoder.adapter = adapter;
    let mut tokens = g.prompt.clone();
    let mut logits = Vec::new();
    for pos in 0..max {
        let l = decoder.step(tokens[pos])?.logits;
        let next = pos + 1;
        if next == tokens.len() {
            let drawn = g
                .forced_at(next)
                .unwrap_or_else(|| sample_token(&l, g.sampling, g.seed, next as u32));
            tokens.push(drawn);
        }
        logits.push(l);
        if next >= g.prompt.len() && next == tokens.len() - 1 && tokens[next] == EOS {
            break;
        }
    }
    Ok(GenerationTrace { tokens, logits })
}

/// A poem drawn from `<bos> <form>` until `<eos>` or the cache is full: the
/// token ids after the form token, `<eos>` included when drawn.
pub fn generate(
    model: &Arc<Llama>,
    form: Form,
    s: Sampling,
    seed: u64,
) -> Result<Vec<u32>, ComputeError> {
    let trace = generate_cpu(model, &Generation::poem(form, s, seed))?;
    Ok(trace.poem_ids().to_vec())
}
