//! Chapter 5: LoRA adapters for the Tang LLaMA (Hu et al. 2021,
//! arXiv:2106.09685). A frozen W [out, in] gains a low-rank update
//! ΔW = (α/r)·B·A with A [r, in] and B [out, r]; B starts at zero, so
//! training starts exactly at the base model, and after training ΔW can be
//! merged into W.
//!
//! `cpu.rs` trains on candle's autodiff (natively and in the browser
//! without WebGPU) and is the oracle for `gpu.rs`, which trains with the
//! WGSL backward kernels of `shaders/backprop.wgsl`. `data.rs` cuts a
//! poet's poems into batches; `report.rs` holds the page's numbers (sizes,
//! optimizer state, singular values).

pub mod cpu;
pub mod data;
pub mod gpu;
pub mod report;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::LlamaConfig;
use crate::{
    inputs::uniform_signed,
    weights::{load, to_safetensors, Tensor as Stored, TensorSpec, WeightsError},
};

/// The shipped adapters and the rank table, under `assets/`.
pub const DIR: &str = "models/lora";
pub const TABLE_PATH: &str = "models/lora/table.json";

/// The shipped adapter of `poet` (index into `tang::HELD_OUT_POETS`).
pub fn shipped_path(poet: usize) -> String {
    format!(
        "{DIR}/{}.safetensors",
        ["baijuyi", "dufu", "libai"][poet.min(2)]
    )
}

/// Poems per training step in the browser: half the native recipe's 16, so
/// a step on a software GPU stays near a second.
pub const PAGE_BATCH: usize = 8;
/// The seed of a fresh adapter's A and of the batch order, on the page and
/// in the native recipe.
pub const SEED: u64 = 5;

/// The page's defaults: rank 4 on W_q and W_v, α = 8, learning rate 2e-3
/// (the native recipe's).
pub const PAGE_DEFAULT: LoraConfig = LoraConfig {
    rank: 4,
    alpha: 8.0,
    targets: Targets::Qv,
};
pub const PAGE_LR: f32 = 2e-3;

/// A user's adapter larger than this is refused before parsing: rank 64 on
/// every matrix of this model is about 2.4 MB.
pub const MAX_ADAPTER_BYTES: usize = 4 << 20;
pub const MAX_RANK: usize = 64;

/// The linear layers of a block, by Meta's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Linear {
    Wq,
    Wk,
    Wv,
    Wo,
    W1,
    W2,
    W3,
}

impl Linear {
    pub const ALL: [Linear; 7] = [
        Linear::Wq,
        Linear::Wk,
        Linear::Wv,
        Linear::Wo,
        Linear::W1,
        Linear::W2,
        Linear::W3,
    ];

    /// The weight's name inside a layer: `attention.wq`, `feed_forward.w1`.
    pub fn name(self) -> &'static str {
        match self {
            Linear::Wq => "attention.wq",
            Linear::Wk => "attention.wk",
            Linear::Wv => "attention.wv",
            Linear::Wo => "attention.wo",
            Linear::W1 => "feed_forward.w1",
            Linear::W2 => "feed_forward.w2",
            Linear::W3 => "feed_forward.w3",
        }
    }

    /// [out, in].
    pub fn shape(self, c: &LlamaConfig) -> (usize, usize) {
        let (d, hd) = (c.dim, c.head_dim());
        match self {
            Linear::Wq => (c.n_heads * hd, d),
            Linear::Wk | Linear::Wv => (c.n_kv_heads * hd, d),
            Linear::Wo => (d, c.n_heads * hd),
            Linear::W1 | Linear::W3 => (c.hidden_dim, d),
            Linear::W2 => (d, c.hidden_dim),
        }
    }
}

/// Which matrices get an adapter, in every layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Targets {
    /// W_q and W_v: the LoRA paper's choice.
    Qv,
    /// W_q, W_k, W_v and W_o.
    Attn,
    /// Every linear layer of every block (the output head and the
    /// embedding stay frozen).
    All,
}

impl Targets {
    pub const ALL: [Targets; 3] = [Targets::Qv, Targets::Attn, Targets::All];

    pub fn linears(self) -> &'static [Linear] {
        match self {
            Targets::Qv => &[Linear::Wq, Linear::Wv],
            Targets::Attn => &[Linear::Wq, Linear::Wk, Linear::Wv, Linear::Wo],
            Targets::All => &Linear::ALL,
        }
    }

    /// The command's and the URL's spelling.
    pub fn key(self) -> &'static str {
        match self {
            Targets::Qv => "qv",
            Targets::Attn => "attn",
            Targets::All => "all",
        }
    }

    pub fn from_key(key: &str) -> Option<Targets> {
        Targets::ALL.into_iter().find(|t| t.key() == key)
    }

    /// The set an adapter file's matrices make, if it is one of these.
    fn of(linears: &[Linear]) -> Option<Targets> {
        Targets::ALL.into_iter().find(|t| t.linears() == linears)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    pub rank: usize,
    pub alpha: f32,
    pub targets: Targets,
}

impl LoraConfig {
    /// (α/r): the update's scale.
    pub fn scale(&self) -> f32 {
        self.alpha / self.rank as f32
    }

    /// Trainable numbers: r·(in + out) per adapted matrix.
    pub fn trainable_params(&self, c: &LlamaConfig) -> usize {
        let per_layer: usize = self
            .targets
            .linears()
            .iter()
            .map(|l| {
                let (o, i) = l.shape(c);
                self.rank * (o + i)
            })
            .sum();
        per_layer * c.n_layers
    }
}

/// One adapted matrix's factors.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraPair {
    pub layer: usize,
    pub linear: Linear,
    /// W's [out, in].
    pub rows: usize,
    pub cols: usize,
    /// [r, in], row-major.
    pub a: Vec<f32>,
    /// [out, r], row-major.
    pub b: Vec<f32>,
}

impl LoraPair {
    /// The tensor-name prefix: `layers.0.attention.wq`.
    pub fn name(&self) -> String {
        format!("layers.{}.{}", self.layer, self.linear.name())
    }

    /// ΔW = scale·B·A, [out, in].
    pub fn delta(&self, rank: usize, scale: f32) -> Vec<f32> {
        let mut d = vec![0f32; self.rows * self.cols];
        for o in 0..self.rows {
            for k in 0..rank {
                let bk = scale * self.b[o * rank + k];
                if bk == 0.0 {
                    continue;
                }
                let a = &self.a[k * self.cols..(k + 1) * self.cols];
                for (dv, av) in d[o * self.cols..(o + 1) * self.cols].iter_mut().zip(a) {
                    *dv += bk * av;
                }
            }
        }
        d
    }

    /// y[t] += scale·B·(A·x[t]) for `tokens` rows of x [tokens, in] and
    /// y [tokens, out]: the branch beside the frozen matrix.
    pub fn apply(&self, rank: usize, scale: f32, x: &[f32], y: &mut [f32]) {
        let tokens = x.len() / self.cols;
        let mut u = vec![0f32; rank];
        for t in 0..tokens {
            let xt = &x[t * self.cols..(t + 1) * self.cols];
            for (k, uk) in u.iter_mut().enumerate() {
                let a = &self.a[k * self.cols..(k + 1) * self.cols];
                *uk = scale * a.iter().zip(xt).map(|(p, q)| p * q).sum::<f32>();
            }
            for o in 0..self.rows {
                let b = &self.b[o * rank..(o + 1) * rank];
                y[t * self.rows + o] += b.iter().zip(&u).map(|(p, q)| p * q).sum::<f32>();
            }
        }
    }
}

/// An adapter for the whole model: one pair per (layer, target), layers in
/// order and each layer's matrices in `Linear` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapter {
    pub config: LoraConfig,
    pub pairs: Vec<LoraPair>,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum AdapterError {
    #[error("the adapter file is {bytes} bytes; at most {max} are accepted")]
    TooLarge { bytes: usize, max: usize },
    #[error("the adapter file holds no LoRA matrices (names ending in .lora_a and .lora_b)")]
    Empty,
    #[error("“{name}” is not a matrix of this model")]
    UnknownMatrix { name: String },
    #[error("the adapter's matrices ({found}) are not one of the target sets q+v, attention, or every block matrix, in every layer")]
    Targets { found: String },
    #[error("the adapter's rank is {rank}; ranks 1 to {max} are accepted")]
    Rank { rank: usize, max: usize },
    #[error("alpha is {alpha}; it must be a positive finite number")]
    Alpha { alpha: f32 },
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

impl Adapter {
    /// A fresh adapter: A uniform in ±1/√in (as the reference
    /// implementation's Kaiming init with a = √5 gives), B zero, so
    /// ΔW = 0.
    pub fn init(model: &LlamaConfig, config: LoraConfig, seed: u64) -> Adapter {
        let mut pairs = Vec::new();
        for layer in 0..model.n_layers {
            for (k, &linear) in config.targets.linears().iter().enumerate() {
                let (rows, cols) = linear.shape(model);
                let bound = 1.0 / (cols as f32).sqrt();
                let a = uniform_signed(
                    seed.wrapping_mul(7919) + (layer * 16 + k) as u64,
                    config.rank * cols,
                )
                .into_iter()
                .map(|v| v * bound)
                .collect();
                pairs.push(LoraPair {
                    layer,
                    linear,
                    rows,
                    cols,
                    a,
                    b: vec![0.0; rows * config.rank],
                });
            }
        }
        Adapter { config, pairs }
    }

    pub fn pair(&self, layer: usize, linear: Linear) -> Option<&LoraPair> {
        self.pairs
            .iter()
            .find(|p| p.layer == layer && p.linear == linear)
    }

    /// Every trainable number, pairs in order, A then B: the layout of the
    /// optimizer's flat buffers on both backends.
    pub fn flat(&self) -> Vec<f32> {
        self.pairs
            .iter()
            .flat_map(|p| p.a.iter().chain(&p.b).copied())
            .collect()
    }

    pub fn set_flat(&mut self, values: &[f32]) {
        let mut at = 0;
        for p in &mut self.pairs {
            let (na, nb) = (p.a.len(), p.b.len());
            p.a.copy_from_slice(&values[at..at + na]);
            p.b.copy_from_slice(&values[at + na..at + na + nb]);
            at += na + nb;
        }
    }

    pub fn len(&self) -> usize {
        self.pairs.iter().map(|p| p.a.len() + p.b.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The safetensors file: `<matrix>.lora_a` [r, in], `<matrix>.lora_b`
    /// [out, r], and `lora.alpha` [1].
    pub fn to_safetensors(&self) -> Result<Vec<u8>, AdapterError> {
        let mut tensors = BTreeMap::new();
        let r = self.config.rank;
        for p in &self.pairs {
            tensors.insert(
                format!("{}.lora_a", p.name()),
                Stored::F32 {
                    shape: vec![r, p.cols],
                    data: p.a.clone(),
                },
            );
            tensors.insert(
                format!("{}.lora_b", p.name()),
                Stored::F32 {
                    shape: vec![p.rows, r],
                    data: p.b.clone(),
                },
            );
        }
        tensors.insert(
            "lora.alpha".into(),
            Stored::F32 {
                shape: vec![1],
                data: vec![self.config.alpha],
            },
        );
        Ok(to_safetensors(&tensors)?)
    }

    /// Reads an adapter for `model`: the targets and rank come from the
    /// names and shapes, then every tensor is checked (shapes, dtypes,
    /// nothing extra, every value finite).
    pub fn from_safetensors(
        file: &str,
        model: &LlamaConfig,
        bytes: &[u8],
    ) -> Result<Adapter, AdapterError> {
        if bytes.len() > MAX_ADAPTER_BYTES {
            return Err(AdapterError::TooLarge {
                bytes: bytes.len(),
                max: MAX_ADAPTER_BYTES,
            });
        }
        let header =
            safetensors::SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Header {
                file: file.into(),
                detail: e.to_string(),
            })?;
        let mut linears: Vec<Linear> = Vec::new();
        let mut rank = None;
        for name in header.names() {
            let Some(matrix) = name.strip_suffix(".lora_a") else {
                continue;
            };
            let linear = Linear::ALL
                .into_iter()
                .find(|l| {
                    matrix.strip_prefix("layers.").is_some_and(|rest| {
                        rest.split_once('.')
                            .is_some_and(|(i, n)| n == l.name() && i.parse::<usize>().is_ok())
                    })
                })
                .ok_or_else(|| AdapterError::UnknownMatrix {
                    name: matrix.to_string(),
                })?;
            if !linears.contains(&linear) {
                linears.push(linear);
            }
            if let Ok(t) = header.tensor(name) {
                rank = rank.or(t.shape().first().copied());
            }
        }
        if linears.is_empty() {
            return Err(AdapterError::Empty);
        }
        linears.sort();
        let targets = Targets::of(&linears).ok_or_else(|| AdapterError::Targets {
            found: linears
                .iter()
                .map(|l| l.name())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        let rank = rank.unwrap_or(0);
        if rank == 0 || rank > MAX_RANK {
            return Err(AdapterError::Rank {
                rank,
                max: MAX_RANK,
            });
        }
        // Shapes, names and values are checked against the specs this
        // rank and these targets imply.
        let config = LoraConfig {
            rank,
            alpha: 1.0,
            targets,
        };
        let specs = adapter_specs(model, &config);
        let file = load(file, bytes, &specs)?;
        let alpha = file.f32("lora.alpha").map_or(0.0, |a| a[0]);
        if !(alpha > 0.0 && alpha.is_finite()) {
            return Err(AdapterError::Alpha { alpha });
        }
        let mut adapter = Adapter::init(model, LoraConfig { alpha, ..config }, 0);
        for p in &mut adapter.pairs {
            let name = p.name();
            p.a = file
                .f32(&format!("{name}.lora_a"))
                .unwrap_or_default()
                .to_vec();
            p.b = file
                .f32(&format!("{name}.lora_b"))
                .unwrap_or_default()
                .to_vec();
        }
        Ok(adapter)
    }
}

/// The tensors an adapter file holds.
pub fn adapter_specs(model: &LlamaConfig, config: &LoraConfig) -> Vec<TensorSpec> {
    let mut specs = vec![TensorSpec::f32("lora.alpha", &[1])];
    for layer in 0..model.n_layers {
        for l in config.targets.linears() {
            let (rows, cols) = l.shape(model);
            let n = format!("layers.{layer}.{}", l.name());
            specs.push(TensorSpec::f32(format!("{n}.lora_a"), &[config.rank, cols]));
            specs.push(TensorSpec::f32(format!("{n}.lora_b"), &[rows, config.rank]));
        }
    }
    specs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> LlamaConfig {
        LlamaConfig {
            dim: 32,
            n_layers: 2,
            n_heads: 2,
            n_kv_heads: 1,
            hidden_dim: 64,
            vocab_size: 40,
            norm_eps: 1e-5,
            rope_theta: 10000.0,
            max_seq_len: 12,
        }
    }

    fn trained(targets: Targets) -> Adapter {
        let mut a = Adapter::init(
            &tiny(),
            LoraConfig {
                rank: 2,
                alpha: 4.0,
                targets,
            },
            3,
        );
        let n = a.len();
        a.set_flat(&uniform_signed(9, n));
        a
    }

    #[test]
    fn safetensors_round_trip_is_exact() {
        for t in Targets::ALL {
            let a = trained(t);
            let bytes = a.to_safetensors().unwrap();
            let back = Adapter::from_safetensors("a", &tiny(), &bytes).unwrap();
            assert_eq!(back, a);
        }
    }

    #[test]
    fn bad_adapter_files_get_typed_errors() {
        let c = tiny();
        let good = trained(Targets::Qv);
        // Not safetensors at all.
        assert!(matches!(
            Adapter::from_safetensors("x", &c, b"hello"),
            Err(AdapterError::Weights(WeightsError::Header { .. }))
        ));
        // Too large.
        assert!(matches!(
            Adapter::from_safetensors("x", &c, &vec![0u8; MAX_ADAPTER_BYTES + 1]),
            Err(AdapterError::TooLarge { .. })
        ));
        // A NaN.
        let mut nan = good.clone();
        nan.pairs[1].b[3] = f32::NAN;
        assert!(matches!(
            Adapter::from_safetensors("x", &c, &nan.to_safetensors().unwrap()),
            Err(AdapterError::Weights(WeightsError::NonFinite { .. }))
        ));
        // Wrong shapes: an adapter for a wider model.
        let wide = LlamaConfig { dim: 64, ..c };
        let other = Adapter::init(&wide, good.config, 1);
        assert!(matches!(
            Adapter::from_safetensors("x", &c, &other.to_safetensors().unwrap()),
            Err(AdapterError::Weights(WeightsError::Shape { .. }))
        ));
        // More layers than the model has.
        let deep = Adapter::init(&LlamaConfig { n_layers: 3, ..c }, good.config, 1);
        assert!(matches!(
            Adapter::from_safetensors("x", &c, &deep.to_safetensors().unwrap()),
            Err(AdapterError::Weights(WeightsError::Unexpected { .. }))
        ));
        // Rank too high.
        let big = Adapter::init(
            &c,
            LoraConfig {
                rank: MAX_RANK + 1,
                ..good.config
            },
            1,
        );
        assert!(matches!(
            Adapter::from_safetensors("x", &c, &big.to_safetensors().unwrap()),
            Err(AdapterError::Rank { .. })
        ));
        // Not a set of targets this page trains (q and k only).
        let mut odd = good.clone();
        for p in &mut odd.pairs {
            if p.linear == Linear::Wv {
                p.linear = Linear::Wk;
            }
        }
        assert!(matches!(
            Adapter::from_safetensors("x", &c, &odd.to_safetensors().unwrap()),
            Err(AdapterError::Targets { .. })
        ));
        // No LoRA matrices.
        let none = to_safetensors(&BTreeMap::from([(
            "x".to_string(),
            Stored::F32 {
                shape: vec![1],
                data: vec![1.0],
            },
        )]))
        .unwrap();
        assert!(matches!(
            Adapter::from_safetensors("x", &c, &none),
            Err(AdapterError::Empty)
        ));
    }

    #[test]
    fn delta_is_scaled_b_times_a_and_apply_matches_it() {
        let a = trained(Targets::All);
        let p = &a.pairs[4];
        let (r, s) = (a.config.rank, a.config.scale());
        let d = p.delta(r, s);
        let x = uniform_signed(5, 3 * p.cols);
        let mut y = vec![0f32; 3 * p.rows];
        p.apply(r, s, &x, &mut y);
        for t in 0..3 {
            for o in 0..p.rows {
                let want: f32 = (0..p.cols)
                    .map(|i| d[o * p.cols + i] * x[t * p.cols + i])
                    .sum();
                assert!((y[t * p.rows + o] - want).abs() < 1e-4);
            }
        }
        // A fresh adapter changes nothing.
        let fresh = Adapter::init(&tiny(), a.config, 1);
        assert!(fresh.pairs[0].delta(r, s).iter().all(|&v| v == 0.0));
        assert_eq!(
            a.config.trainable_params(&tiny()),
            a.len(),
            "r·(in + out) per matrix counts every number"
        );
    }
}
