//! Chapter 2's widgets. The calculator's whole configuration lives in the
//! URL under the parameter names the chapter documents, so a link such as
//! `/attention?variant=gqa&layers=80&heads=64&kv_heads=8&head_dim=128&dtype=bf16&context=131072&batch=1`
//! reproduces a configuration exactly.

pub mod calculator;
pub mod live;
pub mod memory;

use compute::{
    kv_cache::{Dtype, KvConfig, Variant, WindowLayers},
    models::digit_transformer::{MlaForm, POSITIONS},
};
use serde::{Deserialize, Serialize};

use crate::shell::url_state::{Invalid, WidgetState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KvState {
    pub variant: Variant,
    pub layers: u64,
    pub heads: u64,
    pub kv_heads: u64,
    pub head_dim: u64,
    pub kv_lora_rank: u64,
    pub rope_dim: u64,
    pub dtype: Dtype,
    pub context: u64,
    pub batch: u64,
    /// Sliding window in tokens; 0 for none.
    pub window: u64,
    pub window_layers: WindowLayers,
    /// GPU memory and weight size, in GB (10⁹ bytes), for the longest context that fits.
    pub memory_gb: f64,
    pub weights_gb: f64,
    /// The preset this configuration came from, or empty for a custom one.
    pub preset: String,
    /// The live widget: which trained variant decodes, with what seed,
    /// with or without its KV cache, MLA's form, and the layer whose
    /// attention is drawn.
    pub live: Variant,
    pub live_seed: u64,
    pub live_cache: bool,
    pub live_form: MlaForm,
    pub live_layer: u32,
    /// The cache-as-memory view: positions decoded, and the position
    /// inspected (−1: none).
    pub mem_steps: u32,
    pub mem_pos: i32,
}

impl Default for KvState {
    fn default() -> Self {
        KvState {
            variant: Variant::Gqa,
            layers: 32,
            heads: 32,
            kv_heads: 8,
            head_dim: 128,
            kv_lora_rank: 512,
            rope_dim: 64,
            dtype: Dtype::Bf16,
            context: 8192,
            batch: 1,
            window: 0,
            window_layers: WindowLayers::All,
            memory_gb: 24.0,
            weights_gb: 16.1,
            preset: "Llama-3.1-8B".into(),
            live: Variant::Gqa,
            live_seed: 1,
            live_cache: true,
            live_form: MlaForm::Absorbed,
            live_layer: 0,
            mem_steps: 0,
            mem_pos: -1,
        }
    }
}

/// Largest value any count may take: keeps every product inside u64.
pub const MAX_COUNT: u64 = 1 << 24;

impl KvState {
    /// This state with a published model's shape, as choosing the preset in
    /// the calculator gives: MLA's d_c and d_h^R are kept for the other
    /// variants, which do not use them.
    pub fn with_preset(&self, p: &compute::kv_cache::Preset) -> Result<KvState, String> {
        let c = p.config()?;
        let mla = c.variant == Variant::Mla;
        Ok(KvState {
            variant: c.variant,
            layers: c.layers,
            heads: c.heads,
            kv_heads: c.kv_heads,
            head_dim: c.head_dim,
            kv_lora_rank: if mla {
                c.kv_lora_rank
            } else {
                self.kv_lora_rank
            },
            rope_dim: if mla { c.rope_dim } else { self.rope_dim },
            context: c.context,
            window: c.window,
            window_layers: c.window_layers,
            preset: p.name.clone(),
            ..self.clone()
        })
    }

    pub fn config(&self) -> KvConfig {
        KvConfig {
            variant: self.variant,
            layers: self.layers,
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            kv_lora_rank: self.kv_lora_rank,
            rope_dim: self.rope_dim,
            dtype: self.dtype,
            context: self.context,
            batch: self.batch,
            window: self.window,
            window_layers: self.window_layers,
        }
    }
}

impl WidgetState for KvState {
    fn validate(&self) -> Result<(), Invalid> {
        let counts = [
            self.layers,
            self.heads,
            self.kv_heads,
            self.head_dim,
            self.kv_lora_rank,
            self.rope_dim,
            self.context,
            self.batch,
            self.window,
        ];
        if counts.iter().any(|&v| v > MAX_COUNT) {
            return Err(Invalid::Range {
                field: "counts",
                lo: "0".into(),
                hi: MAX_COUNT.to_string(),
            });
        }
        if !(self.memory_gb.is_finite() && self.weights_gb.is_finite())
            || self.memory_gb < 0.0
            || self.weights_gb < 0.0
            || self.memory_gb > 1e6
        {
            return Err(Invalid::Range {
                field: "memory_gb, weights_gb",
                lo: "0".into(),
                hi: "10⁶".into(),
            });
        }
        let layers = compute::models::digit_transformer::Config::new(self.live).layers;
        if self.live_layer as usize >= layers {
            return Err(Invalid::Range {
                field: "live_layer",
                lo: "0".into(),
                hi: (layers - 1).to_string(),
            });
        }
        if self.mem_steps as usize > POSITIONS {
            return Err(Invalid::Range {
                field: "mem_steps",
                lo: "0".into(),
                hi: POSITIONS.to_string(),
            });
        }
        if !(-1..POSITIONS as i64).contains(&(self.mem_pos as i64)) {
            return Err(Invalid::Range {
                field: "mem_pos",
                lo: "−1".into(),
                hi: (POSITIONS - 1).to_string(),
            });
        }
        self.config().validate().map_err(Invalid::Config)
    }
}
