//! The Tang LLaMA generating on the GPU: weights uploaded once, one KV cache
//! per layer for every position, and the tokens kept in a GPU buffer that
//! the sampler writes and the next step's embedding reads. A whole poem is
//! one submission and one readback.

use std::cell::RefCell;

use super::{
    lora::{Adapter, Linear},
    sampling::{Generation, GenerationTrace},
    Llama, LlamaConfig,
};
use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        attention::{attend_step, AttentionShape, KvCache},
        elementwise::{activation, binary, Activation, Binary},
        embedding::embedding,
        filter::filter_probs,
        lora::{matmul_strided, Product, View},
        q8::{gemv_q8_short, GpuQ8},
        reduce::{rmsnorm, Rows},
        rope::{rope_interleaved, rope_tables, RopeShape},
        sample::{sample, SampleTarget, Sampler},
    },
    tang::EOS,
};

struct GpuLayer {
    attention_norm: GpuTensor,
    wq: GpuQ8,
    wk: GpuQ8,
    wv: GpuQ8,
    wo: GpuQ8,
    ffn_norm: GpuTensor,
    w1: GpuQ8,
    w2: GpuQ8,
    w3: GpuQ8,
}

pub struct GpuLlama {
    pub config: LlamaConfig,
    /// The token embedding dequantized once: a gather reads f32 rows.
    embed: GpuTensor,
    layers: Vec<GpuLayer>,
    norm: GpuTensor,
    output: GpuQ8,
    caches: Vec<KvCache>,
    cos: GpuTensor,
    sin: GpuTensor,
    /// [max_seq_len + 1] u32: the sequence being written.
    tokens: GpuTensor,
    /// [max_seq_len, vocab]: each step's logits.
    logits: GpuTensor,
    /// A LoRA adapter beside the frozen weights (chapter 5): swapped
    /// without touching the base's buffers.
    lora: RefCell<Option<GpuLora>>,
}

/// An adapter on the GPU: its numbers in `Adapter::flat`'s order and
/// where each pair's A and B start.
struct GpuLora {
    rank: usize,
    scale: f32,
    theta: GpuTensor,
    /// (layer, linear, out, in, A's offset, B's offset).
    pairs: Vec<(usize, Linear, usize, usize, usize, usize)>,
}

impl GpuLlama {
    pub fn new(exec: &Executor, model: &Llama) -> Result<GpuLlama, ComputeError> {
        let c = model.config;
        c.check()?;
        let q8 = |m| GpuQ8::upload(exec, m);
        let shape = AttentionShape {
            heads: c.n_heads,
            kv_heads: c.n_kv_heads,
            head_dim: c.head_dim(),
            max_len: c.max_seq_len,
        };
        let caches = (0..c.n_layers)
            .map(|_| KvCache::new(exec, shape))
            .collect::<Result<Vec<_>, _>>()?;
        let (cos, sin) = rope_tables(c.max_seq_len, c.head_dim(), c.rope_theta);
        Ok(GpuLlama {
            config: c,
            embed: exec.upload(&model.tok_embeddings.dequantize()),
            layers: model
                .layers
                .iter()
                .map(|l| GpuLayer {
                    attention_norm: exec.upload(&l.attention_norm),
                    wq: q8(&l.wq),
                    wk: q8(&l.wk),
                    wv: q8(&l.wv),
                    wo: q8(&l.wo),
                    ffn_norm: exec.upload(&l.ffn_norm),
                    w1: q8(&l.w1),
                    w2: q8(&l.w2),
                    w3: q8(&l.w3),
                })
                .collect(),
            norm: exec.upload(&model.norm),
            output: q8(&model.output),
            caches,
            cos: exec.upload(&cos),
            sin: exec.upload(&sin),
            tokens: exec.zeros(c.max_seq_len + 1),
            logits: exec.zeros(c.max_seq_len * c.vocab_size),
            lora: RefCell::new(None),
        })
    }

    /// Puts an adapter beside the base, or takes it away: only the
    /// adapter's numbers are uploaded.
    pub fn set_adapter(&self, exec: &Executor, adapter: Option<&Adapter>) {
        *self.lora.borrow_mut() = adapter.map(|a| {
            let r = a.config.rank;
            let mut at = 0;
            let pairs = a
                .pairs
                .iter()
                .map(|p| {
                    let entry = (p.layer, p.linear, p.rows, p.cols, at, at + r * p.cols);
                    at += r * (p.cols + p.rows);
                    entry
                })
                .collect();
            GpuLora {
                rank: r,
                scale: a.config.scale(),
                theta: exec.upload(&a.flat()),
                pairs,
            }
        });
    }

    /// W·x for one token, plus the adapter's scale·B·(A·x) where it has one.
    fn linear(
        &self,
        rec: &mut Recording<'_>,
        layer: usize,
        which: Linear,
        x: &GpuTensor,
        w: &GpuQ8,
    ) -> Result<GpuTensor, ComputeError> {
        let y = gemv_q8_short(rec, x, w)?;
        let lora = self.lora.borrow();
        let Some(l) = lora.as_ref() else {
            return Ok(y);
        };
        let Some(&(_, _, rows, cols, a, b)) = l.pairs.iter().find(|p| p.0 == layer && p.1 == which)
        else {
            return Ok(y);
        };
        let u = rec.exec().empty(l.rank);
        matmul_strided(
            rec,
            (x, View::rows(0, cols)),
            (&l.theta, View::transposed(a, cols)),
            (&u, View::rows(0, l.rank)),
            Product {
                m: 1,
                k: cols,
                n: l.rank,
            },
            1.0,
            false,
        )?;
        matmul_strided(
            rec,
            (&u, View::rows(0, l.rank)),
            (&l.theta, View::transposed(b, l.rank)),
            (&y, View::rows(0, rows)),
            Product {
                m: 1,
                k: l.rank,
                n: rows,
            },
            l.scale,
            true,
        )?;
        Ok(y)
    }

    /// Bytes the KV caches hold, for every position.
    pub fn cache_bytes(&self) -> u64 {
        self.caches.iter().map(KvCache::bytes).sum()
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
        let mut x = embedding(rec, &self.embed, &token, c.vocab_size, c.dim)?;
        let rope_shape = |heads| RopeShape {
            tokens: 1,
            heads,
            head_dim: c.head_dim(),
            pos0: pos,
        };
        let scale = 1.0 / (c.head_dim() as f32).sqrt();
        for (i, (layer, cache)) in self.layers.iter().zip(&self.caches).enumerate() {
            let n = rmsnorm(rec, &x, &layer.attention_norm, row, c.norm_eps)?;
            let q = self.linear(rec, i, Linear::Wq, &n, &layer.wq)?;
            let q = rope_interleaved(rec, &q, &self.cos, &self.sin, rope_shape(c.n_heads))?;
            let k = self.linear(rec, i, Linear::Wk, &n, &layer.wk)?;
            let k = rope_interleaved(rec, &k, &self.cos, &self.sin, rope_shape(c.n_kv_heads))?;
            let v = self.linear(rec, i, Linear::Wv, &n, &layer.wv)?;
            let a = attend_step(rec, cache, &q, &k, &v, pos, scale)?;
            let o = self.linear(rec, i, Linear::Wo, &a, &layer.wo)?;
            let h = binary(rec, &x, &o, Binary::Add)?;
            let m = rmsnorm(rec, &h, &layer.ffn_norm, row, c.norm_eps)?;
            let pre_gate = self.linear(rec, i, Linear::W1, &m, &layer.w1)?;
            let gate = activation(rec, &pre_gate, Activation::Silu);
            let up = self.linear(rec, i, Linear::W3, &m, &layer.w3)?;
            let g = binary(rec, &gate, &up, Binary::Mul)?;
            let down = self.linear(rec, i, Linear::W2, &g, &layer.w2)?;
            x = binary(rec, &h, &down, Binary::Add)?;
        }
        let n = rmsnorm(rec, &x, &self.norm, row, c.norm_eps)?;
        gemv_q8_short(rec, &n, &self.output)
    }

    /// Runs `g` on the GPU: the prompt is fed, every later position is
    /// drawn on the GPU (or forced), and the tokens and every step's logits
    /// come back in one readback, for a poem that ends where its form says;
    /// one that runs on takes a second submission to the end of the cache.
    /// The trace stops at the first `<eos>` after the prompt.
    pub async fn generate(
        &self,
        exec: &Executor,
        g: &Generation,
    ) -> Result<GenerationTrace, ComputeError> {
        let c = self.config;
        let max = c.max_seq_len;
        if g.prompt.is_empty() || g.prompt.len() > max {
            return Err(ComputeError::Shape {
                op: "llama generate",
                detail: format!("a prompt of {} tokens (1 to {max})", g.prompt.len()),
            });
        }
        if let Some(&bad) = g
            .prompt
            .iter()
            .chain(g.forced.iter().map(|f| &f.1))
            .find(|&&t| t as usize >= c.vocab_size)
        {
            return Err(ComputeError::Shape {
                op: "llama generate",
                detail: format!("token {bad} is outside the vocabulary of {}", c.vocab_size),
            });
        }
        let mut plan = vec![u32::MAX; max + 1];
        plan[..g.prompt.len()].copy_from_slice(&g.prompt);
        // The first entry for a position wins, as on the CPU.
        for &(pos, token) in g.forced.iter().rev() {
            if pos >= g.prompt.len() && pos <= max {
                plan[pos] = token;
            }
        }
        // The prompt and the forced tokens sit in the buffer from the start;
        // the sampler fills the other positions as it goes.
        exec.write_u32(&self.tokens, &plan)?;
        // Steps up to where the form puts <eos> go in one submission; only a
        // poem that has not stopped by then needs a second.
        let first = g.eos_position().unwrap_or(max).max(g.prompt.len()).min(max);
        let (mut from, mut to) = (0, first);
        let mut tokens = plan.clone();
        let mut logits = vec![0f32; max * c.vocab_size];
        loop {
            let mut rec = exec.begin();
            for pos in from..to {
                let step = self.record_step(&mut rec, pos)?;
                rec.copy(&step, 0, &self.logits, pos * c.vocab_size, c.vocab_size);
                let next = pos + 1;
                if next >= g.prompt.len() && plan[next] == u32::MAX {
                    let probs = filter_probs(
                        &mut rec,
                        &self.logits,
                        pos * c.vocab_size,
                        g.sampling.shape(c.vocab_size),
                    )?;
                    sample(
                        &mut rec,
                        Sampler::Categorical,
                        &probs,
                        1,
                        c.vocab_size,
                        g.seed,
                        next as u32,
                        &self.tokens,
                        SampleTarget {
                            offset: next,
                            as_index: true,
                        },
                    )?;
                }
            }
            // Tokens (as f32 bits) and this chunk's logits in one buffer:
            // one readback.
            let rows = (to - from) * c.vocab_size;
            let out = exec.empty(max + 1 + rows);
            rec.copy(&self.tokens, 0, &out, 0, max + 1);
            rec.copy(&self.logits, from * c.vocab_size, &out, max + 1, rows);
            exec.submit(rec)?;
            let words = exec.read(&out).await?;
            for (t, w) in tokens.iter_mut().zip(&words[..=max]) {
                *t = w.to_bits();
            }
            logits[from * c.vocab_size..to * c.vocab_size].copy_from_slice(&words[max + 1..]);
            let stopped = (g.prompt.len()..=to).any(|i| tokens[i] == EOS);
            if stopped || to == max {
                break;
            }
            (from, to) = (to, max);
        }
        let end = (g.prompt.len()..=to)
            .find(|&i| tokens[i] == EOS)
            .unwrap_or(to);
        Ok(GenerationTrace {
            tokens: tokens[..=end].to_vec(),
            logits: logits
                .chunks(c.vocab_size)
                .take(end)
                .map(<[f32]>::to_vec)
                .collect(),
        })
    }
}
