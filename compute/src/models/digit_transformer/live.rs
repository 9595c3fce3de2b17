//! The digit transformer on whichever backend the page has: the GPU decoder
//! when WebGPU works, the CPU decoder otherwise, behind one interface.

use std::{rc::Rc, sync::Arc};

use super::{
    gpu::{DecodeTrace, GpuDecoder},
    sample_patch, CpuDecoder, DigitTransformer, MlaForm, START,
};
use crate::{backend::Backend, error::ComputeError, executor::Executor};

pub enum LiveDecoder {
    Gpu {
        exec: Rc<Executor>,
        decoder: Box<GpuDecoder>,
    },
    Cpu {
        decoder: Box<CpuDecoder>,
        trace: DecodeTrace,
    },
}

impl LiveDecoder {
    pub fn new(
        model: &Arc<DigitTransformer>,
        backend: &Backend,
        form: MlaForm,
    ) -> Result<LiveDecoder, ComputeError> {
        Ok(match backend {
            Backend::Gpu(exec) => LiveDecoder::Gpu {
                exec: exec.clone(),
                decoder: Box::new(GpuDecoder::new(exec, model, form)?),
            },
            Backend::Cpu(_) => LiveDecoder::Cpu {
                decoder: Box::new(CpuDecoder::new(model.clone(), form)?),
                trace: DecodeTrace {
                    patches: Vec::new(),
                    logits: Vec::new(),
                    attention: Vec::new(),
                },
            },
        })
    }

    pub fn on_gpu(&self) -> bool {
        matches!(self, LiveDecoder::Gpu { .. })
    }

    /// Tokens fed so far.
    pub fn len(&self) -> usize {
        match self {
            LiveDecoder::Gpu { decoder, .. } => decoder.len,
            LiveDecoder::Cpu { decoder, .. } => decoder.tokens.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&mut self) {
        match self {
            LiveDecoder::Gpu { decoder, .. } => decoder.reset(),
            LiveDecoder::Cpu { decoder, trace } => {
                decoder.reset();
                trace.patches.clear();
                trace.logits.clear();
                trace.attention.clear();
            }
        }
    }

    pub fn cache_bytes_allocated(&self) -> u64 {
        match self {
            LiveDecoder::Gpu { decoder, .. } => decoder.cache_bytes_allocated(),
            LiveDecoder::Cpu { decoder, .. } => decoder.cache_bytes_allocated(),
        }
    }

    pub fn cache_bytes_used(&self) -> u64 {
        match self {
            LiveDecoder::Gpu { decoder, .. } => decoder.cache_bytes_used(),
            LiveDecoder::Cpu { decoder, .. } => decoder.cache_bytes_used(),
        }
    }

    /// Every filled cell of every layer's cache, from whichever backend
    /// holds it (one readback on the GPU).
    pub async fn cells(&self) -> Result<super::memory::CacheCells, ComputeError> {
        match self {
            LiveDecoder::Gpu { exec, decoder } => decoder.cells(exec).await,
            LiveDecoder::Cpu { decoder, .. } => Ok(decoder.cells()),
        }
    }

    /// Samples up to `count` more patches with `seed`; with `use_cache`
    /// off, each step first recomputes every earlier token. The same seed
    /// draws the same digit on both backends.
    pub async fn advance(
        &mut self,
        seed: u64,
        count: usize,
        use_cache: bool,
    ) -> Result<DecodeTrace, ComputeError> {
        match self {
            LiveDecoder::Gpu { exec, decoder } => {
                decoder.decode(exec, seed, count, use_cache).await
            }
            LiveDecoder::Cpu { decoder, trace } => {
                for _ in 0..count {
                    let pos = decoder.tokens.len();
                    if pos >= super::POSITIONS {
                        break;
                    }
                    let token = trace.patches.last().copied().unwrap_or(START);
                    let out = if use_cache {
                        decoder.step(token)?
                    } else {
                        decoder.step_uncached(token)?
                    };
                    trace.patches.push(sample_patch(&out.logits, seed, pos));
                    trace.logits.extend_from_slice(&out.logits);
                    trace.attention = out.attention;
                }
                Ok(trace.clone())
            }
        }
    }
}
