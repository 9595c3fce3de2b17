//! LoRA training on the CPU with candle's autodiff: the path for browsers
//! without WebGPU, the native command's default, and the oracle the GPU's
//! hand-written backward pass is checked against.
//!
//! The frozen matrices are the shipped Q8_0 weights dequantized, the same
//! numbers the GPU's kernels dequantize on the fly.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor, Var, D};

use super::{
    data::{Batch, PoemSet},
    Adapter, Linear,
};
use crate::{
    error::ComputeError,
    kernels::rope::rope_tables,
    models::llama::{Llama, LlamaConfig},
    reference::backprop::{adamw_ref, AdamW},
};

fn err(e: candle_core::Error) -> ComputeError {
    ComputeError::Cpu(format!("lora: {e}"))
}

struct FrozenLayer {
    attention_norm: Tensor,
    ffn_norm: Tensor,
    weights: BTreeMap<Linear, Tensor>,
}

/// The base model as candle tensors (f32).
pub struct Frozen {
    pub config: LlamaConfig,
    embed: Tensor,
    layers: Vec<FrozenLayer>,
    norm: Tensor,
    output: Tensor,
    /// [max_seq_len, head_dim/2].
    cos: Tensor,
    sin: Tensor,
}

/// A LoRA branch as tensors: per (layer, linear), A [r, in] and B [out, r].
pub type Branches = BTreeMap<(usize, Linear), (Tensor, Tensor)>;

fn rmsnorm(x: &Tensor, gamma: &Tensor, eps: f32) -> candle_core::Result<Tensor> {
    let inv = (x.sqr()?.mean_keepdim(D::Minus1)? + eps as f64)?
        .sqrt()?
        .recip()?;
    x.broadcast_mul(&inv)?.broadcast_mul(gamma)
}

/// Meta's interleaved RoPE on [B, H, T, D].
fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
    let (b, h, t, d) = x.dims4()?;
    let (cos, sin) = (
        cos.narrow(0, 0, t)?.unsqueeze(2)?,
        sin.narrow(0, 0, t)?.unsqueeze(2)?,
    );
    let pairs = x.reshape((b, h, t, d / 2, 2))?;
    let x0 = pairs.narrow(D::Minus1, 0, 1)?;
    let x1 = pairs.narrow(D::Minus1, 1, 1)?;
    let r0 = (x0.broadcast_mul(&cos)? - x1.broadcast_mul(&sin)?)?;
    let r1 = (x0.broadcast_mul(&sin)? + x1.broadcast_mul(&cos)?)?;
    Tensor::cat(&[r0, r1], D::Minus1)?.reshape((b, h, t, d))
}

/// [B, T, H·D] → [B, H, T, D].
fn heads(x: &Tensor, h: usize) -> candle_core::Result<Tensor> {
    let (b, t, hd) = x.dims3()?;
    x.reshape((b, t, h, hd / h))?.transpose(1, 2)?.contiguous()
}

/// Softmax over the last axis; the max is a constant to autodiff.
fn softmax(x: &Tensor) -> candle_core::Result<Tensor> {
    let m = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&m)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

pub fn log_softmax(x: &Tensor) -> candle_core::Result<Tensor> {
    let m = x.max_keepdim(D::Minus1)?.detach();
    let s = x.broadcast_sub(&m)?;
    s.broadcast_sub(&s.exp()?.sum_keepdim(D::Minus1)?.log()?)
}

impl Frozen {
    pub fn new(model: &Llama) -> Result<Frozen, ComputeError> {
        Frozen::build(model, None)
    }

    /// The base with W' = W + (α/r)·B·A in place of each adapted W: the
    /// merged model, which needs no branch.
    pub fn merged(model: &Llama, adapter: &Adapter) -> Result<Frozen, ComputeError> {
        Frozen::build(model, Some(adapter))
    }

    fn build(model: &Llama, adapter: Option<&Adapter>) -> Result<Frozen, ComputeError> {
        let c = model.config;
        let dev = &Device::Cpu;
        let t = |v: Vec<f32>, shape: (usize, usize)| Tensor::from_vec(v, shape, dev).map_err(err);
        let vector = |v: &[f32]| Tensor::new(v, dev).map_err(err);
        let layers = model
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut weights = BTreeMap::new();
                for (linear, m) in [
                    (Linear::Wq, &l.wq),
                    (Linear::Wk, &l.wk),
                    (Linear::Wv, &l.wv),
                    (Linear::Wo, &l.wo),
                    (Linear::W1, &l.w1),
                    (Linear::W2, &l.w2),
                    (Linear::W3, &l.w3),
                ] {
                    let mut w = m.dequantize();
                    if let Some(p) = adapter.and_then(|a| a.pair(i, linear).map(|p| (a, p))) {
                        let (a, p) = p;
                        for (wv, dv) in w.iter_mut().zip(p.delta(a.config.rank, a.config.scale())) {
                            *wv += dv;
                        }
                    }
                    weights.insert(linear, t(w, (m.rows, m.cols))?);
                }
                Ok(FrozenLayer {
                    attention_norm: vector(&l.attention_norm)?,
                    ffn_norm: vector(&l.ffn_norm)?,
                    weights,
                })
            })
            .collect::<Result<Vec<_>, ComputeError>>()?;
        let (cos, sin) = rope_tables(c.max_seq_len, c.head_dim(), c.rope_theta);
        let half = c.head_dim() / 2;
        Ok(Frozen {
            config: c,
            embed: t(model.tok_embeddings.dequantize(), (c.vocab_size, c.dim))?,
            layers,
            norm: vector(&model.norm)?,
            output: t(model.output.dequantize(), (c.vocab_size, c.dim))?,
            cos: t(cos, (c.max_seq_len, half))?,
            sin: t(sin, (c.max_seq_len, half))?,
        })
    }

    /// x [B, T, in] · Wᵀ, plus scale·(x·Aᵀ)·Bᵀ where a branch is given.
    fn linear(
        &self,
        layer: usize,
        linear: Linear,
        x: &Tensor,
        branches: Option<(&Branches, f64)>,
    ) -> candle_core::Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let w = &self.layers[layer].weights[&linear];
        let x2 = x.reshape((b * t, d))?;
        let mut y = x2.matmul(&w.t()?)?;
        if let Some((br, s)) = branches {
            if let Some((a, bm)) = br.get(&(layer, linear)) {
                y = (y + (x2.matmul(&a.t()?)?.matmul(&bm.t()?)? * s)?)?;
            }
        }
        y.reshape((b, t, w.dim(0)?))
    }

    /// Logits [B, T, vocab] for the next token after each of `tokens` [B, T].
    pub fn logits(
        &self,
        tokens: &Tensor,
        branches: Option<(&Branches, f64)>,
    ) -> candle_core::Result<Tensor> {
        self.head(&self.hidden(tokens, branches)?)
    }

    /// The output head on hidden states [B, T, dim]: logits [B, T, vocab].
    pub fn head(&self, hidden: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, d) = hidden.dims3()?;
        hidden
            .reshape((b * t, d))?
            .matmul(&self.output.t()?)?
            .reshape((b, t, self.config.vocab_size))
    }

    /// The final RMSNorm's output [B, T, dim], which the output head reads
    /// (and chapter 8's reward and value heads).
    pub fn hidden(
        &self,
        tokens: &Tensor,
        branches: Option<(&Branches, f64)>,
    ) -> candle_core::Result<Tensor> {
        let c = self.config;
        let (b, t) = tokens.dims2()?;
        let hd = c.head_dim();
        let mut x = self
            .embed
            .index_select(&tokens.flatten_all()?, 0)?
            .reshape((b, t, c.dim))?;
        let mask: Vec<f32> = (0..t * t)
            .map(|k| {
                if k % t > k / t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, (t, t), tokens.device())?;
        let group = c.n_heads / c.n_kv_heads;
        for (i, layer) in self.layers.iter().enumerate() {
            let n = rmsnorm(&x, &layer.attention_norm, c.norm_eps)?;
            let q = rope(
                &heads(&self.linear(i, Linear::Wq, &n, branches)?, c.n_heads)?,
                &self.cos,
                &self.sin,
            )?;
            let k = rope(
                &heads(&self.linear(i, Linear::Wk, &n, branches)?, c.n_kv_heads)?,
                &self.cos,
                &self.sin,
            )?;
            let v = heads(&self.linear(i, Linear::Wv, &n, branches)?, c.n_kv_heads)?;
            let repeat = |x: Tensor| -> candle_core::Result<Tensor> {
                x.unsqueeze(2)?
                    .expand((b, c.n_kv_heads, group, t, hd))?
                    .reshape((b, c.n_heads, t, hd))
            };
            let (k, v) = (repeat(k)?, repeat(v)?);
            let scores = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?;
            let weights = softmax(&scores.broadcast_add(&mask)?)?;
            let out = weights
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((b, t, c.n_heads * hd))?;
            x = (&x + self.linear(i, Linear::Wo, &out, branches)?)?;
            let m = rmsnorm(&x, &layer.ffn_norm, c.norm_eps)?;
            let gate = self.linear(i, Linear::W1, &m, branches)?.silu()?;
            let up = self.linear(i, Linear::W3, &m, branches)?;
            x = (&x + self.linear(i, Linear::W2, &(gate * up)?, branches)?)?;
        }
        rmsnorm(&x, &self.norm, c.norm_eps)
    }

    /// Summed −log p over a batch's scored tokens (characters and `<eos>`).
    pub fn summed_nll(
        &self,
        batch: &Batch,
        branches: Option<(&Branches, f64)>,
    ) -> candle_core::Result<Tensor> {
        let tokens = Tensor::from_vec(batch.tokens.clone(), (batch.rows, batch.len), &Device::Cpu)?;
        let t = batch.len;
        let logits = self.logits(&tokens.narrow(1, 0, t - 1)?, branches)?;
        // Position 0 predicts the form token, which is given.
        let log_p = log_softmax(&logits.narrow(1, 1, t - 2)?.contiguous()?)?;
        let targets = tokens
            .narrow(1, 2, t - 2)?
            .contiguous()?
            .unsqueeze(D::Minus1)?;
        log_p.gather(&targets, D::Minus1)?.sum_all()?.neg()
    }

    /// Mean −log p per scored token over `set`, in nats.
    pub fn mean_nll(&self, adapter: Option<&Adapter>, set: &PoemSet) -> Result<f64, ComputeError> {
        let branches = adapter.map(branch_tensors).transpose()?;
        let scale = adapter.map_or(0.0, |a| a.config.scale() as f64);
        let mut total = 0.0;
        for batch in set.all_batches(32) {
            total += self
                .summed_nll(&batch, branches.as_ref().map(|b| (b, scale)))
                .and_then(|s| s.to_scalar::<f32>())
                .map_err(err)? as f64;
        }
        Ok(total / set.scored_tokens.max(1) as f64)
    }
}

/// An adapter's factors as constant tensors.
pub fn branch_tensors(adapter: &Adapter) -> Result<Branches, ComputeError> {
    let r = adapter.config.rank;
    adapter
        .pairs
        .iter()
        .map(|p| {
            let a = Tensor::from_vec(p.a.clone(), (r, p.cols), &Device::Cpu).map_err(err)?;
            let b = Tensor::from_vec(p.b.clone(), (p.rows, r), &Device::Cpu).map_err(err)?;
            Ok(((p.layer, p.linear), (a, b)))
        })
        .collect()
}

/// An adapter's factors per (layer, linear): A and B as variables to
/// differentiate, in `Adapter::flat`'s order.
pub type BranchVars = Vec<((usize, Linear), (Var, Var))>;

/// The adapter as variables, and the same factors as branches for `Frozen`.
pub fn branch_vars(adapter: &Adapter) -> Result<(BranchVars, Branches), ComputeError> {
    let r = adapter.config.rank;
    let vars = adapter
        .pairs
        .iter()
        .map(|p| {
            let a = Var::from_vec(p.a.clone(), (r, p.cols), &Device::Cpu)?;
            let b = Var::from_vec(p.b.clone(), (p.rows, r), &Device::Cpu)?;
            Ok(((p.layer, p.linear), (a, b)))
        })
        .collect::<candle_core::Result<BranchVars>>()
        .map_err(err)?;
    let branches = vars
        .iter()
        .map(|(k, (a, b))| (*k, (a.as_tensor().clone(), b.as_tensor().clone())))
        .collect();
    Ok((vars, branches))
}

/// Every variable's gradient, flattened in `Adapter::flat`'s order (zeros
/// where the loss does not reach one).
pub fn flat_gradients(
    vars: &BranchVars,
    grads: &candle_core::backprop::GradStore,
    len: usize,
) -> Result<Vec<f32>, ComputeError> {
    let mut flat = Vec::with_capacity(len);
    for (_, (a, b)) in vars {
        for v in [a, b] {
            match grads.get(v.as_tensor()) {
                Some(g) => flat.extend(
                    g.flatten_all()
                        .and_then(|g| g.to_vec1::<f32>())
                        .map_err(err)?,
                ),
                None => flat.extend(std::iter::repeat_n(0.0, v.as_tensor().elem_count())),
            }
        }
    }
    Ok(flat)
}

/// The adapter being trained, its AdamW moments and step count.
pub struct CpuTrainer {
    pub frozen: Frozen,
    pub adapter: Adapter,
    pub hyper: AdamW,
    m: Vec<f32>,
    v: Vec<f32>,
    pub steps: usize,
}

impl CpuTrainer {
    pub fn new(frozen: Frozen, adapter: Adapter, hyper: AdamW) -> CpuTrainer {
        let n = adapter.len();
        CpuTrainer {
            frozen,
            adapter,
            hyper,
            m: vec![0.0; n],
            v: vec![0.0; n],
            steps: 0,
        }
    }

    /// The mean loss on `batch` and its gradient for every adapter number,
    /// in `Adapter::flat`'s order.
    pub fn gradients(&self, batch: &Batch) -> Result<(f32, Vec<f32>), ComputeError> {
        let (vars, branches) = branch_vars(&self.adapter)?;
        let scale = self.adapter.config.scale() as f64;
        let loss = (self
            .frozen
            .summed_nll(batch, Some((&branches, scale)))
            .map_err(err)?
            / batch.scored() as f64)
            .map_err(err)?;
        let flat = flat_gradients(&vars, &loss.backward().map_err(err)?, self.adapter.len())?;
        let loss = loss
            .to_dtype(DType::F32)
            .and_then(|l| l.to_scalar::<f32>())
            .map_err(err)?;
        Ok((loss, flat))
    }

    /// One AdamW step on `batch`; returns the batch's mean loss before it.
    pub fn step(&mut self, batch: &Batch) -> Result<f32, ComputeError> {
        let (loss, grads) = self.gradients(batch)?;
        let mut params = self.adapter.flat();
        self.steps += 1;
        adamw_ref(
            &mut params,
            &grads,
            &mut self.m,
            &mut self.v,
            self.steps,
            self.hyper,
        );
        self.adapter.set_flat(&params);
        Ok(loss)
    }
}

/// The merge check: the largest |logit| difference on `batch` between the
/// merged model (W + scale·B·A folded in) and `frozen` with the branch
/// beside it, and how many logits were compared.
pub fn merge_gap(
    model: &Llama,
    frozen: &Frozen,
    adapter: &Adapter,
    batch: &Batch,
) -> Result<(f32, usize), ComputeError> {
    let merged = Frozen::merged(model, adapter)?;
    let tokens = Tensor::from_vec(batch.tokens.clone(), (batch.rows, batch.len), &Device::Cpu)
        .map_err(err)?;
    let branches = branch_tensors(adapter)?;
    let unmerged = frozen
        .logits(&tokens, Some((&branches, adapter.config.scale() as f64)))
        .map_err(err)?;
    let folded = merged.logits(&tokens, None).map_err(err)?;
    let gap = (unmerged - &folded)
        .and_then(|d| d.abs())
        .and_then(|d| d.max_all())
        .and_then(|d| d.to_scalar::<f32>())
        .map_err(err)?;
    Ok((gap, folded.elem_count()))
}
