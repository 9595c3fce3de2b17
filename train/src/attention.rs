//! Chapter 2's transformer on candle: the whole sequence at once, with a
//! causal mask, for training. The shapes, tensor names and the decoding
//! formulas are compute's (`compute::models::digit_transformer`); this file
//! must compute exactly what that decoder computes one token at a time.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor, Var, D};
use candle_nn::ops::{log_softmax, softmax};
use compute::{
    inputs::uniform_signed,
    kernels::rope::rope_tables,
    kv_cache::Variant,
    models::digit_transformer::{
        patches_from_image, Config, EPS, PATCH_VALUES, POSITIONS, ROPE_THETA, START,
    },
    weights::Tensor as Stored,
};

use crate::data::{Split, PIXELS};

pub struct DigitTransformer {
    pub config: Config,
    vars: BTreeMap<String, Var>,
    /// cos/sin tables [T, dim/2] for the head dim and for MLA's RoPE dim.
    rope_head: (Tensor, Tensor),
    rope_mla: (Tensor, Tensor),
    /// 0 on and below the diagonal, −∞ above: [T, T].
    causal: Tensor,
}

fn tables(dim: usize) -> Result<(Tensor, Tensor)> {
    let (cos, sin) = rope_tables(POSITIONS, dim, ROPE_THETA);
    let dev = &Device::Cpu;
    Ok((
        Tensor::from_vec(cos, (POSITIONS, dim / 2), dev)?,
        Tensor::from_vec(sin, (POSITIONS, dim / 2), dev)?,
    ))
}

/// NeoX-layout RoPE on [B, H, T, D], written with differentiable ops.
fn rope(x: &Tensor, (cos, sin): &(Tensor, Tensor)) -> Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let t = x.dim(2)?;
    let (cos, sin) = (cos.narrow(0, 0, t)?, sin.narrow(0, 0, t)?);
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let first = (x1.broadcast_mul(&cos)? - x2.broadcast_mul(&sin)?)?;
    let second = (x1.broadcast_mul(&sin)? + x2.broadcast_mul(&cos)?)?;
    Tensor::cat(&[first, second], D::Minus1)
}

/// RMSNorm over the last dimension (chapter 4's LLaMA uses it too).
pub(crate) fn rmsnorm(x: &Tensor, gamma: &Tensor, eps: f32) -> Result<Tensor> {
    let inv = (x.sqr()?.mean_keepdim(D::Minus1)? + eps as f64)?
        .sqrt()?
        .recip()?;
    x.broadcast_mul(&inv)?.broadcast_mul(gamma)
}

/// x [B, T, in] · Wᵀ for W [out, in].
pub(crate) fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let (b, t, d) = x.dims3()?;
    x.reshape((b * t, d))?
        .matmul(&w.t()?)?
        .reshape((b, t, w.dim(0)?))
}

/// [B, T, H·D] → [B, H, T, D].
pub(crate) fn heads(x: &Tensor, h: usize) -> Result<Tensor> {
    let (b, t, hd) = x.dims3()?;
    x.reshape((b, t, h, hd / h))?.transpose(1, 2)?.contiguous()
}

impl DigitTransformer {
    /// Seeded initial weights: matrices uniform with variance 1/fan_in,
    /// embeddings unit scale, norms one.
    pub fn new(config: Config, seed: u64) -> Result<DigitTransformer> {
        let dev = &Device::Cpu;
        let mut vars = BTreeMap::new();
        for (k, spec) in config.specs().iter().enumerate() {
            let n: usize = spec.shape.iter().product();
            let value = if spec.name.ends_with("norm") {
                Tensor::ones(n, DType::F32, dev)?
            } else {
                let fan_in = *spec.shape.last().unwrap_or(&1) as f32;
                let scale = if spec.name == "embed" {
                    1.0
                } else {
                    (3.0 / fan_in).sqrt()
                };
                let v = uniform_signed(seed * 1000 + k as u64, n)
                    .into_iter()
                    .map(|v| v * scale)
                    .collect::<Vec<_>>();
                Tensor::from_vec(v, spec.shape.as_slice(), dev)?
            };
            vars.insert(spec.name.clone(), Var::from_tensor(&value)?);
        }
        DigitTransformer::with_vars(config, vars)
    }

    fn with_vars(config: Config, vars: BTreeMap<String, Var>) -> Result<DigitTransformer> {
        let mask: Vec<f32> = (0..POSITIONS * POSITIONS)
            .map(|k| {
                if k % POSITIONS > k / POSITIONS {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        Ok(DigitTransformer {
            rope_head: tables(config.head_dim)?,
            rope_mla: tables(config.rope_dim)?,
            causal: Tensor::from_vec(mask, (POSITIONS, POSITIONS), &Device::Cpu)?,
            config,
            vars,
        })
    }

    pub fn vars(&self) -> Vec<Var> {
        self.vars.values().cloned().collect()
    }

    pub fn params(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }

    fn w(&self, name: &str) -> &Tensor {
        self.vars[name].as_tensor()
    }

    /// Causal self-attention over [B, T, d] normed inputs; returns [B, T, d].
    fn attention(&self, i: usize, h: &Tensor) -> Result<Tensor> {
        let c = self.config;
        let n = |s: &str| format!("l{i}.{s}");
        let (b, t, _) = h.dims3()?;
        let q = heads(&linear(h, self.w(&n("wq")))?, c.heads)?;
        let (scores, v) = if c.variant == Variant::Mla {
            let latent = linear(h, self.w(&n("w_dkv")))?;
            let k = heads(&linear(&latent, self.w(&n("w_uk")))?, c.heads)?;
            let v = heads(&linear(&latent, self.w(&n("w_uv")))?, c.heads)?;
            let q_rope = rope(
                &heads(&linear(h, self.w(&n("w_qr")))?, c.heads)?,
                &self.rope_mla,
            )?;
            let k_rope = rope(&heads(&linear(h, self.w(&n("w_kr")))?, 1)?, &self.rope_mla)?;
            let content = q.matmul(&k.t()?)?;
            let positional = q_rope.broadcast_matmul(&k_rope.t()?)?;
            let scale = 1.0 / ((c.head_dim + c.rope_dim) as f64).sqrt();
            (((content + positional)? * scale)?, v)
        } else {
            let q = rope(&q, &self.rope_head)?;
            let k = rope(
                &heads(&linear(h, self.w(&n("wk")))?, c.kv_heads)?,
                &self.rope_head,
            )?;
            let v = heads(&linear(h, self.w(&n("wv")))?, c.kv_heads)?;
            // Each KV head serves heads / kv_heads query heads, in order.
            let group = c.heads / c.kv_heads;
            let repeat = |x: Tensor| -> Result<Tensor> {
                x.unsqueeze(2)?
                    .expand((b, c.kv_heads, group, t, c.head_dim))?
                    .reshape((b, c.heads, t, c.head_dim))
            };
            let (k, v) = (repeat(k)?, repeat(v)?);
            let scale = 1.0 / (c.head_dim as f64).sqrt();
            ((q.matmul(&k.t()?)? * scale)?, v)
        };
        let mask = self.causal.narrow(0, 0, t)?.narrow(1, 0, t)?;
        let weights = softmax(&scores.broadcast_add(&mask)?, D::Minus1)?;
        let out = weights
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, t, c.heads * c.head_dim))?;
        linear(&out, self.w(&n("wo")))
    }

    /// Logits [B, T, 16] for the next patch at every position, given the
    /// patches [B, T] (u32) that the sequence holds.
    pub fn logits(&self, patches: &Tensor) -> Result<Tensor> {
        let c = self.config;
        let (b, t) = patches.dims2()?;
        let start = Tensor::full(START, (b, 1), &Device::Cpu)?;
        let inputs = Tensor::cat(&[&start, &patches.narrow(1, 0, t - 1)?], 1)?;
        let mut x = self
            .w("embed")
            .index_select(&inputs.flatten_all()?, 0)?
            .reshape((b, t, c.dim))?;
        for i in 0..c.layers {
            let n = |s: &str| format!("l{i}.{s}");
            let h = rmsnorm(&x, self.w(&n("attn_norm")), EPS)?;
            x = (&x + self.attention(i, &h)?)?;
            let h = rmsnorm(&x, self.w(&n("ffn_norm")), EPS)?;
            let up = linear(&h, self.w(&n("w1")))?.gelu()?;
            x = (&x + linear(&up, self.w(&n("w2")))?)?;
        }
        linear(&rmsnorm(&x, self.w("out_norm"), EPS)?, self.w("head"))
    }

    /// Exact −log p(x) in nats per image, [B]: the patches' categorical NLL.
    pub fn nll(&self, patches: &Tensor) -> Result<Tensor> {
        let log_p = log_softmax(&self.logits(patches)?, D::Minus1)?;
        let one_hot = one_hot(patches)?;
        (log_p * one_hot)?.sum((1, 2))?.neg()
    }

    /// The tensors as shipped: matrices in Q8_0, vectors in f32.
    pub fn export(&self) -> Result<BTreeMap<String, Stored>> {
        crate::shipped::export(&self.config.specs(), &self.vars)
    }

    /// The same model with the shipped values (Q8_0 dequantized).
    pub fn from_export(
        config: Config,
        tensors: &BTreeMap<String, Stored>,
    ) -> Result<DigitTransformer> {
        let vars = crate::shipped::vars_from_export(&config.specs(), tensors)?;
        DigitTransformer::with_vars(config, vars)
    }
}

fn one_hot(patches: &Tensor) -> Result<Tensor> {
    let (b, t) = patches.dims2()?;
    let ids = patches.flatten_all()?.to_vec1::<u32>()?;
    let mut v = vec![0f32; b * t * PATCH_VALUES];
    for (k, &id) in ids.iter().enumerate() {
        v[k * PATCH_VALUES + id as usize] = 1.0;
    }
    Tensor::from_vec(v, (b, t, PATCH_VALUES), &Device::Cpu)
}

/// A split's digits as patch ids, [n · 196].
pub fn split_patches(split: &Split) -> Vec<u32> {
    split
        .x
        .chunks(PIXELS)
        .flat_map(patches_from_image)
        .collect()
}

/// Some digits' patches as a [len, 196] tensor.
pub fn batch(patches: &[u32], indices: &[usize]) -> Result<Tensor> {
    let mut v = Vec::with_capacity(indices.len() * POSITIONS);
    for &i in indices {
        v.extend_from_slice(&patches[i * POSITIONS..(i + 1) * POSITIONS]);
    }
    Tensor::from_vec(v, (indices.len(), POSITIONS), &Device::Cpu)
}

/// Mean −log p(x) in nats over digits given as patches.
pub fn mean_nll(model: &DigitTransformer, patches: &[u32], batch_size: usize) -> Result<f64> {
    let n = patches.len() / POSITIONS;
    let indices: Vec<usize> = (0..n).collect();
    let mut total = 0.0;
    for chunk in indices.chunks(batch_size) {
        total += model
            .nll(&batch(patches, chunk)?)?
            .sum_all()?
            .to_scalar::<f32>()? as f64;
    }
    Ok(total / n as f64)
}
