//! Chapter 4's model: a tiny LLaMA over Tang-poem characters, with Meta's
//! conventions (tensor names, interleaved RoPE, `repeat_kv` grouping).
//!
//! Per layer: h = x + wo·attention(rope(wq·n), rope(wk·n), wv·n) with
//! n = rmsnorm(x); x' = h + w2·(silu(w1·m) ⊙ w3·m) with m = rmsnorm(h).
//! Then a final rmsnorm and the output head. Query head i reads key/value
//! head i / (n_heads / n_kv_heads), as Meta's `repeat_kv` arranges.
//!
//! Tensors (matrices Q8_0 [out, in], vectors f32), as in Meta's checkpoints:
//! `tok_embeddings.weight` [vocab, dim] (Q8_0 too: it is the largest
//! tensor), `layers.<i>.attention_norm.weight`,
//! `layers.<i>.attention.{wq,wk,wv,wo}.weight`, `layers.<i>.ffn_norm.weight`,
//! `layers.<i>.feed_forward.{w1,w2,w3}.weight`, `norm.weight`,
//! `output.weight`.

pub mod gpu;
pub mod lora;
pub mod sampling;
pub mod scaling;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{
    error::ComputeError,
    inputs::uniform_signed,
    kernels::{attention::AttentionShape, reduce::Rows, rope::rope_tables, rope::RopeShape},
    reference::{
        attention::{attend_step_ref, KvCacheRef},
        q8::linear_q8_ref,
        reduce::rmsnorm_ref,
        rope::rope_interleaved_ref,
    },
    weights::{
        load, padded_cols, Q8Matrix, Storage, Tensor as WeightTensor, TensorSpec, WeightFile, BLOCK,
    },
};

pub const WEIGHTS_PATH: &str = "models/llama/tang.safetensors";
pub const CONFIG_PATH: &str = "models/llama/tang.config.json";
pub const METRICS_PATH: &str = "models/llama/tang.json";
pub const TOKENIZER_PATH: &str = "tokenizer/tang-chars.json";
pub const SCALING_PATH: &str = "models/llama/scaling.json";

/// The config file's fields, named as in Meta's `params.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    pub dim: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    /// The SwiGLU's inner width (w1, w3: [hidden_dim, dim]).
    pub hidden_dim: usize,
    pub vocab_size: usize,
    pub norm_eps: f32,
    pub rope_theta: f64,
    /// Positions the caches hold: the longest input sequence.
    pub max_seq_len: usize,
}

impl LlamaConfig {
    pub fn head_dim(&self) -> usize {
        self.dim / self.n_heads
    }

    /// Shapes the kernels can run: every matrix's input a whole number of
    /// Q8_0 blocks, heads dividing evenly, an even head size for RoPE.
    pub fn check(&self) -> Result<(), ComputeError> {
        let bad = |why: &str| ComputeError::Shape {
            op: "llama config",
            detail: format!("{why}: {self:?}"),
        };
        if self.n_heads == 0 || self.n_kv_heads == 0 || self.n_layers == 0 {
            return Err(bad("zero heads or layers"));
        }
        if !self.dim.is_multiple_of(self.n_heads) || !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return Err(bad("heads must divide dim, and kv heads the heads"));
        }
        if !self.head_dim().is_multiple_of(2)
            || !self.dim.is_multiple_of(BLOCK)
            || !self.hidden_dim.is_multiple_of(BLOCK)
        {
            return Err(bad(
                "dim and hidden_dim must be multiples of 32, head_dim even",
            ));
        }
        if self.vocab_size <= crate::tang::SPECIALS || self.max_seq_len == 0 {
            return Err(bad("no characters or no positions"));
        }
        Ok(())
    }

    pub fn specs(&self) -> Vec<TensorSpec> {
        let (d, hd) = (self.dim, self.head_dim());
        let mut specs = vec![TensorSpec::q8_0(
            "tok_embeddings.weight",
            self.vocab_size,
            d,
        )];
        for i in 0..self.n_layers {
            let n = |s: &str| format!("layers.{i}.{s}.weight");
            specs.extend([
                TensorSpec::f32(n("attention_norm"), &[d]),
                TensorSpec::q8_0(n("attention.wq"), self.n_heads * hd, d),
                TensorSpec::q8_0(n("attention.wk"), self.n_kv_heads * hd, d),
                TensorSpec::q8_0(n("attention.wv"), self.n_kv_heads * hd, d),
                TensorSpec::q8_0(n("attention.wo"), d, self.n_heads * hd),
                TensorSpec::f32(n("ffn_norm"), &[d]),
                TensorSpec::q8_0(n("feed_forward.w1"), self.hidden_dim, d),
                TensorSpec::q8_0(n("feed_forward.w2"), d, self.hidden_dim),
                TensorSpec::q8_0(n("feed_forward.w3"), self.hidden_dim, d),
            ]);
        }
        specs.extend([
            TensorSpec::f32("norm.weight", &[d]),
            TensorSpec::q8_0("output.weight", self.vocab_size, d),
        ]);
        specs
    }

    /// Every parameter.
    pub fn params(&self) -> usize {
        self.specs()
            .iter()
            .map(|s| s.shape.iter().product::<usize>())
            .sum()
    }

    /// Parameters outside the token embedding and the output head: the N of
    /// Kaplan et al.'s scaling laws.
    pub fn non_embedding_params(&self) -> usize {
        self.params() - 2 * self.vocab_size * self.dim
    }

    /// Parameters every token is multiplied by: all but the token
    /// embedding, a lookup. A training token costs about 6× this in FLOPs.
    pub fn matmul_params(&self) -> usize {
        self.params() - self.vocab_size * self.dim
    }

    /// f32 cache bytes one token adds: keys and values, every layer.
    pub fn kv_bytes_per_token(&self) -> usize {
        2 * self.n_layers * self.n_kv_heads * self.head_dim() * 4
    }

    fn attention_shape(&self) -> AttentionShape {
        AttentionShape {
            heads: self.n_heads,
            kv_heads: self.n_kv_heads,
            head_dim: self.head_dim(),
            max_len: self.max_seq_len,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LlamaLayer {
    pub attention_norm: Vec<f32>,
    pub wq: Q8Matrix,
    pub wk: Q8Matrix,
    pub wv: Q8Matrix,
    pub wo: Q8Matrix,
    pub ffn_norm: Vec<f32>,
    pub w1: Q8Matrix,
    pub w2: Q8Matrix,
    pub w3: Q8Matrix,
}

/// The shipped weights.
#[derive(Debug, Clone)]
pub struct Llama {
    pub config: LlamaConfig,
    pub tok_embeddings: Q8Matrix,
    pub layers: Vec<LlamaLayer>,
    pub norm: Vec<f32>,
    pub output: Q8Matrix,
}

impl Llama {
    /// Parses and checks a weights file against the config.
    pub fn load(config: LlamaConfig, bytes: &[u8]) -> Result<Llama, ComputeError> {
        config.check()?;
        let file = load(WEIGHTS_PATH, bytes, &config.specs())?;
        Llama::from_weights(config, &file)
    }

    pub fn from_weights(config: LlamaConfig, w: &WeightFile) -> Result<Llama, ComputeError> {
        config.check()?;
        let missing = |name: &str| ComputeError::Cpu(format!("{}: no tensor {name}", w.file));
        let f = |name: String| {
            w.f32(&name)
                .map(<[f32]>::to_vec)
                .ok_or_else(|| missing(&name))
        };
        let q = |name: String| w.q8_0(&name).cloned().ok_or_else(|| missing(&name));
        let layers = (0..config.n_layers)
            .map(|i| {
                let n = |s: &str| format!("layers.{i}.{s}.weight");
                Ok(LlamaLayer {
                    attention_norm: f(n("attention_norm"))?,
                    wq: q(n("attention.wq"))?,
                    wk: q(n("attention.wk"))?,
                    wv: q(n("attention.wv"))?,
                    wo: q(n("attention.wo"))?,
                    ffn_norm: f(n("ffn_norm"))?,
                    w1: q(n("feed_forward.w1"))?,
                    w2: q(n("feed_forward.w2"))?,
                    w3: q(n("feed_forward.w3"))?,
                })
            })
            .collect::<Result<Vec<_>, ComputeError>>()?;
        Ok(Llama {
            config,
            tok_embeddings: q("tok_embeddings.weight".into())?,
            layers,
            norm: f("norm.weight".into())?,
            output: q("output.weight".into())?,
        })
    }

    /// Seeded random weights (norms one), for tests that need no trained file.
    pub fn random(config: LlamaConfig, seed: u64) -> Llama {
        let tensors = config
            .specs()
            .into_iter()
            .enumerate()
            .map(|(k, spec)| {
                let n: usize = spec.shape.iter().product();
                let t = match spec.storage {
                    Storage::Q8_0 => {
                        let scale = (3.0 / spec.shape[1] as f32).sqrt();
                        let values: Vec<f32> = uniform_signed(seed * 1000 + k as u64, n)
                            .into_iter()
                            .map(|v| v * scale)
                            .collect();
                        WeightTensor::Q8_0(Q8Matrix::quantize(
                            &values,
                            spec.shape[0],
                            spec.shape[1],
                        ))
                    }
                    Storage::F32 => WeightTensor::F32 {
                        shape: spec.shape.clone(),
                        data: vec![1.0; n],
                    },
                };
                (spec.name, t)
            })
            .collect();
        let file = WeightFile {
            file: "random".into(),
            tensors,
        };
        Llama::from_weights(config, &file).expect("every spec was generated")
    }

    /// Token `id`'s embedding, dequantized.
    pub fn embedding(&self, id: u32) -> Vec<f32> {
        let m = &self.tok_embeddings;
        let cp = padded_cols(m.cols);
        let r = (id as usize).min(m.rows - 1);
        (0..m.cols)
            .map(|c| m.quants[r * cp + c] as f32 * m.scales[r * cp / BLOCK + c / BLOCK])
            .collect()
    }
}

/// silu(a) = a · σ(a).
pub fn silu(a: f32) -> f32 {
    a / (1.0 + (-a).exp())
}

/// What one layer did to the current token, for the chapter's "inside the
/// block" views.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerInside {
    /// The residual stream entering the layer, and its attention_norm.
    pub x: Vec<f32>,
    pub attn_normed: Vec<f32>,
    /// The query and key before and after RoPE, [heads·head_dim] and
    /// [kv_heads·head_dim].
    pub q_raw: Vec<f32>,
    pub k_raw: Vec<f32>,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    /// Attention weights of each query head over the positions so far.
    pub attention: Vec<Vec<f32>>,
    /// After the attention's residual add, and its ffn_norm.
    pub h: Vec<f32>,
    pub ffn_normed: Vec<f32>,
    /// silu(w1·m) and w3·m, [hidden_dim]; their product enters w2.
    pub gate: Vec<f32>,
    pub up: Vec<f32>,
}

/// One step's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub logits: Vec<f32>,
    /// Filled when the decoder was asked to look inside.
    pub inside: Vec<LayerInside>,
}

/// Decodes on the CPU through the references, one token at a time, with a
/// KV cache per layer.
pub struct CpuDecoder {
    model: Arc<Llama>,
    caches: Vec<KvCacheRef>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    /// Tokens fed so far.
    pub tokens: Vec<u32>,
    /// Keep each layer's intermediate values (costs copies).
    pub look_inside: bool,
    /// A LoRA adapter beside the frozen weights (chapter 5).
    pub adapter: Option<Arc<lora::Adapter>>,
}

impl CpuDecoder {
    pub fn new(model: Arc<Llama>) -> CpuDecoder {
        let c = model.config;
        let (cos, sin) = rope_tables(c.max_seq_len, c.head_dim(), c.rope_theta);
        CpuDecoder {
            caches: (0..c.n_layers)
                .map(|_| KvCacheRef::new(c.attention_shape()))
                .collect(),
            model,
            cos,
            sin,
            tokens: Vec::new(),
            look_inside: false,
            adapter: None,
        }
    }

    pub fn config(&self) -> LlamaConfig {
        self.model.config
    }

    pub fn reset(&mut self) {
        self.tokens.clear();
    }

    /// Feeds `token` at the next position; returns the next token's logits.
    pub fn step(&mut self, token: u32) -> Result<Step, ComputeError> {
        let c = self.model.config;
        let pos = self.tokens.len();
        if pos >= c.max_seq_len || token as usize >= c.vocab_size {
            return Err(ComputeError::Shape {
                op: "llama",
                detail: format!(
                    "token {token} at position {pos} (vocabulary {}, at most {} positions)",
                    c.vocab_size, c.max_seq_len
                ),
            });
        }
        let model = self.model.clone();
        let (d, hd) = (c.dim, c.head_dim());
        let row = Rows { rows: 1, cols: d };
        let rope = |v: &[f32], heads| {
            rope_interleaved_ref(
                v,
                &self.cos,
                &self.sin,
                RopeShape {
                    tokens: 1,
                    heads,
                    head_dim: hd,
                    pos0: pos,
                },
            )
        };
        let mut x = model.embedding(token);
        let mut inside = Vec::new();
        let adapter = self.adapter.clone();
        for (i, (layer, cache)) in model.layers.iter().zip(&mut self.caches).enumerate() {
            // W·x, plus the adapter's (α/r)·B·A·x where it has one.
            let linear = |x: &[f32], w: &Q8Matrix, which: lora::Linear| {
                let mut y = linear_q8_ref(x, w, 1)?;
                if let Some(a) = &adapter {
                    if let Some(p) = a.pair(i, which) {
                        p.apply(a.config.rank, a.config.scale(), x, &mut y);
                    }
                }
                Ok::<_, ComputeError>(y)
            };
            let n = rmsnorm_ref(&x, &layer.attention_norm, row, c.norm_eps);
            let q_raw = linear(&n, &layer.wq, lora::Linear::Wq)?;
            let k_raw = linear(&n, &layer.wk, lora::Linear::Wk)?;
            let q = rope(&q_raw, c.n_heads)?;
            let k = rope(&k_raw, c.n_kv_heads)?;
            let v = linear(&n, &layer.wv, lora::Linear::Wv)?;
            let a = attend_step_ref(cache, &q, &k, &v, pos, 1.0 / (hd as f32).sqrt());
            let o = linear(&a, &layer.wo, lora::Linear::Wo)?;
            let h: Vec<f32> = x.iter().zip(&o).map(|(a, b)| a + b).collect();
            let m = rmsnorm_ref(&h, &layer.ffn_norm, row, c.norm_eps);
            let gate: Vec<f32> = linear(&m, &layer.w1, lora::Linear::W1)?
                .into_iter()
                .map(silu)
                .collect();
            let up = linear(&m, &layer.w3, lora::Linear::W3)?;
            let g: Vec<f32> = gate.iter().zip(&up).map(|(a, b)| a * b).collect();
            let down = linear(&g, &layer.w2, lora::Linear::W2)?;
            let next: Vec<f32> = h.iter().zip(&down).map(|(a, b)| a + b).collect();
            if self.look_inside {
                inside.push(LayerInside {
                    x: x.clone(),
                    attn_normed: n,
                    q_raw,
                    k_raw,
                    q,
                    k,
                    attention: (0..c.n_heads)
                        .map(|i| {
                            let at = i * c.max_seq_len;
                            cache.probs[at..at + pos + 1].to_vec()
                        })
                        .collect(),
                    h,
                    ffn_normed: m,
                    gate,
                    up,
                });
            }
            x = next;
        }
        let n = rmsnorm_ref(&x, &model.norm, row, c.norm_eps);
        self.tokens.push(token);
        Ok(Step {
            logits: linear_q8_ref(&n, &model.output, 1)?,
            inside,
        })
    }
}

/// −log softmax(logits)[target], in nats.
pub fn token_nll(logits: &[f32], target: u32) -> f64 {
    let m = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z: f64 = logits.iter().map(|&l| (l as f64 - m).exp()).sum();
    m + z.ln() - logits[target as usize] as f64
}

/// A poem's summed −log p over its characters and `<eos>` (never `<bos>`
/// or the form token), and how many tokens that is: teacher-forced, one
/// token at a time through the cache.
pub fn poem_nll(model: &Arc<Llama>, ids: &[u32]) -> Result<(f64, usize), ComputeError> {
    let mut decoder = CpuDecoder::new(model.clone());
    let mut total = 0.0;
    for (t, pair) in ids.windows(2).enumerate() {
        let logits = decoder.step(pair[0])?.logits;
        if t >= 1 {
            total += token_nll(&logits, pair[1]);
        }
    }
    Ok((total, ids.len().saturating_sub(2)))
}

/// The `n` likeliest next tokens under softmax(logits / temperature), most
/// likely first (ties by id), with their probabilities.
pub fn top_choices(logits: &[f32], temperature: f32, n: usize) -> Vec<(u32, f32)> {
    let probs = crate::reference::filter::tempered_probs(logits, temperature);
    let mut order: Vec<u32> = (0..probs.len() as u32).collect();
    order.sort_by(|&a, &b| {
        probs[b as usize]
            .total_cmp(&probs[a as usize])
            .then(a.cmp(&b))
    });
    order
        .into_iter()
        .take(n)
        .map(|i| (i, probs[i as usize]))
        .collect()
}

/// What RMSNorm does to a vector next to LayerNorm (both with unit gain and
/// no bias): RMSNorm only rescales; LayerNorm first subtracts the mean.
#[derive(Debug, Clone, PartialEq)]
pub struct NormCompare {
    pub mean: f32,
    pub rms: f32,
    pub std: f32,
    pub rmsnorm: Vec<f32>,
    pub layernorm: Vec<f32>,
}

pub fn norm_compare(x: &[f32], eps: f32) -> NormCompare {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let ms = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let (rms, std) = ((ms + eps as f64).sqrt(), (var + eps as f64).sqrt());
    NormCompare {
        mean: mean as f32,
        rms: rms as f32,
        std: std as f32,
        rmsnorm: x.iter().map(|&v| (v as f64 / rms) as f32).collect(),
        layernorm: x
            .iter()
            .map(|&v| ((v as f64 - mean) / std) as f32)
            .collect(),
    }
}

/// RoPE's relative-position property on real vectors: score[m][n] =
/// rope(q, m) · rope(k, n) / √d for one head's raw query and key, positions
/// 0..size. Every diagonal (fixed n − m) holds one value.
pub fn rope_scores(q: &[f32], k: &[f32], size: usize, theta: f64) -> Vec<Vec<f32>> {
    let d = q.len();
    let qs = rotated(q, size, theta);
    let ks = rotated(k, size, theta);
    let scale = 1.0 / (d as f32).sqrt();
    qs.iter()
        .map(|qm| {
            ks.iter()
                .map(|kn| qm.iter().zip(kn).map(|(a, b)| a * b).sum::<f32>() * scale)
                .collect()
        })
        .collect()
}

/// One coordinate pair of a head's vector, rotated to positions
/// 0..positions: the points (x_2i, x_2i+1) RoPE moves it through. Pair 0
/// turns by 1 radian per position, the last pair barely at all.
pub fn rope_pair_path(v: &[f32], pair: usize, positions: usize, theta: f64) -> Vec<[f32; 2]> {
    let d = v.len();
    if pair >= d / 2 {
        return Vec::new();
    }
    rotated(v, positions, theta)
        .into_iter()
        .map(|r| [r[2 * pair], r[2 * pair + 1]])
        .collect()
}

/// One head's vector rotated by RoPE to each of positions 0..positions.
fn rotated(v: &[f32], positions: usize, theta: f64) -> Vec<Vec<f32>> {
    let d = v.len();
    let (cos, sin) = rope_tables(positions, d, theta);
    (0..positions)
        .map(|pos| {
            let shape = RopeShape {
                tokens: 1,
                heads: 1,
                head_dim: d,
                pos0: pos,
            };
            rope_interleaved_ref(v, &cos, &sin, shape).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rope_pairs_turn_by_their_frequency_and_keep_their_length() {
        let v: Vec<f32> = (0..32).map(|i| (i as f32 * 0.37).sin()).collect();
        let fast = rope_pair_path(&v, 0, 5, 10_000.0);
        let slow = rope_pair_path(&v, 8, 5, 10_000.0);
        let angle = |p: [f32; 2]| p[1].atan2(p[0]);
        let turn = |a: f32, b: f32| (b - a).rem_euclid(std::f32::consts::TAU);
        // Pair 0 turns by one radian per position, pair 8 by 10000^(-1/2).
        assert!((turn(angle(fast[0]), angle(fast[1])) - 1.0).abs() < 1e-4);
        assert!((turn(angle(slow[0]), angle(slow[4])) - 0.04).abs() < 1e-4);
        let len = |p: [f32; 2]| p[0].hypot(p[1]);
        assert!(fast.iter().all(|&p| (len(p) - len(fast[0])).abs() < 1e-5));
        assert!(rope_pair_path(&v, 16, 5, 10_000.0).is_empty());
        let norms = norm_compare(&[1.0, 3.0], 0.0);
        assert!((norms.mean - 2.0).abs() < 1e-6 && (norms.rms - 5f32.sqrt()).abs() < 1e-6);
        assert_eq!(norms.layernorm, vec![-1.0, 1.0]);
    }
}
