//! LoRA training on the GPU: the frozen Q8_0 base dequantized on the fly,
//! a forward pass over a batch of whole poems that keeps what the backward
//! pass needs, the backward pass written out by hand (no autodiff), and
//! AdamW, all recorded into one submission per step. The adapter, its
//! gradient and AdamW's moments live in flat GPU buffers in
//! `Adapter::flat`'s order; the only readback per step is the loss.

use super::{
    data::{Batch, PoemSet},
    Adapter, Linear, LoraConfig,
};
use crate::{
    align::dpo::{DpoStep, Preference},
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        backprop::{
            adamw, cross_entropy, rmsnorm_backward, swiglu, swiglu_backward,
            weighted_cross_entropy, SKIP,
        },
        causal_attention::{causal_attention, causal_attention_backward, CausalShape},
        elementwise::{binary, Binary},
        embedding::{check_ids, embedding},
        lora::{matmul_strided, Product, View},
        q8::{linear_q8, linear_q8_backward, GpuQ8},
        reduce::{rmsnorm, Rows},
        rope::{rope_interleaved, rope_tables, RopeShape},
    },
    models::llama::{Llama, LlamaConfig},
    reference::backprop::AdamW,
};

struct GpuLayer {
    attention_norm: GpuTensor,
    ffn_norm: GpuTensor,
    /// In `Linear::ALL` order.
    weights: Vec<GpuQ8>,
}

/// Where a pair's A and B sit in the flat buffers.
#[derive(Debug, Clone, Copy)]
struct PairAt {
    layer: usize,
    linear: Linear,
    rows: usize,
    cols: usize,
    a: usize,
    b: usize,
}

/// RoPE tables for one batch shape: each token's position is its index
/// within its poem. The backward rotation is the forward one by −angle.
struct Tables {
    rows: usize,
    seq: usize,
    cos: GpuTensor,
    sin: GpuTensor,
    neg_sin: GpuTensor,
    /// Zeros [tokens, dim]: the final norm's backward adds no residual.
    zeros: GpuTensor,
}

/// One layer's saved forward values.
struct Saved {
    x: GpuTensor,
    n: GpuTensor,
    q: GpuTensor,
    k: GpuTensor,
    v: GpuTensor,
    probs: GpuTensor,
    att: GpuTensor,
    h: GpuTensor,
    m: GpuTensor,
    a1: GpuTensor,
    a3: GpuTensor,
    g: GpuTensor,
    /// x·Aᵀ of each adapted matrix of the layer.
    u: Vec<(Linear, GpuTensor)>,
}

struct Forward {
    layers: Vec<Saved>,
    last: GpuTensor,
    logits: GpuTensor,
}

pub struct GpuTrainer {
    pub config: LlamaConfig,
    pub lora: LoraConfig,
    pub hyper: AdamW,
    pub steps: usize,
    pairs: Vec<PairAt>,
    embed: GpuTensor,
    layers: Vec<GpuLayer>,
    norm: GpuTensor,
    output: GpuQ8,
    cos: Vec<f32>,
    sin: Vec<f32>,
    tables: Option<Tables>,
    /// A batch's input ids and labels, by token count: rewritten each step
    /// rather than uploaded anew, so a warm step creates no buffers.
    inputs: Vec<(usize, GpuTensor, GpuTensor)>,
    /// DPO's per-token gradient weights, by token count.
    row_weights: Vec<(usize, GpuTensor)>,
    theta: GpuTensor,
    grad: GpuTensor,
    m: GpuTensor,
    v: GpuTensor,
}

impl GpuTrainer {
    pub fn new(
        exec: &Executor,
        model: &Llama,
        adapter: &Adapter,
        hyper: AdamW,
    ) -> Result<GpuTrainer, ComputeError> {
        let c = model.config;
        c.check()?;
        let mut pairs = Vec::new();
        let mut at = 0;
        for p in &adapter.pairs {
            let r = adapter.config.rank;
            pairs.push(PairAt {
                layer: p.layer,
                linear: p.linear,
                rows: p.rows,
                cols: p.cols,
                a: at,
                b: at + r * p.cols,
            });
            at += r * (p.cols + p.rows);
        }
        let n = adapter.len();
        let (cos, sin) = rope_tables(c.max_seq_len, c.head_dim(), c.rope_theta);
        Ok(GpuTrainer {
            config: c,
            lora: adapter.config,
            hyper,
            steps: 0,
            pairs,
            embed: exec.upload(&model.tok_embeddings.dequantize()),
            layers: model
                .layers
                .iter()
                .map(|l| GpuLayer {
                    attention_norm: exec.upload(&l.attention_norm),
                    ffn_norm: exec.upload(&l.ffn_norm),
                    weights: [&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3]
                        .into_iter()
                        .map(|w| GpuQ8::upload(exec, w))
                        .collect(),
                })
                .collect(),
            norm: exec.upload(&model.norm),
            output: GpuQ8::upload(exec, &model.output),
            cos,
            sin,
            tables: None,
            inputs: Vec::new(),
            row_weights: Vec::new(),
            theta: exec.upload(&adapter.flat()),
            grad: exec.zeros(n),
            m: exec.zeros(n),
            v: exec.zeros(n),
        })
    }

    /// Replaces the adapter's numbers and restarts AdamW (a hot-swap, or a
    /// fresh run): the base stays where it is.
    pub fn set_adapter(&mut self, exec: &Executor, adapter: &Adapter) -> Result<(), ComputeError> {
        if adapter.config.rank != self.lora.rank || adapter.config.targets != self.lora.targets {
            return Err(ComputeError::Shape {
                op: "lora set_adapter",
                detail: format!("{:?} into a trainer for {:?}", adapter.config, self.lora),
            });
        }
        let n = adapter.len();
        let q = &exec.ctx().queue;
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        q.write_buffer(self.theta.buffer(), 0, &bytes(&adapter.flat()));
        q.write_buffer(self.m.buffer(), 0, &bytes(&vec![0.0; n]));
        q.write_buffer(self.v.buffer(), 0, &bytes(&vec![0.0; n]));
        self.lora = adapter.config;
        self.steps = 0;
        Ok(())
    }

    /// The adapter as it stands (one readback).
    pub async fn adapter(&self, exec: &Executor) -> Result<Adapter, ComputeError> {
        let flat = exec.read(&self.theta).await?;
        let mut a = Adapter::init(&self.config, self.lora, 0);
        a.set_flat(&flat);
        Ok(a)
    }

    fn weight(&self, layer: usize, linear: Linear) -> &GpuQ8 {
        &self.layers[layer].weights[Linear::ALL.iter().position(|&l| l == linear).unwrap_or(0)]
    }

    fn pair(&self, layer: usize, linear: Linear) -> Option<PairAt> {
        self.pairs
            .iter()
            .find(|p| p.layer == layer && p.linear == linear)
            .copied()
    }

    fn tables(&mut self, exec: &Executor, rows: usize, seq: usize) -> Result<(), ComputeError> {
        if self
            .tables
            .as_ref()
            .is_some_and(|t| t.rows == rows && t.seq == seq)
        {
            return Ok(());
        }
        let half = self.config.head_dim() / 2;
        if seq > self.config.max_seq_len {
            return Err(ComputeError::Shape {
                op: "lora batch",
                detail: format!("{seq} positions; the model has {}", self.config.max_seq_len),
            });
        }
        let tile = |t: &[f32], sign: f32| -> Vec<f32> {
            (0..rows * seq)
                .flat_map(|n| {
                    t[(n % seq) * half..(n % seq + 1) * half]
                        .iter()
                        .map(move |v| sign * v)
                })
                .collect()
        };
        self.tables = Some(Tables {
            rows,
            seq,
            cos: exec.upload(&tile(&self.cos, 1.0)),
            sin: exec.upload(&tile(&self.sin, 1.0)),
            neg_sin: exec.upload(&tile(&self.sin, -1.0)),
            zeros: exec.zeros(rows * seq * self.config.dim),
        });
        Ok(())
    }

    /// y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ; x·Aᵀ is kept in `u` for the backward pass.
    fn linear(
        &self,
        rec: &mut Recording<'_>,
        layer: usize,
        linear: Linear,
        x: &GpuTensor,
        tokens: usize,
        u: &mut Vec<(Linear, GpuTensor)>,
    ) -> Result<GpuTensor, ComputeError> {
        let y = linear_q8(rec, x, self.weight(layer, linear), tokens)?;
        if let Some(p) = self.pair(layer, linear) {
            let r = self.lora.rank;
            let ux = rec.exec().empty(tokens * r);
            matmul_strided(
                rec,
                (x, View::rows(0, p.cols)),
                (&self.theta, View::transposed(p.a, p.cols)),
                (&ux, View::rows(0, r)),
                Product {
                    m: tokens,
                    k: p.cols,
                    n: r,
                },
                1.0,
                false,
            )?;
            matmul_strided(
                rec,
                (&ux, View::rows(0, r)),
                (&self.theta, View::transposed(p.b, r)),
                (&y, View::rows(0, p.rows)),
                Product {
                    m: tokens,
                    k: r,
                    n: p.rows,
                },
                self.lora.scale(),
                true,
            )?;
            u.push((linear, ux));
        }
        Ok(y)
    }

    /// The gradients of y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ: dA and dB into the flat
    /// gradient, and dx written (or added to `dx` when `accumulate`) when
    /// `dx` is given.
    #[allow(clippy::too_many_arguments)]
    fn linear_backward(
        &self,
        rec: &mut Recording<'_>,
        layer: usize,
        linear: Linear,
        x: &GpuTensor,
        saved: &Saved,
        dy: &GpuTensor,
        tokens: usize,
        dx: Option<(&GpuTensor, bool)>,
    ) -> Result<(), ComputeError> {
        let w = self.weight(layer, linear);
        if let Some((dx, accumulate)) = dx {
            linear_q8_backward(rec, dy, w, tokens, dx, accumulate)?;
        }
        let Some(p) = self.pair(layer, linear) else {
            return Ok(());
        };
        let ux = saved
            .u
            .iter()
            .find(|(l, _)| *l == linear)
            .map(|(_, u)| u)
            .ok_or_else(|| ComputeError::Cpu("lora: no saved x·Aᵀ".into()))?;
        let (r, s) = (self.lora.rank, self.lora.scale());
        // dB [out, r] = s·dyᵀ·u
        matmul_strided(
            rec,
            (dy, View::transposed(0, p.rows)),
            (ux, View::rows(0, r)),
            (&self.grad, View::rows(p.b, r)),
            Product {
                m: p.rows,
                k: tokens,
                n: r,
            },
            s,
            false,
        )?;
        // du [tokens, r] = s·dy·B
        let du = rec.exec().empty(tokens * r);
        matmul_strided(
            rec,
            (dy, View::rows(0, p.rows)),
            (&self.theta, View::rows(p.b, r)),
            (&du, View::rows(0, r)),
            Product {
                m: tokens,
                k: p.rows,
                n: r,
            },
            s,
            false,
        )?;
        // dA [r, in] = duᵀ·x
        matmul_strided(
            rec,
            (&du, View::transposed(0, r)),
            (x, View::rows(0, p.cols)),
            (&self.grad, View::rows(p.a, p.cols)),
            Product {
                m: r,
                k: tokens,
                n: p.cols,
            },
            1.0,
            false,
        )?;
        // dx += du·A
        if let Some((dx, _)) = dx {
            matmul_strided(
                rec,
                (&du, View::rows(0, r)),
                (&self.theta, View::rows(p.a, p.cols)),
                (dx, View::rows(0, p.cols)),
                Product {
                    m: tokens,
                    k: r,
                    n: p.cols,
                },
                1.0,
                true,
            )?;
        }
        Ok(())
    }

    fn forward(
        &self,
        rec: &mut Recording<'_>,
        ids: &GpuTensor,
        rows: usize,
        seq: usize,
    ) -> Result<Forward, ComputeError> {
        let c = self.config;
        let t = self
            .tables
            .as_ref()
            .ok_or_else(|| ComputeError::Cpu("lora: no tables".into()))?;
        let tokens = rows * seq;
        let row = Rows {
            rows: tokens,
            cols: c.dim,
        };
        let rope_shape = |heads| RopeShape {
            tokens,
            heads,
            head_dim: c.head_dim(),
            pos0: 0,
        };
        let shape = CausalShape {
            rows,
            seq,
            heads: c.n_heads,
            kv_heads: c.n_kv_heads,
            head_dim: c.head_dim(),
        };
        let mut x = embedding(rec, &self.embed, ids, c.vocab_size, c.dim)?;
        let mut layers = Vec::with_capacity(c.n_layers);
        for (i, layer) in self.layers.iter().enumerate() {
            let mut u = Vec::new();
            let n = rmsnorm(rec, &x, &layer.attention_norm, row, c.norm_eps)?;
            let q_raw = self.linear(rec, i, Linear::Wq, &n, tokens, &mut u)?;
            let k_raw = self.linear(rec, i, Linear::Wk, &n, tokens, &mut u)?;
            let v = self.linear(rec, i, Linear::Wv, &n, tokens, &mut u)?;
            let q = rope_interleaved(rec, &q_raw, &t.cos, &t.sin, rope_shape(c.n_heads))?;
            let k = rope_interleaved(rec, &k_raw, &t.cos, &t.sin, rope_shape(c.n_kv_heads))?;
            let (att, probs) = causal_attention(rec, &q, &k, &v, shape)?;
            let o = self.linear(rec, i, Linear::Wo, &att, tokens, &mut u)?;
            let h = binary(rec, &x, &o, Binary::Add)?;
            let m = rmsnorm(rec, &h, &layer.ffn_norm, row, c.norm_eps)?;
            let a1 = self.linear(rec, i, Linear::W1, &m, tokens, &mut u)?;
            let a3 = self.linear(rec, i, Linear::W3, &m, tokens, &mut u)?;
            let g = swiglu(rec, &a1, &a3)?;
            let down = self.linear(rec, i, Linear::W2, &g, tokens, &mut u)?;
            let next = binary(rec, &h, &down, Binary::Add)?;
            layers.push(Saved {
                x,
                n,
                q,
                k,
                v,
                probs,
                att,
                h,
                m,
                a1,
                a3,
                g,
                u,
            });
            x = next;
        }
        let normed = rmsnorm(rec, &x, &self.norm, row, c.norm_eps)?;
        let logits = linear_q8(rec, &normed, &self.output, tokens)?;
        Ok(Forward {
            layers,
            last: x,
            logits,
        })
    }

    /// Every gradient into `self.grad`, from d(loss)/d(logits).
    fn backward(
        &self,
        rec: &mut Recording<'_>,
        f: &Forward,
        d_logits: &GpuTensor,
        rows: usize,
        seq: usize,
    ) -> Result<(), ComputeError> {
        let c = self.config;
        let t = self
            .tables
            .as_ref()
            .ok_or_else(|| ComputeError::Cpu("lora: no tables".into()))?;
        let tokens = rows * seq;
        let exec = rec.exec();
        let d_normed = exec.empty(tokens * c.dim);
        linear_q8_backward(rec, d_logits, &self.output, tokens, &d_normed, false)?;
        let mut dx = rmsnorm_backward(
            rec, &f.last, &self.norm, &d_normed, &t.zeros, tokens, c.norm_eps,
        )?;
        let rope_shape = |heads| RopeShape {
            tokens,
            heads,
            head_dim: c.head_dim(),
            pos0: 0,
        };
        let shape = CausalShape {
            rows,
            seq,
            heads: c.n_heads,
            kv_heads: c.n_kv_heads,
            head_dim: c.head_dim(),
        };
        for (i, (layer, s)) in self.layers.iter().zip(&f.layers).enumerate().rev() {
            let exec = rec.exec();
            // x' = h + W2·swiglu(W1·m, W3·m)
            let dg = exec.empty(tokens * c.hidden_dim);
            self.linear_backward(rec, i, Linear::W2, &s.g, s, &dx, tokens, Some((&dg, false)))?;
            let (da1, da3) = swiglu_backward(rec, &s.a1, &s.a3, &dg)?;
            let dm = rec.exec().empty(tokens * c.dim);
            self.linear_backward(
                rec,
                i,
                Linear::W1,
                &s.m,
                s,
                &da1,
                tokens,
                Some((&dm, false)),
            )?;
            self.linear_backward(rec, i, Linear::W3, &s.m, s, &da3, tokens, Some((&dm, true)))?;
            let dh = rmsnorm_backward(rec, &s.h, &layer.ffn_norm, &dm, &dx, tokens, c.norm_eps)?;
            // h = x + Wo·attention(rope(Wq·n), rope(Wk·n), Wv·n)
            let d_att = rec.exec().empty(tokens * c.n_heads * c.head_dim());
            self.linear_backward(
                rec,
                i,
                Linear::Wo,
                &s.att,
                s,
                &dh,
                tokens,
                Some((&d_att, false)),
            )?;
            let (dq, dk, dv) =
                causal_attention_backward(rec, &s.q, &s.k, &s.v, &s.probs, &d_att, shape)?;
            let dq_raw = rope_interleaved(rec, &dq, &t.cos, &t.neg_sin, rope_shape(c.n_heads))?;
            let dk_raw = rope_interleaved(rec, &dk, &t.cos, &t.neg_sin, rope_shape(c.n_kv_heads))?;
            if i == 0 {
                // Nothing below the first layer trains: only the adapters'
                // own gradients are left.
                for (linear, d) in [
                    (Linear::Wq, &dq_raw),
                    (Linear::Wk, &dk_raw),
                    (Linear::Wv, &dv),
                ] {
                    self.linear_backward(rec, i, linear, &s.n, s, d, tokens, None)?;
                }
                break;
            }
            let dn = rec.exec().empty(tokens * c.dim);
            self.linear_backward(
                rec,
                i,
                Linear::Wq,
                &s.n,
                s,
                &dq_raw,
                tokens,
                Some((&dn, false)),
            )?;
            self.linear_backward(
                rec,
                i,
                Linear::Wk,
                &s.n,
                s,
                &dk_raw,
                tokens,
                Some((&dn, true)),
            )?;
            self.linear_backward(rec, i, Linear::Wv, &s.n, s, &dv, tokens, Some((&dn, true)))?;
            dx = rmsnorm_backward(
                rec,
                &s.x,
                &layer.attention_norm,
                &dn,
                &dh,
                tokens,
                c.norm_eps,
            )?;
        }
        Ok(())
    }

    /// Inputs (every token but the last of each poem) and labels (the next
    /// token; none at position 0, whose next token, the form, is given).
    fn upload_batch(
        &mut self,
        exec: &Executor,
        batch: &Batch,
    ) -> Result<(usize, usize), ComputeError> {
        if batch.len < 3 || batch.rows == 0 || batch.tokens.len() != batch.rows * batch.len {
            return Err(ComputeError::Shape {
                op: "lora batch",
                detail: format!(
                    "{} tokens for {} poems of {}",
                    batch.tokens.len(),
                    batch.rows,
                    batch.len
                ),
            });
        }
        let rows: Vec<&[u32]> = batch.tokens.chunks(batch.len).collect();
        self.upload_rows(exec, &rows)
    }

    /// Poems of any lengths (each at least 3 tokens) as inputs and labels,
    /// the shorter padded with `<eos>` inputs and [`SKIP`] labels.
    fn upload_rows(
        &mut self,
        exec: &Executor,
        rows: &[&[u32]],
    ) -> Result<(usize, usize), ComputeError> {
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        if rows.is_empty() || rows.iter().any(|r| r.len() < 3) || len > self.config.max_seq_len + 1
        {
            return Err(ComputeError::Shape {
                op: "lora rows",
                detail: format!("{} poems of at most {len} tokens", rows.len()),
            });
        }
        for r in rows {
            check_ids(r, self.config.vocab_size)?;
        }
        let seq = len - 1;
        self.tables(exec, rows.len(), seq)?;
        let mut ids = Vec::with_capacity(rows.len() * seq);
        let mut labels = Vec::with_capacity(rows.len() * seq);
        for poem in rows {
            ids.extend_from_slice(&poem[..poem.len() - 1]);
            ids.extend(std::iter::repeat_n(crate::tang::EOS, len - poem.len()));
            labels.push(SKIP);
            labels.extend_from_slice(&poem[2..]);
            labels.extend(std::iter::repeat_n(SKIP, len - poem.len()));
        }
        let at = match self.inputs.iter().position(|(n, _, _)| *n == ids.len()) {
            Some(at) => at,
            None => {
                self.inputs
                    .push((ids.len(), exec.zeros(ids.len()), exec.zeros(labels.len())));
                self.inputs.len() - 1
            }
        };
        let (_, ids_on_gpu, labels_on_gpu) = &self.inputs[at];
        exec.write_u32(ids_on_gpu, &ids)?;
        exec.write_u32(labels_on_gpu, &labels)?;
        Ok((at, seq))
    }

    /// Records forward, loss and backward for `batch`; returns the per-token
    /// losses (unscaled, 0 where skipped).
    fn record_gradients(
        &mut self,
        exec: &Executor,
        rec: &mut Recording<'_>,
        batch: &Batch,
    ) -> Result<GpuTensor, ComputeError> {
        let (at, seq) = self.upload_batch(exec, batch)?;
        let (_, ids, labels) = &self.inputs[at];
        let f = self.forward(rec, ids, batch.rows, seq)?;
        let (d_logits, loss) = cross_entropy(
            rec,
            &f.logits,
            labels,
            batch.rows * seq,
            1.0 / batch.scored() as f32,
        )?;
        self.backward(rec, &f, &d_logits, batch.rows, seq)?;
        Ok(loss)
    }

    /// The mean loss on `batch` and every adapter gradient, read back: for
    /// tests against candle's autodiff.
    pub async fn gradients(
        &mut self,
        exec: &Executor,
        batch: &Batch,
    ) -> Result<(f32, Vec<f32>), ComputeError> {
        let mut rec = exec.begin();
        let loss = self.record_gradients(exec, &mut rec, batch)?;
        exec.submit(rec)?;
        let losses = exec.read(&loss).await?;
        let grad = exec.read(&self.grad).await?;
        Ok((losses.iter().sum::<f32>() / batch.scored() as f32, grad))
    }

    /// One AdamW step on `batch`, one submission and one readback (the
    /// loss); returns the batch's mean loss before the step.
    pub async fn step(&mut self, exec: &Executor, batch: &Batch) -> Result<f32, ComputeError> {
        let mut rec = exec.begin();
        let loss = self.record_gradients(exec, &mut rec, batch)?;
        self.steps += 1;
        adamw(
            &mut rec,
            &self.theta,
            &self.grad,
            &self.m,
            &self.v,
            self.steps,
            self.hyper,
        )?;
        exec.submit(rec)?;
        let losses = exec.read(&loss).await?;
        Ok(losses.iter().sum::<f32>() / batch.scored() as f32)
    }

    /// DPO on `pairs` (chosen poems, then rejected, in one batch): a
    /// forward pass whose per-token losses are read back (the step's one
    /// readback) to give each poem's log p and each pair's
    /// h = [log π(y_w) − log π_ref(y_w)] − [log π(y_l) − log π_ref(y_l)];
    /// then, on the kept forward values, cross-entropy's gradient weighted
    /// per poem by ∂L/∂(−log π(y)) = ±β·σ(−β·h)/n, the backward pass, and
    /// AdamW when `apply`.
    async fn dpo(
        &mut self,
        exec: &Executor,
        pairs: &[Preference],
        beta: f64,
        apply: bool,
    ) -> Result<DpoStep, ComputeError> {
        let n = pairs.len();
        if n == 0 {
            return Err(ComputeError::Shape {
                op: "dpo",
                detail: "no pairs".into(),
            });
        }
        let rows: Vec<&[u32]> = pairs
            .iter()
            .map(|p| p.chosen.as_slice())
            .chain(pairs.iter().map(|p| p.rejected.as_slice()))
            .collect();
        let (at, seq) = self.upload_rows(exec, &rows)?;
        let tokens = 2 * n * seq;
        let mut rec = exec.begin();
        let (_, ids, labels) = &self.inputs[at];
        let f = self.forward(&mut rec, ids, 2 * n, seq)?;
        let (_, loss) = cross_entropy(&mut rec, &f.logits, labels, tokens, 1.0)?;
        exec.submit(rec)?;
        let losses = exec.read(&loss).await?;
        let logp: Vec<f64> = losses
            .chunks(seq)
            .map(|row| -row.iter().map(|&l| l as f64).sum::<f64>())
            .collect();
        let h: Vec<f64> = pairs
            .iter()
            .enumerate()
            .map(|(i, p)| (logp[i] - p.ref_chosen) - (logp[n + i] - p.ref_rejected))
            .collect();
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut weights = Vec::with_capacity(tokens);
        for side in [1.0, -1.0] {
            for hi in &h {
                let w = side * beta * sigmoid(-beta * hi) / n as f64;
                weights.extend(std::iter::repeat_n(w as f32, seq));
            }
        }
        let wi = match self.row_weights.iter().position(|(k, _)| *k == tokens) {
            Some(i) => i,
            None => {
                self.row_weights.push((tokens, exec.zeros(tokens)));
                self.row_weights.len() - 1
            }
        };
        exec.write(&self.row_weights[wi].1, &weights)?;
        let mut rec = exec.begin();
        let (_, _, labels) = &self.inputs[at];
        let (d_logits, _) = weighted_cross_entropy(
            &mut rec,
            &f.logits,
            labels,
            &self.row_weights[wi].1,
            tokens,
            1.0,
        )?;
        self.backward(&mut rec, &f, &d_logits, 2 * n, seq)?;
        if apply {
            self.steps += 1;
            adamw(
                &mut rec,
                &self.theta,
                &self.grad,
                &self.m,
                &self.v,
                self.steps,
                self.hyper,
            )?;
        }
        exec.submit(rec)?;
        let loss = h
            .iter()
            .map(|hi| crate::align::dpo::dpo_loss(beta, (*hi, 0.0), (0.0, 0.0)))
            .sum::<f64>()
            / n as f64;
        Ok(DpoStep {
            loss,
            margin: beta * h.iter().sum::<f64>() / n as f64,
            accuracy: h.iter().filter(|&&v| v > 0.0).count() as f64 / n as f64,
        })
    }

    /// DPO's loss on `pairs` and every adapter gradient, read back: for
    /// tests against `CpuDpo`.
    pub async fn dpo_gradients(
        &mut self,
        exec: &Executor,
        pairs: &[Preference],
        beta: f64,
    ) -> Result<(DpoStep, Vec<f32>), ComputeError> {
        let step = self.dpo(exec, pairs, beta, false).await?;
        Ok((step, exec.read(&self.grad).await?))
    }

    /// One DPO step with AdamW; returns what it saw before the update.
    pub async fn dpo_step(
        &mut self,
        exec: &Executor,
        pairs: &[Preference],
        beta: f64,
    ) -> Result<DpoStep, ComputeError> {
        self.dpo(exec, pairs, beta, true).await
    }

    /// Mean −log p per scored token over `set` with the current adapter.
    pub async fn mean_nll(&mut self, exec: &Executor, set: &PoemSet) -> Result<f64, ComputeError> {
        let mut total = 0.0;
        for batch in set.all_batches(16) {
            let mut rec = exec.begin();
            let (at, seq) = self.upload_batch(exec, &batch)?;
            let (_, ids, labels) = &self.inputs[at];
            let f = self.forward(&mut rec, ids, batch.rows, seq)?;
            let (_, loss) = cross_entropy(&mut rec, &f.logits, labels, batch.rows * seq, 1.0)?;
            exec.submit(rec)?;
            total += exec
                .read(&loss)
                .await?
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>();
        }
        Ok(total / set.scored_tokens.max(1) as f64)
    }
}
