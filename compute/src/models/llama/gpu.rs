//! The Tang LLaMA generating on the GPU: weights uploaded once, one KV cache
//! per layer for every position, and the tokens kept in a GPU buffer that
//! the sampler writes and the next step's embedding reads. A whole poem is
//! one submission and one readback.
//!
//! A step runs each layer in four fused dispatches (`kernels::decode`).
//! With a LoRA adapter, or a model too wide for the fused kernels, it runs
//! the separate kernels instead (seventeen dispatches a layer): the
//! adapter's products sit beside each frozen one.

use std::{
    cell::{Cell, RefCell},
    ops::Range,
};

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
        decode::{self, DecodeShape},
        elementwise::{activation, binary, Activation, Binary},
        embedding::embedding,
        filter::filter_probs,
        lora::{matmul_strided, Product, View},
        q8::{gemv_q8_short, gemv_q8_short_rows, GpuQ8},
        reduce::{rmsnorm, Rows},
        rope::{rope_interleaved, rope_tables, RopeShape},
        sample::{sample, SampleTarget, Sampler},
    },
    tang::EOS,
    weights::Q8Matrix,
};

struct GpuLayer {
    attention_norm: GpuTensor,
    /// W_q, W_k and W_v stacked by rows: one product for all three.
    wqkv: GpuQ8,
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
    /// cos, then sin, in one buffer: the fused kernel's binding.
    rope: GpuTensor,
    /// The fused kernels' shape, if the model fits them.
    decode: Option<DecodeShape>,
    /// Whether a step without an adapter uses the fused kernels (the
    /// default); see [`GpuLlama::set_fused`].
    fused: Cell<bool>,
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
        let q8 = |m: &Q8Matrix| GpuQ8::upload(exec, m);
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
        let decode = DecodeShape {
            dim: c.dim,
            hidden: c.hidden_dim,
            heads: c.n_heads,
            kv_heads: c.n_kv_heads,
            head_dim: c.head_dim(),
            max_len: c.max_seq_len,
            eps: c.norm_eps,
        };
        let layers = model
            .layers
            .iter()
            .map(|l| {
                let wqkv = Q8Matrix::stack_rows(&[&l.wq, &l.wk, &l.wv]).ok_or_else(|| {
                    ComputeError::Shape {
                        op: "llama upload",
                        detail: "W_q, W_k and W_v differ in width".into(),
                    }
                })?;
                Ok(GpuLayer {
                    attention_norm: exec.upload(&l.attention_norm),
                    wqkv: q8(&wqkv),
                    wo: q8(&l.wo),
                    ffn_norm: exec.upload(&l.ffn_norm),
                    w1: q8(&l.w1),
                    w2: q8(&l.w2),
                    w3: q8(&l.w3),
                })
            })
            .collect::<Result<Vec<_>, ComputeError>>()?;
        Ok(GpuLlama {
            config: c,
            embed: exec.upload(&model.tok_embeddings.dequantize()),
            layers,
            norm: exec.upload(&model.norm),
            output: q8(&model.output),
            caches,
            rope: exec.upload(&[cos.as_slice(), &sin].concat()),
            cos: exec.upload(&cos),
            sin: exec.upload(&sin),
            decode: decode.fits().then_some(decode),
            fused: Cell::new(true),
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

    /// Off: every step runs the separate kernels, as with an adapter. For
    /// the benchmark's "before" row and the test that holds the two paths
    /// equal; the app never turns it off.
    pub fn set_fused(&self, fused: bool) {
        self.fused.set(fused);
    }

    /// Dispatches one step records for a position whose next token is
    /// drawn: the fused path's 4 a layer plus the embedding, the output
    /// head, the filter and the sampler, or the separate kernels' count.
    pub fn dispatches_per_sampled_step(&self) -> usize {
        let layers = self.config.n_layers;
        if self.uses_fused() {
            4 * layers + 4
        } else {
            // A layer: 2 RMSNorms, 7 products, 2 RoPEs, the cache write,
            // attention, 2 adds, SiLU and a product of two vectors.
            17 * layers + 5
        }
    }

    fn uses_fused(&self) -> bool {
        self.decode.is_some() && self.fused.get() && self.lora.borrow().is_none()
    }

    /// W·x for one token (rows `part` of W), plus the adapter's
    /// scale·B·(A·x) where it has one.
    fn linear(
        &self,
        rec: &mut Recording<'_>,
        layer: usize,
        which: Linear,
        x: &GpuTensor,
        (w, part): (&GpuQ8, Range<usize>),
    ) -> Result<GpuTensor, ComputeError> {
        let y = gemv_q8_short_rows(rec, x, w, part.start, part.len())?;
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
        match self.decode {
            Some(shape) if self.uses_fused() => self.record_step_fused(rec, shape, pos),
            _ => self.record_step_separate(rec, pos),
        }
    }

    /// The token's embedding: tokens[pos]'s row of the table.
    fn embed_token(&self, rec: &mut Recording<'_>, pos: usize) -> Result<GpuTensor, ComputeError> {
        let c = self.config;
        let token = rec.exec().empty(1);
        rec.copy(&self.tokens, pos, &token, 0, 1);
        embedding(rec, &self.embed, &token, c.vocab_size, c.dim)
    }

    /// [`Self::record_step`] in 4 dispatches a layer, and 2 more.
    fn record_step_fused(
        &self,
        rec: &mut Recording<'_>,
        shape: DecodeShape,
        pos: usize,
    ) -> Result<GpuTensor, ComputeError> {
        let mut x = self.embed_token(rec, pos)?;
        for (layer, cache) in self.layers.iter().zip(&self.caches) {
            let q = decode::qkv_rope(
                rec,
                shape,
                &x,
                &layer.attention_norm,
                &layer.wqkv,
                &self.rope,
                cache,
                pos,
            )?;
            let h = decode::attend_out(rec, shape, &q, cache, &layer.wo, &x, pos)?;
            let g = decode::swiglu(rec, shape, &h, &layer.ffn_norm, &layer.w1, &layer.w3)?;
            x = decode::down(rec, shape, &g, &layer.w2, &h)?;
        }
        decode::norm_gemv(rec, shape, &x, &self.norm, &self.output)
    }

    /// [`Self::record_step`] with a kernel for each operation, and the
    /// adapter's products beside the frozen ones.
    fn record_step_separate(
        &self,
        rec: &mut Recording<'_>,
        pos: usize,
    ) -> Result<GpuTensor, ComputeError> {
        let c = self.config;
        let row = Rows {
            rows: 1,
            cols: c.dim,
        };
        let mut x = self.embed_token(rec, pos)?;
        let rope_shape = |heads| RopeShape {
            tokens: 1,
            heads,
            head_dim: c.head_dim(),
            pos0: pos,
        };
        let scale = 1.0 / (c.head_dim() as f32).sqrt();
        let (dim, kv_dim) = (c.dim, c.n_kv_heads * c.head_dim());
        let all = |w: &GpuQ8| 0..w.rows;
        for (i, (layer, cache)) in self.layers.iter().zip(&self.caches).enumerate() {
            let n = rmsnorm(rec, &x, &layer.attention_norm, row, c.norm_eps)?;
            let qkv = &layer.wqkv;
            let q = self.linear(rec, i, Linear::Wq, &n, (qkv, 0..dim))?;
            let q = rope_interleaved(rec, &q, &self.cos, &self.sin, rope_shape(c.n_heads))?;
            let k = self.linear(rec, i, Linear::Wk, &n, (qkv, dim..dim + kv_dim))?;
            let k = rope_interleaved(rec, &k, &self.cos, &self.sin, rope_shape(c.n_kv_heads))?;
            let v = self.linear(
                rec,
                i,
                Linear::Wv,
                &n,
                (qkv, dim + kv_dim..dim + 2 * kv_dim),
            )?;
            let a = attend_step(rec, cache, &q, &k, &v, pos, scale)?;
            let o = self.linear(rec, i, Linear::Wo, &a, (&layer.wo, all(&layer.wo)))?;
            let h = binary(rec, &x, &o, Binary::Add)?;
            let m = rmsnorm(rec, &h, &layer.ffn_norm, row, c.norm_eps)?;
            let pre_gate = self.linear(rec, i, Linear::W1, &m, (&layer.w1, all(&layer.w1)))?;
            let gate = activation(rec, &pre_gate, Activation::Silu);
            let up = self.linear(rec, i, Linear::W3, &m, (&layer.w3, all(&layer.w3)))?;
            let g = binary(rec, &gate, &up, Binary::Mul)?;
            let down = self.linear(rec, i, Linear::W2, &g, (&layer.w2, all(&layer.w2)))?;
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
