//! Chapter 2's model: a small decoder-only transformer over binarised MNIST
//! digits, trained in four versions that differ only in attention (MHA, GQA,
//! MQA, MLA), so their KV caches can be compared on one task.
//!
//! Tokens are 2×2 patches: the 28×28 digit is a 14×14 grid of patches in
//! raster order, and a patch's four pixels make a 4-bit id (bit 0 top-left,
//! bit 1 top-right, bit 2 bottom-left, bit 3 bottom-right). The model reads a
//! start token (id 16) and patches 0..195 and predicts patch t at position t
//! with a 16-way softmax, so −log p(x) over all 784 pixels is exact: the sum
//! of 196 categorical terms.
//!
//! Each block: x += attention(rmsnorm(x)); x += W2·gelu(W1·rmsnorm(x)).
//! RoPE (NeoX layout, base 10000) on queries and keys; for MLA on the
//! decoupled RoPE parts only (DeepSeek-V2 §2.1.3).
//!
//! Tensors (matrices Q8_0, [out, in]; vectors f32):
//! - `embed` [17, 64], `out_norm` [64], `head` [16, 64];
//! - per layer i: `l{i}.attn_norm`, `l{i}.ffn_norm` [64], `l{i}.w1` [512, 64],
//!   `l{i}.w2` [64, 512], `l{i}.wq` [heads·16, 64], `l{i}.wo` [64, heads·16];
//! - MHA/GQA/MQA: `l{i}.wk`, `l{i}.wv` [kv_heads·16, 64];
//! - MLA: `l{i}.w_dkv` [d_c, 64], `l{i}.w_uk`, `l{i}.w_uv` [heads·16, d_c],
//!   `l{i}.w_qr` [heads·d_r, 64], `l{i}.w_kr` [d_r, 64].

pub mod gpu;
pub mod live;
pub mod memory;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{
    error::ComputeError,
    inputs::uniform_signed,
    kernels::{
        attention::AttentionShape,
        elementwise::{Activation, Binary},
        reduce::Rows,
        rope::{rope_tables, RopeShape},
        sample::Sampler,
    },
    kv_cache::{Dtype, KvConfig, Variant, WindowLayers},
    models::mla::{MlaLayer, MlaShape, MlaWeights},
    reference::{
        attention::{attend_step_ref, KvCacheRef},
        elementwise::{activation_ref, binary_ref},
        q8::linear_q8_ref,
        reduce::{rmsnorm_ref, softmax_ref},
        rope::rope_ref,
        sample::sample_ref,
    },
    weights::{load, Q8Matrix, Storage, Tensor as WeightTensor, TensorSpec, WeightFile},
};

pub const SIDE: usize = 28;
pub const GRID: usize = 14;
/// Positions in a sequence: one per patch (the first reads the start token).
pub const POSITIONS: usize = GRID * GRID;
/// Values a patch can take.
pub const PATCH_VALUES: usize = 16;
pub const START: u32 = PATCH_VALUES as u32;
pub const EPS: f32 = 1e-6;
pub const ROPE_THETA: f64 = 10_000.0;

/// The model's sizes; only the attention differs between variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub variant: Variant,
    pub dim: usize,
    pub layers: usize,
    pub heads: usize,
    pub head_dim: usize,
    /// Key/value heads: heads (MHA), heads/2 (GQA), 1 (MQA); unused by MLA.
    pub kv_heads: usize,
    pub ffn: usize,
    /// MLA's d_c.
    pub latent: usize,
    /// MLA's d_h^R.
    pub rope_dim: usize,
}

impl Config {
    pub fn new(variant: Variant) -> Config {
        let heads = 4;
        Config {
            variant,
            dim: 64,
            layers: 2,
            heads,
            head_dim: 16,
            kv_heads: match variant {
                Variant::Mha | Variant::Mla => heads,
                Variant::Gqa => heads / 2,
                Variant::Mqa => 1,
            },
            // Wide enough that attention's share of the parameters keeps the
            // four variants within 10% of one another.
            ffn: 512,
            latent: 32,
            rope_dim: 8,
        }
    }

    pub fn slug(&self) -> &'static str {
        match self.variant {
            Variant::Mha => "mha",
            Variant::Gqa => "gqa",
            Variant::Mqa => "mqa",
            Variant::Mla => "mla",
        }
    }

    pub fn weights_path(&self) -> String {
        format!("models/attention/{}.safetensors", self.slug())
    }

    pub fn metrics_path(&self) -> String {
        format!("models/attention/{}.json", self.slug())
    }

    /// The calculator's configuration for this model with an f32 cache of
    /// `context` tokens: the formula the runtime's allocations must match.
    pub fn kv_config(&self, context: usize) -> KvConfig {
        KvConfig {
            variant: self.variant,
            layers: self.layers as u64,
            heads: self.heads as u64,
            kv_heads: self.kv_heads as u64,
            head_dim: self.head_dim as u64,
            kv_lora_rank: self.latent as u64,
            rope_dim: self.rope_dim as u64,
            dtype: Dtype::Fp32,
            context: context as u64,
            batch: 1,
            window: 0,
            window_layers: WindowLayers::All,
        }
    }

    pub fn specs(&self) -> Vec<TensorSpec> {
        let (d, h, dh) = (self.dim, self.heads, self.head_dim);
        let mut specs = vec![
            TensorSpec::f32("embed", &[PATCH_VALUES + 1, d]),
            TensorSpec::f32("out_norm", &[d]),
            TensorSpec::q8_0("head", PATCH_VALUES, d),
        ];
        for i in 0..self.layers {
            let n = |s: &str| format!("l{i}.{s}");
            specs.extend([
                TensorSpec::f32(n("attn_norm"), &[d]),
                TensorSpec::f32(n("ffn_norm"), &[d]),
                TensorSpec::q8_0(n("w1"), self.ffn, d),
                TensorSpec::q8_0(n("w2"), d, self.ffn),
                TensorSpec::q8_0(n("wq"), h * dh, d),
                TensorSpec::q8_0(n("wo"), d, h * dh),
            ]);
            if self.variant == Variant::Mla {
                specs.extend([
                    TensorSpec::q8_0(n("w_dkv"), self.latent, d),
                    TensorSpec::q8_0(n("w_uk"), h * dh, self.latent),
                    TensorSpec::q8_0(n("w_uv"), h * dh, self.latent),
                    TensorSpec::q8_0(n("w_qr"), h * self.rope_dim, d),
                    TensorSpec::q8_0(n("w_kr"), self.rope_dim, d),
                ]);
            } else {
                specs.extend([
                    TensorSpec::q8_0(n("wk"), self.kv_heads * dh, d),
                    TensorSpec::q8_0(n("wv"), self.kv_heads * dh, d),
                ]);
            }
        }
        specs
    }

    /// Trainable parameters: every tensor's logical size.
    pub fn params(&self) -> usize {
        self.specs()
            .iter()
            .map(|s| s.shape.iter().product::<usize>())
            .sum()
    }

    fn attention_shape(&self) -> AttentionShape {
        AttentionShape {
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            max_len: POSITIONS,
        }
    }

    fn mla_shape(&self) -> MlaShape {
        MlaShape {
            d_model: self.dim,
            heads: self.heads,
            head_dim: self.head_dim,
            latent: self.latent,
            rope_dim: self.rope_dim,
            max_len: POSITIONS,
        }
    }
}

/// The raster indices of patch `p`'s four pixels, in bit order: top-left,
/// top-right, bottom-left, bottom-right.
pub fn patch_pixels(p: usize) -> [usize; 4] {
    let at = (2 * (p / GRID)) * SIDE + 2 * (p % GRID);
    [at, at + 1, at + SIDE, at + SIDE + 1]
}

/// A binary 28×28 image (values 0 or 1) as its 196 patch ids.
pub fn patches_from_image(image: &[f32]) -> Vec<u32> {
    (0..POSITIONS)
        .map(|p| {
            patch_pixels(p)
                .iter()
                .enumerate()
                .map(|(bit, &i)| ((image[i] > 0.5) as u32) << bit)
                .sum()
        })
        .collect()
}

/// Patch ids (any prefix of the 196) back to a 28×28 image; missing patches
/// stay 0.
pub fn image_from_patches(patches: &[u32]) -> Vec<f32> {
    let mut image = vec![0.0; SIDE * SIDE];
    for (p, &id) in patches.iter().enumerate().take(POSITIONS) {
        for (bit, i) in patch_pixels(p).into_iter().enumerate() {
            image[i] = ((id >> bit) & 1) as f32;
        }
    }
    image
}

#[derive(Debug, Clone)]
pub enum Attention {
    /// MHA, GQA and MQA: per-head queries, kv_heads keys and values.
    Grouped {
        wq: Q8Matrix,
        wk: Q8Matrix,
        wv: Q8Matrix,
        wo: Q8Matrix,
    },
    Latent {
        wq: Q8Matrix,
        wo: Q8Matrix,
        w_dkv: Q8Matrix,
        w_uk: Q8Matrix,
        w_uv: Q8Matrix,
        w_qr: Q8Matrix,
        w_kr: Q8Matrix,
    },
}

#[derive(Debug, Clone)]
pub struct Layer {
    pub attn_norm: Vec<f32>,
    pub attention: Attention,
    pub ffn_norm: Vec<f32>,
    pub w1: Q8Matrix,
    pub w2: Q8Matrix,
}

/// The shipped weights of one variant.
#[derive(Debug, Clone)]
pub struct DigitTransformer {
    pub config: Config,
    pub embed: Vec<f32>,
    pub layers: Vec<Layer>,
    pub out_norm: Vec<f32>,
    pub head: Q8Matrix,
}

impl DigitTransformer {
    /// Parses and checks a weights file (names, shapes, dtypes, finiteness).
    pub fn load(config: Config, bytes: &[u8]) -> Result<DigitTransformer, ComputeError> {
        let file = load(&config.weights_path(), bytes, &config.specs())?;
        DigitTransformer::from_weights(config, &file)
    }

    pub fn from_weights(config: Config, w: &WeightFile) -> Result<DigitTransformer, ComputeError> {
        let missing = |name: &str| ComputeError::Cpu(format!("{}: no tensor {name}", w.file));
        let f = |name: &str| {
            w.f32(name)
                .map(<[f32]>::to_vec)
                .ok_or_else(|| missing(name))
        };
        let q = |name: &str| w.q8_0(name).cloned().ok_or_else(|| missing(name));
        let layers = (0..config.layers)
            .map(|i| {
                let n = |s: &str| format!("l{i}.{s}");
                let attention = if config.variant == Variant::Mla {
                    Attention::Latent {
                        wq: q(&n("wq"))?,
                        wo: q(&n("wo"))?,
                        w_dkv: q(&n("w_dkv"))?,
                        w_uk: q(&n("w_uk"))?,
                        w_uv: q(&n("w_uv"))?,
                        w_qr: q(&n("w_qr"))?,
                        w_kr: q(&n("w_kr"))?,
                    }
                } else {
                    Attention::Grouped {
                        wq: q(&n("wq"))?,
                        wk: q(&n("wk"))?,
                        wv: q(&n("wv"))?,
                        wo: q(&n("wo"))?,
                    }
                };
                Ok(Layer {
                    attn_norm: f(&n("attn_norm"))?,
                    attention,
                    ffn_norm: f(&n("ffn_norm"))?,
                    w1: q(&n("w1"))?,
                    w2: q(&n("w2"))?,
                })
            })
            .collect::<Result<Vec<_>, ComputeError>>()?;
        Ok(DigitTransformer {
            config,
            embed: f("embed")?,
            layers,
            out_norm: f("out_norm")?,
            head: q("head")?,
        })
    }

    /// Seeded random weights with 1/√fan_in scale, for tests that need no
    /// trained file.
    pub fn random(config: Config, seed: u64) -> DigitTransformer {
        let tensors = config
            .specs()
            .into_iter()
            .enumerate()
            .map(|(k, spec)| {
                let n: usize = spec.shape.iter().product();
                let fan_in = *spec.shape.last().unwrap_or(&1) as f32;
                let values: Vec<f32> = uniform_signed(seed * 1000 + k as u64, n)
                    .into_iter()
                    .map(|v| v * (3.0 / fan_in).sqrt())
                    .collect();
                let t = match spec.storage {
                    Storage::Q8_0 => WeightTensor::Q8_0(Q8Matrix::quantize(
                        &values,
                        spec.shape[0],
                        spec.shape[1],
                    )),
                    Storage::F32 => WeightTensor::F32 {
                        shape: spec.shape.clone(),
                        data: values,
                    },
                };
                (spec.name, t)
            })
            .collect();
        let file = WeightFile {
            file: "random".into(),
            tensors,
        };
        DigitTransformer::from_weights(config, &file).expect("every spec was generated")
    }

    /// Exact −log p(image) in nats on the CPU: 196 teacher-forced steps.
    pub fn nll_ref(self: &Arc<Self>, image: &[f32]) -> Result<f64, ComputeError> {
        let patches = patches_from_image(image);
        let mut decoder = CpuDecoder::new(self.clone(), MlaForm::Absorbed)?;
        let mut token = START;
        let mut total = 0.0;
        for &target in &patches {
            let logits = decoder.step(token)?.logits;
            total += patch_nll(&logits, target);
            token = target;
        }
        Ok(total)
    }
}

/// −log softmax(logits)[target], in nats.
pub fn patch_nll(logits: &[f32], target: u32) -> f64 {
    let m = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z: f64 = logits.iter().map(|&l| (l as f64 - m).exp()).sum();
    m + z.ln() - logits[target as usize] as f64
}

/// MLA's two equivalent ways to decode (see `models::mla`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MlaForm {
    /// Decompress every cached latent into per-head keys and values.
    Naive,
    /// Fold W_uk into the query and W_uv into the output; attend over latents.
    #[default]
    Absorbed,
}

/// What one decoding step produced.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutput {
    /// Logits over the 16 patch values for the next patch.
    pub logits: Vec<f32>,
    /// Per layer, the attention weights [heads, positions so far].
    pub attention: Vec<Vec<f32>>,
}

enum CpuCache {
    Grouped(KvCacheRef),
    Latent(Box<MlaLayer>),
}

/// Decodes on the CPU through the references, one token at a time, with a
/// KV cache per layer.
pub struct CpuDecoder {
    model: Arc<DigitTransformer>,
    form: MlaForm,
    caches: Vec<CpuCache>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    /// Tokens fed so far (start token first).
    pub tokens: Vec<u32>,
}

impl CpuDecoder {
    pub fn new(model: Arc<DigitTransformer>, form: MlaForm) -> Result<CpuDecoder, ComputeError> {
        let c = model.config;
        let caches = model
            .layers
            .iter()
            .map(|layer| {
                Ok(match &layer.attention {
                    Attention::Grouped { .. } => {
                        CpuCache::Grouped(KvCacheRef::new(c.attention_shape()))
                    }
                    Attention::Latent {
                        wq,
                        wo,
                        w_dkv,
                        w_uk,
                        w_uv,
                        w_qr,
                        w_kr,
                    } => CpuCache::Latent(Box::new(MlaLayer::new(MlaWeights {
                        shape: c.mla_shape(),
                        w_dkv: w_dkv.dequantize(),
                        w_uk: w_uk.dequantize(),
                        w_uv: w_uv.dequantize(),
                        w_q: wq.dequantize(),
                        w_qr: w_qr.dequantize(),
                        w_kr: w_kr.dequantize(),
                        w_o: wo.dequantize(),
                    })?)),
                })
            })
            .collect::<Result<Vec<_>, ComputeError>>()?;
        let (cos, sin) = rope_tables(POSITIONS, c.head_dim, ROPE_THETA);
        Ok(CpuDecoder {
            model,
            form,
            caches,
            cos,
            sin,
            tokens: Vec::new(),
        })
    }

    pub fn config(&self) -> Config {
        self.model.config
    }

    /// Forgets every cached token.
    pub fn reset(&mut self) {
        self.tokens.clear();
        for cache in &mut self.caches {
            if let CpuCache::Latent(layer) = cache {
                layer.reset();
            }
        }
    }

    /// Bytes reserved for the caches, for all 196 positions.
    pub fn cache_bytes_allocated(&self) -> u64 {
        self.caches
            .iter()
            .map(|c| match c {
                CpuCache::Grouped(kv) => 4 * (kv.k.len() + kv.v.len()) as u64,
                CpuCache::Latent(mla) => 4 * mla.reserved_elements() as u64,
            })
            .sum()
    }

    /// Bytes of cache the tokens fed so far fill.
    pub fn cache_bytes_used(&self) -> u64 {
        let len = self.tokens.len() as u64;
        self.caches
            .iter()
            .map(|c| match c {
                CpuCache::Grouped(kv) => {
                    4 * (kv.k.len() + kv.v.len()) as u64 / POSITIONS as u64 * len
                }
                CpuCache::Latent(mla) => 4 * mla.cache.elements() as u64,
            })
            .sum()
    }

    /// Feeds `token` at the next position and returns the next patch's
    /// logits, using the cache.
    pub fn step(&mut self, token: u32) -> Result<StepOutput, ComputeError> {
        let pos = self.tokens.len();
        if pos >= POSITIONS || token > START {
            return Err(ComputeError::Shape {
                op: "digit_transformer",
                detail: format!("token {token} at position {pos} (at most {POSITIONS} positions)"),
            });
        }
        let c = self.model.config;
        let model = self.model.clone();
        let row = Rows {
            rows: 1,
            cols: c.dim,
        };
        let t = token as usize;
        let mut x = model.embed[t * c.dim..(t + 1) * c.dim].to_vec();
        let mut attention = Vec::with_capacity(c.layers);
        for (layer, cache) in model.layers.iter().zip(&mut self.caches) {
            let h = rmsnorm_ref(&x, &layer.attn_norm, row, EPS);
            let (out, probs) = match (&layer.attention, cache) {
                (Attention::Grouped { wq, wk, wv, wo }, CpuCache::Grouped(cache)) => {
                    let rope = |v: Vec<f32>, heads| {
                        rope_ref(
                            &v,
                            &self.cos,
                            &self.sin,
                            RopeShape {
                                tokens: 1,
                                heads,
                                head_dim: c.head_dim,
                                pos0: pos,
                            },
                        )
                    };
                    let q = rope(linear_q8_ref(&h, wq, 1)?, c.heads)?;
                    let k = rope(linear_q8_ref(&h, wk, 1)?, c.kv_heads)?;
                    let v = linear_q8_ref(&h, wv, 1)?;
                    let scale = 1.0 / (c.head_dim as f32).sqrt();
                    let a = attend_step_ref(cache, &q, &k, &v, pos, scale);
                    (linear_q8_ref(&a, wo, 1)?, &cache.probs)
                }
                (Attention::Latent { .. }, CpuCache::Latent(mla)) => {
                    let out = match self.form {
                        MlaForm::Naive => mla.step_naive(&h, pos)?,
                        MlaForm::Absorbed => mla.step_absorbed(&h, pos)?,
                    };
                    (out, &mla.probs)
                }
                _ => unreachable!("caches are built from the layers"),
            };
            attention.push(
                (0..c.heads)
                    .flat_map(|hd| probs[hd * POSITIONS..hd * POSITIONS + pos + 1].to_vec())
                    .collect(),
            );
            x = binary_ref(&x, &out, Binary::Add)?;
            let h = rmsnorm_ref(&x, &layer.ffn_norm, row, EPS);
            let f = activation_ref(&linear_q8_ref(&h, &layer.w1, 1)?, Activation::Gelu)?;
            x = binary_ref(&x, &linear_q8_ref(&f, &layer.w2, 1)?, Binary::Add)?;
        }
        let h = rmsnorm_ref(&x, &model.out_norm, row, EPS);
        self.tokens.push(token);
        Ok(StepOutput {
            logits: linear_q8_ref(&h, &model.head, 1)?,
            attention,
        })
    }

    /// The same step without a cache: forget everything and recompute the
    /// keys and values of every earlier token first.
    pub fn step_uncached(&mut self, token: u32) -> Result<StepOutput, ComputeError> {
        let prefix = std::mem::take(&mut self.tokens);
        self.reset();
        for &t in &prefix {
            self.step(t)?;
        }
        self.step(token)
    }
}

/// The patch drawn at position `pos` from `logits` with `seed`: the same
/// Philox draw the GPU's categorical sampler makes.
pub fn sample_patch(logits: &[f32], seed: u64, pos: usize) -> u32 {
    let probs = softmax_ref(
        logits,
        Rows {
            rows: 1,
            cols: PATCH_VALUES,
        },
    );
    sample_ref(
        Sampler::Categorical,
        &probs,
        1,
        PATCH_VALUES,
        seed,
        pos as u32,
    )[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_round_trip_and_bits_are_documented() {
        let mut image = vec![0.0; SIDE * SIDE];
        image[0] = 1.0; // patch 0, top-left: bit 0
        image[SIDE + 3] = 1.0; // patch 1, bottom-right: bit 3
        image[27 * SIDE + 26] = 1.0; // patch 195, bottom-left: bit 2
        let p = patches_from_image(&image);
        assert_eq!((p[0], p[1], p[195]), (1, 8, 4));
        assert_eq!(p.iter().filter(|&&v| v != 0).count(), 3);
        assert_eq!(image_from_patches(&p), image);
    }

    #[test]
    fn parameter_counts_are_within_ten_percent() {
        let counts: Vec<usize> = Variant::ALL
            .iter()
            .map(|&v| Config::new(v).params())
            .collect();
        let (lo, hi) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
        assert!(hi as f64 <= 1.1 * lo as f64, "{counts:?}");
        // MHA by hand: embed 17·64, head 16·64, out_norm 64; per layer norms
        // 2·64, FFN 2·64·512, and four 64×64 projections.
        assert_eq!(
            counts[0],
            17 * 64 + 16 * 64 + 64 + 2 * (128 + 65_536 + 4 * 4096)
        );
    }
}
