//! GPT-2's byte-level BPE, for counting a prompt's tokens: the KV cache
//! grows by one entry per token, so tokens × bytes per token is what a
//! prompt costs. Loaded from `assets/tokenizer/gpt2.json` (converted by
//! `cargo xtask tokenizer`).

use tokenizers::Tokenizer;

use crate::error::ComputeError;

pub struct Gpt2Tokenizer(Tokenizer);

impl Gpt2Tokenizer {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ComputeError> {
        Tokenizer::from_bytes(bytes)
            .map(Gpt2Tokenizer)
            .map_err(|e| ComputeError::Cpu(format!("the tokenizer file is unusable: {e}")))
    }

    /// Token ids of `text`, without special tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ComputeError> {
        self.0
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| ComputeError::Cpu(format!("tokenizing failed: {e}")))
    }

    pub fn count(&self, text: &str) -> Result<usize, ComputeError> {
        self.encode(text).map(|ids| ids.len())
    }
}
