//! KV-cache sizes of MHA, GQA, MQA and MLA, in exact integers.
//!
//! Elements cached per token per layer:
//! - MHA: 2 · n_h · d_h (a key and a value per head);
//! - GQA: 2 · n_g · d_h (per group of query heads);
//! - MQA: 2 · d_h (one key and value shared by every head);
//! - MLA: d_c + d_h^R (DeepSeek-V2 §2.1: the latent c^KV and one shared RoPE key).
//!
//! A sliding window caps a layer's cache at `window` tokens, on every layer
//! (Mistral) or on alternate layers, the even ones (Gemma 2: local, global,
//! local, …).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    Mha,
    Gqa,
    Mqa,
    Mla,
}

impl Variant {
    pub const ALL: [Variant; 4] = [Variant::Mha, Variant::Gqa, Variant::Mqa, Variant::Mla];

    pub fn label(self) -> &'static str {
        match self {
            Variant::Mha => "MHA",
            Variant::Gqa => "GQA",
            Variant::Mqa => "MQA",
            Variant::Mla => "MLA",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Fp32,
    Bf16,
    Fp8,
    Int4,
}

impl Dtype {
    pub const ALL: [Dtype; 4] = [Dtype::Fp32, Dtype::Bf16, Dtype::Fp8, Dtype::Int4];

    pub fn bits(self) -> u64 {
        match self {
            Dtype::Fp32 => 32,
            Dtype::Bf16 => 16,
            Dtype::Fp8 => 8,
            Dtype::Int4 => 4,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Dtype::Fp32 => "fp32",
            Dtype::Bf16 => "bf16",
            Dtype::Fp8 => "fp8",
            Dtype::Int4 => "int4",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowLayers {
    All,
    Alternate,
}

/// One model's attention shape and the serving scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvConfig {
    pub variant: Variant,
    pub layers: u64,
    pub heads: u64,
    pub kv_heads: u64,
    pub head_dim: u64,
    /// MLA's d_c.
    pub kv_lora_rank: u64,
    /// MLA's d_h^R.
    pub rope_dim: u64,
    pub dtype: Dtype,
    pub context: u64,
    pub batch: u64,
    /// Sliding-window length; 0 means none.
    pub window: u64,
    pub window_layers: WindowLayers,
}

impl KvConfig {
    /// Elements one token leaves in one layer's cache.
    pub fn elems_per_token_layer(&self) -> u64 {
        match self.variant {
            Variant::Mha => 2 * self.heads * self.head_dim,
            Variant::Gqa => 2 * self.kv_heads * self.head_dim,
            Variant::Mqa => 2 * self.head_dim,
            Variant::Mla => self.kv_lora_rank + self.rope_dim,
        }
    }

    /// Elements one token leaves across all layers.
    pub fn elems_per_token(&self) -> u64 {
        self.elems_per_token_layer() * self.layers
    }

    /// Bytes one token adds to the cache (all layers, before any window
    /// caps it), rounded up to a whole byte for int4.
    pub fn bytes_per_token(&self) -> u64 {
        (self.elems_per_token() * self.dtype.bits()).div_ceil(8)
    }

    /// Layers whose cache the sliding window caps.
    pub fn windowed_layers(&self) -> u64 {
        match (self.window, self.window_layers) {
            (0, _) => 0,
            (_, WindowLayers::All) => self.layers,
            // Layers 0, 2, 4, … are local.
            (_, WindowLayers::Alternate) => self.layers.div_ceil(2),
        }
    }

    /// Tokens in the cache, summed over layers, for `context` tokens.
    pub fn cached_token_layers(&self, context: u64) -> u64 {
        let w = self.windowed_layers();
        let capped = if self.window == 0 {
            context
        } else {
            context.min(self.window)
        };
        w * capped + (self.layers - w) * context
    }

    /// Bytes of cache for `context` tokens and the configured batch.
    pub fn bytes_at(&self, context: u64) -> u64 {
        (self.batch
            * self.cached_token_layers(context)
            * self.elems_per_token_layer()
            * self.dtype.bits())
        .div_ceil(8)
    }

    /// Bytes of cache for the configured context and batch.
    pub fn total_bytes(&self) -> u64 {
        self.bytes_at(self.context)
    }

    /// The longest context whose cache fits in `free_bytes` at this batch
    /// (`None` if even the window alone does not fit, or it never stops
    /// growing within u64).
    pub fn max_context(&self, free_bytes: u64) -> Option<u64> {
        if self.bytes_at(1) > free_bytes {
            return Some(0);
        }
        // bytes_at is monotone in the context: binary search.
        let (mut lo, mut hi) = (1u64, 1u64 << 40);
        if self.bytes_at(hi) <= free_bytes {
            return None;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.bytes_at(mid) <= free_bytes {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    }

    /// A caution for shapes that compute but no real model has.
    pub fn warning(&self) -> Option<String> {
        (self.variant == Variant::Gqa
            && (self.kv_heads > self.heads || !self.heads.is_multiple_of(self.kv_heads.max(1))))
        .then(|| {
            format!(
                "{} query heads do not split evenly into {} groups; real GQA models use a divisor.",
                self.heads, self.kv_heads
            )
        })
    }

    /// Checks that the numbers describe an attention layer.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("layers", self.layers),
            ("context", self.context),
            ("batch", self.batch),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        match self.variant {
            Variant::Mla => {
                if self.kv_lora_rank == 0 {
                    return Err("MLA needs kv_lora_rank (d_c) of at least 1".into());
                }
            }
            _ => {
                if self.heads == 0 || self.head_dim == 0 {
                    return Err("heads and head_dim must be at least 1".into());
                }
                if self.variant == Variant::Gqa && self.kv_heads == 0 {
                    return Err("GQA needs at least one kv head".into());
                }
            }
        }
        Ok(())
    }
}

/// A real model's shape, from `assets/reference/kv-cache-models.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Preset {
    pub name: String,
    pub attention: String,
    pub layers: u64,
    pub heads: u64,
    #[serde(default)]
    pub kv_heads: Option<u64>,
    #[serde(default)]
    pub head_dim: Option<u64>,
    #[serde(default)]
    pub kv_lora_rank: Option<u64>,
    #[serde(default)]
    pub qk_rope_head_dim: Option<u64>,
    #[serde(default)]
    pub qk_nope_head_dim: Option<u64>,
    pub max_context: u64,
    #[serde(default)]
    pub sliding_window: Option<u64>,
    #[serde(default)]
    pub window_layers: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct PresetFile {
    models: Vec<Preset>,
}

pub fn parse_presets(json: &str) -> Result<Vec<Preset>, String> {
    serde_json::from_str::<PresetFile>(json)
        .map(|f| f.models)
        .map_err(|e| format!("the preset file is unreadable: {e}"))
}

impl Preset {
    /// The preset at its published maximum context, batch 1, bf16.
    pub fn config(&self) -> Result<KvConfig, String> {
        let variant = match self.attention.as_str() {
            "MHA" => Variant::Mha,
            "GQA" => Variant::Gqa,
            "MQA" => Variant::Mqa,
            "MLA" => Variant::Mla,
            other => return Err(format!("{}: unknown attention {other}", self.name)),
        };
        let head_dim = self.head_dim.or(self.qk_nope_head_dim).unwrap_or(0);
        Ok(KvConfig {
            variant,
            layers: self.layers,
            heads: self.heads,
            kv_heads: self.kv_heads.unwrap_or(self.heads),
            head_dim,
            kv_lora_rank: self.kv_lora_rank.unwrap_or(0),
            rope_dim: self.qk_rope_head_dim.unwrap_or(0),
            dtype: Dtype::Bf16,
            context: self.max_context,
            batch: 1,
            window: self.sliding_window.unwrap_or(0),
            window_layers: match self.window_layers.as_deref() {
                Some("alternate") => WindowLayers::Alternate,
                _ => WindowLayers::All,
            },
        })
    }
}

/// DeepSeek-V2 Table 9's KV elements per token, from the ablation models'
/// shapes: MHA with n_h · d_h = 16 · 128 (small) or 56 · 128 (large), MLA
/// with d_c = 512 and d_h^R = 64, over 27 and 60 layers.
pub fn deepseek_table9() -> [(&'static str, KvConfig, KvConfig); 2] {
    let base = |layers, heads| KvConfig {
        variant: Variant::Mha,
        layers,
        heads,
        kv_heads: heads,
        head_dim: 128,
        kv_lora_rank: 512,
        rope_dim: 64,
        dtype: Dtype::Bf16,
        context: 1,
        batch: 1,
        window: 0,
        window_layers: WindowLayers::All,
    };
    let mla = |c: KvConfig| KvConfig {
        variant: Variant::Mla,
        ..c
    };
    [
        ("Small MoE", base(27, 16), mla(base(27, 16))),
        ("Large MoE", base(60, 56), mla(base(60, 56))),
    ]
}

/// DeepSeek-V2 Table 1's per-token elements, in units of d_h · l, for the
/// paper's setting d_c = 4 d_h and d_h^R = d_h / 2 with n_h heads and n_g
/// groups: MHA 2 n_h, GQA 2 n_g, MQA 2, MLA 9/2 (GQA with 2.25 groups).
pub fn deepseek_table1(heads: u64, groups: u64, head_dim: u64, layers: u64) -> [(Variant, u64); 4] {
    let c = |variant| KvConfig {
        variant,
        layers,
        heads,
        kv_heads: groups,
        head_dim,
        kv_lora_rank: 4 * head_dim,
        rope_dim: head_dim / 2,
        dtype: Dtype::Bf16,
        context: 1,
        batch: 1,
        window: 0,
        window_layers: WindowLayers::All,
    };
    Variant::ALL.map(|v| (v, c(v).elems_per_token()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presets() -> Vec<Preset> {
        parse_presets(include_str!("../../assets/reference/kv-cache-models.json")).unwrap()
    }

    fn preset(name: &str) -> KvConfig {
        presets()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no preset {name}"))
            .config()
            .unwrap()
    }

    #[test]
    fn presets_by_hand() {
        // Llama-2-7B, MHA: 2 · 32 heads · 128 · 32 layers · 2 bytes.
        assert_eq!(
            preset("Llama-2-7B").bytes_per_token(),
            2 * 32 * 128 * 32 * 2
        );
        assert_eq!(preset("Llama-2-7B").bytes_per_token(), 524_288);
        // Llama-3.1-70B, GQA with 8 groups: 2 · 8 · 128 · 80 · 2 = 327,680.
        assert_eq!(preset("Llama-3.1-70B").bytes_per_token(), 327_680);
        // … and 128k tokens of it: 40 GiB.
        assert_eq!(preset("Llama-3.1-70B").total_bytes(), 327_680 * 131_072);
        assert_eq!(preset("Llama-3.1-70B").total_bytes(), 40 << 30);
        // Falcon-7B, MQA: 2 · 64 · 32 · 2 = 8,192.
        assert_eq!(preset("Falcon-7B").bytes_per_token(), 8_192);
        // DeepSeek-V2, MLA: (512 + 64) · 60 · 2 = 69,120.
        assert_eq!(preset("DeepSeek-V2").elems_per_token_layer(), 576);
        assert_eq!(preset("DeepSeek-V2").bytes_per_token(), 69_120);
        // Mistral-7B's window caps all 32 layers at 4,096 of its 32,768 tokens.
        let m = preset("Mistral-7B-v0.1");
        assert_eq!(m.bytes_per_token(), 131_072);
        assert_eq!(m.total_bytes(), 131_072 * 4_096);
        // Gemma-2-9B: 21 local layers capped at 4,096, 21 global at 8,192.
        let g = preset("Gemma-2-9B");
        assert_eq!(g.elems_per_token_layer(), 2 * 8 * 256);
        assert_eq!(g.windowed_layers(), 21);
        assert_eq!(g.total_bytes(), (21 * 4_096 + 21 * 8_192) * 4_096 * 2);
        // Every preset parses and validates.
        for p in presets() {
            p.config().unwrap().validate().unwrap();
        }
    }

    #[test]
    fn deepseek_v2_tables() {
        let t9 = deepseek_table9();
        let k = |c: &KvConfig| (c.elems_per_token() as f64 / 100.0).round() / 10.0;
        assert_eq!((k(&t9[0].1), k(&t9[0].2)), (110.6, 15.6));
        assert_eq!((k(&t9[1].1), k(&t9[1].2)), (860.2, 34.6));
        // Table 1 with d_h = 128, l = 60, n_h = 128, n_g = 8.
        let t1 = deepseek_table1(128, 8, 128, 60);
        let unit = 128 * 60;
        assert_eq!(t1[0], (Variant::Mha, 2 * 128 * unit));
        assert_eq!(t1[1], (Variant::Gqa, 2 * 8 * unit));
        assert_eq!(t1[2], (Variant::Mqa, 2 * unit));
        // MLA = 9/2 · d_h · l, the same as GQA with 2.25 groups.
        assert_eq!(t1[3], (Variant::Mla, 9 * unit / 2));
        assert_eq!(t1[3].1 * 100, 2 * 225 * unit);
    }

    #[test]
    fn dtype_sizes_and_windows() {
        let mut c = preset("Llama-2-7B");
        c.context = 1000;
        c.dtype = Dtype::Fp8;
        assert_eq!(c.bytes_per_token(), 262_144);
        c.dtype = Dtype::Int4;
        assert_eq!(c.bytes_per_token(), 131_072);
        // An odd number of int4 elements rounds up to whole bytes.
        let odd = KvConfig {
            variant: Variant::Mla,
            kv_lora_rank: 3,
            rope_dim: 0,
            layers: 1,
            dtype: Dtype::Int4,
            ..c
        };
        assert_eq!(odd.bytes_per_token(), 2);
        c.dtype = Dtype::Fp32;
        assert_eq!(c.total_bytes(), 1000 * 1_048_576);
        // A window longer than the context changes nothing; a shorter one caps.
        c.window = 4096;
        assert_eq!(c.total_bytes(), 1000 * 1_048_576);
        c.window = 100;
        assert_eq!(c.total_bytes(), 100 * 1_048_576);
        c.window_layers = WindowLayers::Alternate;
        assert_eq!(c.windowed_layers(), 16);
        assert_eq!(c.total_bytes(), (16 * 100 + 16 * 1000) * 2 * 32 * 128 * 4);
        c.batch = 3;
        assert_eq!(
            c.total_bytes(),
            3 * (16 * 100 + 16 * 1000) * 2 * 32 * 128 * 4
        );
    }

    #[test]
    fn max_context_is_the_last_that_fits() {
        let c = preset("Llama-3.1-8B"); // 131,072 bytes per token in bf16
        assert_eq!(c.bytes_per_token(), 131_072);
        let free = 10 * 131_072 + 5;
        assert_eq!(c.max_context(free), Some(10));
        assert_eq!(c.max_context(100), Some(0));
        // With every layer windowed the cache stops growing.
        let mut w = c;
        w.window = 16;
        assert_eq!(w.max_context(20 * 131_072), None);
    }

    #[test]
    fn bad_shapes_are_refused() {
        let mut c = preset("Llama-3.1-8B");
        assert_eq!(c.warning(), None);
        c.kv_heads = 5;
        assert!(c.warning().is_some());
        c.kv_heads = 0;
        assert!(c.validate().is_err());
        c.kv_heads = 8;
        c.layers = 0;
        assert!(c.validate().is_err());
    }
}
