//! A one-block decoder-only transformer, assembled from the kernels. Each
//! decoding step runs on the GPU as recorded dispatches (`step_gpu`) or on
//! the CPU through the references (`step_ref`), so the two can be compared
//! logit for logit.
//!
//! step(token, pos):
//!   x  = embed[token]
//!   h  = rmsnorm(x) ; q, k, v = h·Wqᵀ, h·Wkᵀ, h·Wvᵀ ; rope(q), rope(k) at pos
//!   x += attend(cache, q, k, v, pos) · Woᵀ
//!   x += gelu(rmsnorm(x)·W1ᵀ) · W2ᵀ
//!   logits = rmsnorm(x) · Headᵀ

use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    inputs::uniform_signed,
    kernels::{
        attention::{attend_step, AttentionShape, KvCache},
        elementwise::{activation, binary, Activation, Binary},
        embedding::embedding,
        q8::{linear_q8, GpuQ8},
        reduce::{rmsnorm, Rows},
        rope::{rope, rope_tables, RopeShape},
    },
    reference::{
        attention::{attend_step_ref, KvCacheRef},
        elementwise::{activation_ref, binary_ref},
        embedding::embedding_ref,
        q8::linear_q8_ref,
        reduce::rmsnorm_ref,
        rope::rope_ref,
    },
    weights::Q8Matrix,
};

const EPS: f32 = 1e-6;
const ROPE_THETA: f64 = 10_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub vocab: usize,
    pub dim: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub ffn: usize,
    pub max_len: usize,
}

impl Config {
    pub fn head_dim(&self) -> usize {
        self.dim / self.heads
    }

    fn attention(&self) -> AttentionShape {
        AttentionShape {
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim(),
            max_len: self.max_len,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Weights {
    pub embed: Vec<f32>,
    pub attn_norm: Vec<f32>,
    pub wq: Q8Matrix,
    pub wk: Q8Matrix,
    pub wv: Q8Matrix,
    pub wo: Q8Matrix,
    pub ffn_norm: Vec<f32>,
    pub w1: Q8Matrix,
    pub w2: Q8Matrix,
    pub out_norm: Vec<f32>,
    pub head: Q8Matrix,
}

impl Weights {
    /// Seeded random weights, scaled like an initialised network.
    pub fn random(c: Config, seed: u64) -> Weights {
        let mut s = seed;
        let mut next = |n: usize, scale: f32| {
            s += 1;
            uniform_signed(s, n)
                .into_iter()
                .map(|v| v * scale)
                .collect::<Vec<f32>>()
        };
        let mut q8 = |rows: usize, cols: usize| {
            Q8Matrix::quantize(&next(rows * cols, (3.0 / cols as f32).sqrt()), rows, cols)
        };
        let kv = c.kv_heads * c.head_dim();
        let (wq, wk, wv, wo) = (
            q8(c.dim, c.dim),
            q8(kv, c.dim),
            q8(kv, c.dim),
            q8(c.dim, c.dim),
        );
        let (w1, w2, head) = (q8(c.ffn, c.dim), q8(c.dim, c.ffn), q8(c.vocab, c.dim));
        let mut norm = || {
            next(c.dim, 0.2)
                .into_iter()
                .map(|v| 1.0 + v)
                .collect::<Vec<f32>>()
        };
        let (attn_norm, ffn_norm, out_norm) = (norm(), norm(), norm());
        Weights {
            embed: next(c.vocab * c.dim, 1.0),
            attn_norm,
            wq,
            wk,
            wv,
            wo,
            ffn_norm,
            w1,
            w2,
            out_norm,
            head,
        }
    }
}

/// The CPU path: references only, with its own KV cache.
pub struct CpuModel {
    pub config: Config,
    pub w: Weights,
    cache: KvCacheRef,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl CpuModel {
    pub fn new(config: Config, w: Weights) -> Self {
        let (cos, sin) = rope_tables(config.max_len, config.head_dim(), ROPE_THETA);
        CpuModel {
            cache: KvCacheRef::new(config.attention()),
            config,
            w,
            cos,
            sin,
        }
    }

    pub fn step_ref(&mut self, token: u32, pos: usize) -> Result<Vec<f32>, ComputeError> {
        let c = self.config;
        let w = &self.w;
        let row = Rows {
            rows: 1,
            cols: c.dim,
        };
        let rope_shape = |heads| RopeShape {
            tokens: 1,
            heads,
            head_dim: c.head_dim(),
            pos0: pos,
        };
        let mut x = embedding_ref(&w.embed, &[token], c.vocab, c.dim)?;
        let h = rmsnorm_ref(&x, &w.attn_norm, row, EPS);
        let q = rope_ref(
            &linear_q8_ref(&h, &w.wq, 1)?,
            &self.cos,
            &self.sin,
            rope_shape(c.heads),
        )?;
        let k = rope_ref(
            &linear_q8_ref(&h, &w.wk, 1)?,
            &self.cos,
            &self.sin,
            rope_shape(c.kv_heads),
        )?;
        let v = linear_q8_ref(&h, &w.wv, 1)?;
        let a = attend_step_ref(
            &mut self.cache,
            &q,
            &k,
            &v,
            pos,
            1.0 / (c.head_dim() as f32).sqrt(),
        );
        x = binary_ref(&x, &linear_q8_ref(&a, &w.wo, 1)?, Binary::Add)?;
        let h = rmsnorm_ref(&x, &w.ffn_norm, row, EPS);
        let f = activation_ref(&linear_q8_ref(&h, &w.w1, 1)?, Activation::Gelu)?;
        x = binary_ref(&x, &linear_q8_ref(&f, &w.w2, 1)?, Binary::Add)?;
        linear_q8_ref(&rmsnorm_ref(&x, &w.out_norm, row, EPS), &w.head, 1)
    }
}

/// The GPU path: weights uploaded once, the KV cache resident on the GPU.
pub struct GpuModel {
    pub config: Config,
    embed: GpuTensor,
    attn_norm: GpuTensor,
    ffn_norm: GpuTensor,
    out_norm: GpuTensor,
    wq: GpuQ8,
    wk: GpuQ8,
    wv: GpuQ8,
    wo: GpuQ8,
    w1: GpuQ8,
    w2: GpuQ8,
    head: GpuQ8,
    cos: GpuTensor,
    sin: GpuTensor,
    pub cache: KvCache,
}

impl GpuModel {
    pub fn upload(exec: &Executor, config: Config, w: &Weights) -> Result<GpuModel, ComputeError> {
        let (cos, sin) = rope_tables(config.max_len, config.head_dim(), ROPE_THETA);
        let q8 = |m: &Q8Matrix| GpuQ8::upload(exec, m);
        Ok(GpuModel {
            config,
            embed: exec.upload(&w.embed),
            attn_norm: exec.upload(&w.attn_norm),
            ffn_norm: exec.upload(&w.ffn_norm),
            out_norm: exec.upload(&w.out_norm),
            wq: q8(&w.wq),
            wk: q8(&w.wk),
            wv: q8(&w.wv),
            wo: q8(&w.wo),
            w1: q8(&w.w1),
            w2: q8(&w.w2),
            head: q8(&w.head),
            cos: exec.upload(&cos),
            sin: exec.upload(&sin),
            cache: KvCache::new(exec, config.attention())?,
        })
    }

    /// Records one decoding step for the token id held in `token` (a u32
    /// tensor, so a GPU sampler can write it) and returns the logits.
    pub fn step_gpu(
        &self,
        rec: &mut Recording<'_>,
        token: &GpuTensor,
        pos: usize,
    ) -> Result<GpuTensor, ComputeError> {
        let c = self.config;
        let row = Rows {
            rows: 1,
            cols: c.dim,
        };
        let rope_shape = |heads| RopeShape {
            tokens: 1,
            heads,
            head_dim: c.head_dim(),
            pos0: pos,
        };
        let x = embedding(rec, &self.embed, token, c.vocab, c.dim)?;
        let h = rmsnorm(rec, &x, &self.attn_norm, row, EPS)?;
        let q = linear_q8(rec, &h, &self.wq, 1)?;
        let q = rope(rec, &q, &self.cos, &self.sin, rope_shape(c.heads))?;
        let k = linear_q8(rec, &h, &self.wk, 1)?;
        let k = rope(rec, &k, &self.cos, &self.sin, rope_shape(c.kv_heads))?;
        let v = linear_q8(rec, &h, &self.wv, 1)?;
        let a = attend_step(
            rec,
            &self.cache,
            &q,
            &k,
            &v,
            pos,
            1.0 / (c.head_dim() as f32).sqrt(),
        )?;
        let attn_out = linear_q8(rec, &a, &self.wo, 1)?;
        let x = binary(rec, &x, &attn_out, Binary::Add)?;
        let h = rmsnorm(rec, &x, &self.ffn_norm, row, EPS)?;
        let up = linear_q8(rec, &h, &self.w1, 1)?;
        let f = activation(rec, &up, Activation::Gelu);
        let down = linear_q8(rec, &f, &self.w2, 1)?;
        let x = binary(rec, &x, &down, Binary::Add)?;
        let h = rmsnorm(rec, &x, &self.out_norm, row, EPS)?;
        linear_q8(rec, &h, &self.head, 1)
    }
}
