//! The digit transformer decoding on the GPU: weights uploaded once, each
//! layer's KV cache allocated once for all 196 positions, and the sampled
//! patches kept in a GPU buffer, so a run of steps is one submission and one
//! readback.

use super::{
    memory::{grouped_cells, CacheCells},
    Attention, Config, DigitTransformer, MlaForm, EPS, PATCH_VALUES, POSITIONS, ROPE_THETA, START,
};
use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        attention::{attend_step, KvCache},
        elementwise::{activation, binary, Activation, Binary},
        embedding::embedding,
        gemm::{gemm_f32, GemmShape, GemmVariant},
        mla::{mla_attend, LatentCache, MlaAttendShape},
        q8::{gemv_q8_short, GpuQ8},
        reduce::{rmsnorm, softmax, Rows},
        rope::{rope, rope_tables, RopeShape},
        sample::{sample, SampleTarget, Sampler},
    },
    models::transpose,
};

enum GpuAttention {
    Grouped(Box<GpuGrouped>),
    Latent(Box<GpuLatent>),
}

struct GpuGrouped {
    wq: GpuQ8,
    wk: GpuQ8,
    wv: GpuQ8,
    wo: GpuQ8,
}

struct GpuLatent {
    wq: GpuQ8,
    wo: GpuQ8,
    w_dkv: GpuQ8,
    w_qr: GpuQ8,
    w_kr: GpuQ8,
    /// Naive form: W_ukᵀ and W_uvᵀ, [d_c, heads·d_h], to decompress latents.
    w_uk_t: GpuTensor,
    w_uv_t: GpuTensor,
    /// Absorbed form: (W_uk,iᵀ W_q,i)ᵀ stacked, [d, heads·d_c], and
    /// (W_o,i W_uv,i)ᵀ stacked, [heads·d_c, d]; folded once, in f32.
    q_absorbed_t: GpuTensor,
    o_absorbed_t: GpuTensor,
}

struct GpuLayer {
    attn_norm: GpuTensor,
    ffn_norm: GpuTensor,
    w1: GpuQ8,
    w2: GpuQ8,
    attention: GpuAttention,
}

enum GpuCache {
    Grouped(KvCache),
    Latent(LatentCache),
}

impl GpuCache {
    fn bytes(&self) -> u64 {
        match self {
            GpuCache::Grouped(c) => c.bytes(),
            GpuCache::Latent(c) => c.bytes(),
        }
    }

    fn probs(&self) -> &GpuTensor {
        match self {
            GpuCache::Grouped(c) => &c.probs,
            GpuCache::Latent(c) => &c.probs,
        }
    }
}

/// What a run of steps left behind, read back in one transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeTrace {
    /// Patches sampled so far (position order).
    pub patches: Vec<u32>,
    /// Every step's logits over the 16 patch values, [patches, 16].
    pub logits: Vec<f32>,
    /// Per layer, the last step's attention weights [heads, positions so far].
    pub attention: Vec<Vec<f32>>,
}

impl DecodeTrace {
    /// The latest step's logits (empty before the first step).
    pub fn last_logits(&self) -> &[f32] {
        &self.logits[self.logits.len().saturating_sub(PATCH_VALUES)..]
    }
}

/// One variant's decoder: its weights, caches and sampled sequence on the GPU.
pub struct GpuDecoder {
    pub config: Config,
    pub form: MlaForm,
    embed: GpuTensor,
    out_norm: GpuTensor,
    head: GpuQ8,
    layers: Vec<GpuLayer>,
    caches: Vec<GpuCache>,
    rope_head: (GpuTensor, GpuTensor),
    rope_mla: (GpuTensor, GpuTensor),
    /// [START, patch 0, …, patch 195] as u32: the sampler writes here and
    /// each step embeds its own entry.
    tokens: GpuTensor,
    /// Each step's logits, [196, 16].
    logits: GpuTensor,
    /// Tokens fed so far.
    pub len: usize,
}

impl GpuDecoder {
    pub fn new(
        exec: &Executor,
        model: &DigitTransformer,
        form: MlaForm,
    ) -> Result<GpuDecoder, ComputeError> {
        let c = model.config;
        let q8 = |m| GpuQ8::upload(exec, m);
        let mut layers = Vec::new();
        let mut caches = Vec::new();
        for layer in &model.layers {
            let attention = match &layer.attention {
                Attention::Grouped { wq, wk, wv, wo } => {
                    caches.push(GpuCache::Grouped(KvCache::new(exec, c.attention_shape())?));
                    GpuAttention::Grouped(Box::new(GpuGrouped {
                        wq: q8(wq),
                        wk: q8(wk),
                        wv: q8(wv),
                        wo: q8(wo),
                    }))
                }
                Attention::Latent {
                    wq,
                    wo,
                    w_dkv,
                    w_uk,
                    w_uv,
                    w_qr,
                    w_kr,
                } => {
                    caches.push(GpuCache::Latent(LatentCache::new(
                        exec, c.heads, c.latent, c.rope_dim, POSITIONS,
                    )?));
                    let (d, h, dh, dc) = (c.dim, c.heads, c.head_dim, c.latent);
                    let (wq_f, wo_f) = (wq.dequantize(), wo.dequantize());
                    let (uk, uv) = (w_uk.dequantize(), w_uv.dequantize());
                    // Row i·dc + k of the absorbed query matrix:
                    // Σ_r W_uk[i·dh + r, k] · W_q[i·dh + r, :].
                    let mut q_abs = vec![0.0f32; h * dc * d];
                    // Column i·dc + k of the absorbed output matrix:
                    // Σ_r W_o[:, i·dh + r] · W_uv[i·dh + r, k].
                    let mut o_abs = vec![0.0f32; d * h * dc];
                    for i in 0..h {
                        for r in 0..dh {
                            let row = i * dh + r;
                            for k in 0..dc {
                                let (a, b) = (uk[row * dc + k], uv[row * dc + k]);
                                for j in 0..d {
                                    q_abs[(i * dc + k) * d + j] += a * wq_f[row * d + j];
                                    o_abs[j * h * dc + i * dc + k] += wo_f[j * h * dh + row] * b;
                                }
                            }
                        }
                    }
                    GpuAttention::Latent(Box::new(GpuLatent {
                        wq: q8(wq),
                        wo: q8(wo),
                        w_dkv: q8(w_dkv),
                        w_qr: q8(w_qr),
                        w_kr: q8(w_kr),
                        w_uk_t: exec.upload(&transpose(&uk, h * dh, dc)),
                        w_uv_t: exec.upload(&transpose(&uv, h * dh, dc)),
                        q_absorbed_t: exec.upload(&transpose(&q_abs, h * dc, d)),
                        o_absorbed_t: exec.upload(&transpose(&o_abs, d, h * dc)),
                    }))
                }
            };
            layers.push(GpuLayer {
                attn_norm: exec.upload(&layer.attn_norm),
                ffn_norm: exec.upload(&layer.ffn_norm),
                w1: q8(&layer.w1),
                w2: q8(&layer.w2),
                attention,
            });
        }
        let tables = |dim| {
            let (cos, sin) = rope_tables(POSITIONS, dim, ROPE_THETA);
            (exec.upload(&cos), exec.upload(&sin))
        };
        let mut tokens = vec![0u32; POSITIONS + 1];
        tokens[0] = START;
        Ok(GpuDecoder {
            config: c,
            form,
            embed: exec.upload(&model.embed),
            out_norm: exec.upload(&model.out_norm),
            head: q8(&model.head),
            layers,
            caches,
            rope_head: tables(c.head_dim),
            rope_mla: tables(c.rope_dim),
            tokens: exec.upload_u32(&tokens),
            logits: exec.zeros(POSITIONS * PATCH_VALUES),
            len: 0,
        })
    }

    /// Bytes the KV caches occupy on the GPU, allocated up front for all
    /// 196 positions: the runtime's own bookkeeping (buffer sizes).
    pub fn cache_bytes_allocated(&self) -> u64 {
        self.caches.iter().map(GpuCache::bytes).sum()
    }

    /// Bytes of cache the tokens fed so far fill.
    pub fn cache_bytes_used(&self) -> u64 {
        self.cache_bytes_allocated() / POSITIONS as u64 * self.len as u64
    }

    /// Starts a new sequence; the caches are overwritten, not reallocated.
    pub fn reset(&mut self) {
        self.len = 0;
    }

    /// Records the step at `pos`: embeds tokens[pos], runs every layer
    /// (writing row `pos` of each cache) and returns the logits.
    fn record_step(&self, rec: &mut Recording<'_>, pos: usize) -> Result<GpuTensor, ComputeError> {
        let c = self.config;
        let row = Rows {
            rows: 1,
            cols: c.dim,
        };
        let token = rec.exec().empty(1);
        rec.copy(&self.tokens, pos, &token, 0, 1);
        let mut x = embedding(rec, &self.embed, &token, PATCH_VALUES + 1, c.dim)?;
        for (layer, cache) in self.layers.iter().zip(&self.caches) {
            let h = rmsnorm(rec, &x, &layer.attn_norm, row, EPS)?;
            let out = match (&layer.attention, cache) {
                (GpuAttention::Grouped(w), GpuCache::Grouped(cache)) => {
                    let GpuGrouped { wq, wk, wv, wo } = w.as_ref();
                    let shape = |heads| RopeShape {
                        tokens: 1,
                        heads,
                        head_dim: c.head_dim,
                        pos0: pos,
                    };
                    let (cos, sin) = &self.rope_head;
                    let q = gemv_q8_short(rec, &h, wq)?;
                    let q = rope(rec, &q, cos, sin, shape(c.heads))?;
                    let k = gemv_q8_short(rec, &h, wk)?;
                    let k = rope(rec, &k, cos, sin, shape(c.kv_heads))?;
                    let v = gemv_q8_short(rec, &h, wv)?;
                    let scale = 1.0 / (c.head_dim as f32).sqrt();
                    let a = attend_step(rec, cache, &q, &k, &v, pos, scale)?;
                    gemv_q8_short(rec, &a, wo)?
                }
                (GpuAttention::Latent(weights), GpuCache::Latent(cache)) => {
                    self.record_latent(rec, weights, cache, &h, pos)?
                }
                _ => unreachable!("caches are built from the layers"),
            };
            x = binary(rec, &x, &out, Binary::Add)?;
            let h = rmsnorm(rec, &x, &layer.ffn_norm, row, EPS)?;
            let up = gemv_q8_short(rec, &h, &layer.w1)?;
            let f = activation(rec, &up, Activation::Gelu);
            let down = gemv_q8_short(rec, &f, &layer.w2)?;
            x = binary(rec, &x, &down, Binary::Add)?;
        }
        let h = rmsnorm(rec, &x, &self.out_norm, row, EPS)?;
        gemv_q8_short(rec, &h, &self.head)
    }

    fn record_latent(
        &self,
        rec: &mut Recording<'_>,
        weights: &GpuLatent,
        cache: &LatentCache,
        h: &GpuTensor,
        pos: usize,
    ) -> Result<GpuTensor, ComputeError> {
        let GpuLatent {
            wq,
            wo,
            w_dkv,
            w_qr,
            w_kr,
            w_uk_t,
            w_uv_t,
            q_absorbed_t,
            o_absorbed_t,
        } = weights;
        let c = self.config;
        let (d, heads, dh, dc, dr) = (c.dim, c.heads, c.head_dim, c.latent, c.rope_dim);
        let len = pos + 1;
        let (cos, sin) = &self.rope_mla;
        let shape = |heads| RopeShape {
            tokens: 1,
            heads,
            head_dim: dr,
            pos0: pos,
        };
        let latent = gemv_q8_short(rec, h, w_dkv)?;
        let rope_key = gemv_q8_short(rec, h, w_kr)?;
        let rope_key = rope(rec, &rope_key, cos, sin, shape(1))?;
        cache.write(rec, &latent, &rope_key, pos)?;
        let q_rope = gemv_q8_short(rec, h, w_qr)?;
        let q_rope = rope(rec, &q_rope, cos, sin, shape(heads))?;
        let scale = 1.0 / ((dh + dr) as f32).sqrt();
        let gemm = |rec: &mut Recording<'_>, a: &GpuTensor, b: &GpuTensor, m, k, n| {
            gemm_f32(rec, a, b, GemmShape { m, k, n }, GemmVariant::F32Tiled)
        };
        match self.form {
            MlaForm::Naive => {
                let q = gemv_q8_short(rec, h, wq)?;
                let latents = rec.exec().empty(len * dc);
                rec.copy(&cache.latent, 0, &latents, 0, len * dc);
                let keys = gemm(rec, &latents, w_uk_t, len, dc, heads * dh)?;
                let values = gemm(rec, &latents, w_uv_t, len, dc, heads * dh)?;
                let shape = MlaAttendShape {
                    key_heads: heads,
                    key_dim: dh,
                    value_dim: dh,
                    len,
                    scale,
                };
                let a = mla_attend(rec, cache, &q, &q_rope, &keys, &values, shape)?;
                gemv_q8_short(rec, &a, wo)
            }
            MlaForm::Absorbed => {
                let q = gemm(rec, h, q_absorbed_t, 1, d, heads * dc)?;
                let shape = MlaAttendShape {
                    key_heads: 1,
                    key_dim: dc,
                    value_dim: dc,
                    len,
                    scale,
                };
                let mixed =
                    mla_attend(rec, cache, &q, &q_rope, &cache.latent, &cache.latent, shape)?;
                gemm(rec, &mixed, o_absorbed_t, 1, heads * dc, d)
            }
        }
    }

    /// Records `count` decoding steps that sample with `seed` (the draw at
    /// position p uses Philox step p, as on the CPU). With `use_cache` off,
    /// every step first recomputes the caches for all earlier tokens.
    /// Reads back once, at the end.
    pub async fn decode(
        &mut self,
        exec: &Executor,
        seed: u64,
        count: usize,
        use_cache: bool,
    ) -> Result<DecodeTrace, ComputeError> {
        let end = (self.len + count).min(POSITIONS);

        let mut rec = exec.begin();
        for pos in self.len..end {
            if !use_cache {
                for earlier in 0..pos {
                    self.record_step(&mut rec, earlier)?;
                }
            }
            let l = self.record_step(&mut rec, pos)?;
            let probs = softmax(
                &mut rec,
                &l,
                Rows {
                    rows: 1,
                    cols: PATCH_VALUES,
                },
            )?;
            let target = SampleTarget {
                offset: pos + 1,
                as_index: true,
            };
            sample(
                &mut rec,
                Sampler::Categorical,
                &probs,
                1,
                PATCH_VALUES,
                seed,
                pos as u32,
                &self.tokens,
                target,
            )?;
            rec.copy(&l, 0, &self.logits, pos * PATCH_VALUES, PATCH_VALUES);
        }
        self.len = end;
        self.trace(exec, rec).await
    }

    /// Every filled cell of every layer's cache, read back in one transfer:
    /// the same [`CacheCells`] as [`CpuDecoder::cells`](super::CpuDecoder).
    pub async fn cells(&self, exec: &Executor) -> Result<CacheCells, ComputeError> {
        let parts: Vec<[&GpuTensor; 2]> = self
            .caches
            .iter()
            .map(|c| match c {
                GpuCache::Grouped(c) => [&c.k, &c.v],
                GpuCache::Latent(c) => [&c.latent, &c.rope_key],
            })
            .collect();
        let total: usize = parts.iter().flatten().map(|t| t.len).sum();
        let out = exec.empty(total);
        let mut rec = exec.begin();
        let mut at = 0;
        for t in parts.iter().flatten() {
            rec.copy(t, 0, &out, at, t.len);
            at += t.len;
        }
        exec.submit(rec)?;
        let words = exec.read(&out).await?;
        let mut rest = words.as_slice();
        let mut take = |len: usize| {
            let (head, tail) = rest.split_at(len);
            rest = tail;
            head
        };
        let n = self.len;
        Ok(self
            .caches
            .iter()
            .map(|c| match c {
                GpuCache::Grouped(c) => {
                    let s = c.shape;
                    let (k, v) = (take(c.k.len), take(c.v.len));
                    grouped_cells(k, v, s.kv_heads, s.max_len, s.head_dim, n)
                }
                GpuCache::Latent(c) => {
                    let (latent, rope) = (take(c.latent.len), take(c.rope_key.len));
                    (0..n)
                        .map(|pos| {
                            vec![
                                latent[pos * c.latent_dim..(pos + 1) * c.latent_dim].to_vec(),
                                rope[pos * c.rope_dim..(pos + 1) * c.rope_dim].to_vec(),
                            ]
                        })
                        .collect()
                }
            })
            .collect())
    }

    /// Copies tokens, logits and every layer's attention weights into one
    /// buffer and reads it back.
    async fn trace(
        &self,
        exec: &Executor,
        mut rec: Recording<'_>,
    ) -> Result<DecodeTrace, ComputeError> {
        let c = self.config;
        let probs_len = c.heads * POSITIONS;
        let at = POSITIONS + 1 + POSITIONS * PATCH_VALUES;
        let out = exec.empty(at + c.layers * probs_len);
        rec.copy(&self.tokens, 0, &out, 0, POSITIONS + 1);
        rec.copy(
            &self.logits,
            0,
            &out,
            POSITIONS + 1,
            POSITIONS * PATCH_VALUES,
        );
        for (i, cache) in self.caches.iter().enumerate() {
            rec.copy(cache.probs(), 0, &out, at + i * probs_len, probs_len);
        }
        exec.submit(rec)?;
        let words = exec.read(&out).await?;
        let n = self.len;
        Ok(DecodeTrace {
            patches: words[1..=n].iter().map(|w| w.to_bits()).collect(),
            logits: words[POSITIONS + 1..POSITIONS + 1 + n * PATCH_VALUES].to_vec(),
            attention: (0..c.layers)
                .map(|i| {
                    let layer = &words[at + i * probs_len..at + (i + 1) * probs_len];
                    (0..c.heads)
                        .flat_map(|h| layer[h * POSITIONS..h * POSITIONS + n].to_vec())
                        .collect()
                })
                .collect(),
        })
    }
}
