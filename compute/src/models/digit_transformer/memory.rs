//! The KV cache as memory, for issue 14's `kv-memory` view: what one
//! position of one layer holds (a column per KV head, or MLA's latent and
//! RoPE key), which column each query head reads, and the cached values
//! themselves. Layout comes from [`Config`]; values from a [`CpuDecoder`].

use super::{Config, CpuCache, CpuDecoder, POSITIONS};
use crate::kv_cache::Variant;

/// One column of a layer's cache: a KV head's key and value, or MLA's
/// latent or its RoPE key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheColumn {
    /// KV head g: its key and its value, `head_dim` values each.
    KvHead { head: usize, values: usize },
    /// MLA's compressed latent c_KV, d_c values.
    Latent { values: usize },
    /// MLA's decoupled RoPE key, shared by every head, d_h^R values.
    RopeKey { values: usize },
}

impl CacheColumn {
    /// f32 values this column holds per position.
    pub fn values(self) -> usize {
        match self {
            CacheColumn::KvHead { values, .. } => 2 * values,
            CacheColumn::Latent { values } | CacheColumn::RopeKey { values } => values,
        }
    }
}

/// What every layer caches per position, and how the query heads share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLayout {
    pub layers: usize,
    pub positions: usize,
    pub columns: Vec<CacheColumn>,
    /// For each query head, the columns it reads.
    pub reads: Vec<Vec<usize>>,
}

impl CacheLayout {
    pub fn of(c: &Config) -> CacheLayout {
        let (columns, reads) = match c.variant {
            Variant::Mla => (
                vec![
                    CacheColumn::Latent { values: c.latent },
                    CacheColumn::RopeKey { values: c.rope_dim },
                ],
                vec![vec![0, 1]; c.heads],
            ),
            _ => (
                (0..c.kv_heads)
                    .map(|head| CacheColumn::KvHead {
                        head,
                        values: c.head_dim,
                    })
                    .collect(),
                // Query head h reads KV head h / (heads / kv_heads), as
                // `attend_step_ref` does.
                (0..c.heads)
                    .map(|h| vec![h / (c.heads / c.kv_heads)])
                    .collect(),
            ),
        };
        CacheLayout {
            layers: c.layers,
            positions: POSITIONS,
            columns,
            reads,
        }
    }

    /// f32 bytes one position takes in one layer.
    pub fn bytes_per_position(&self) -> u64 {
        4 * self.columns.iter().map(|c| c.values() as u64).sum::<u64>()
    }

    /// Bytes `filled` positions take across every layer.
    pub fn bytes(&self, filled: usize) -> u64 {
        self.bytes_per_position() * (self.layers * filled) as u64
    }
}

/// Every filled cell: `[layer][position][column]` → the column's values
/// (a KV head's key then value; MLA's latent, or its RoPE key).
pub type CacheCells = Vec<Vec<Vec<Vec<f32>>>>;

/// Cells from one layer's grouped cache, laid out [kv_heads, max_len,
/// head_dim] for keys and values alike (CPU and GPU).
pub(super) fn grouped_cells(
    k: &[f32],
    v: &[f32],
    kv_heads: usize,
    max_len: usize,
    head_dim: usize,
    filled: usize,
) -> Vec<Vec<Vec<f32>>> {
    (0..filled)
        .map(|pos| {
            (0..kv_heads)
                .map(|g| {
                    let at = (g * max_len + pos) * head_dim;
                    [&k[at..at + head_dim], &v[at..at + head_dim]].concat()
                })
                .collect()
        })
        .collect()
}

impl CpuDecoder {
    /// Every filled cell of every layer.
    pub fn cells(&self) -> CacheCells {
        let filled = self.tokens.len();
        (0..self.caches.len())
            .map(|layer| {
                (0..filled)
                    .map(|pos| {
                        (0..)
                            .map_while(|column| self.cached(layer, pos, column))
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    /// The values cached for `layer`, `position` and `column` of
    /// [`CacheLayout::of`] (a KV head's key then value), or `None` for a
    /// position not yet decoded.
    pub fn cached(&self, layer: usize, position: usize, column: usize) -> Option<Vec<f32>> {
        if position >= self.tokens.len() {
            return None;
        }
        match self.caches.get(layer)? {
            CpuCache::Grouped(kv) => {
                let (hd, max_len) = (kv.shape.head_dim, kv.shape.max_len);
                (column < kv.shape.kv_heads).then(|| {
                    let at = (column * max_len + position) * hd;
                    [&kv.k[at..at + hd], &kv.v[at..at + hd]].concat()
                })
            }
            CpuCache::Latent(mla) => match column {
                0 => mla.cache.latent.get(position).cloned(),
                1 => mla.cache.rope_key.get(position).cloned(),
                _ => None,
            },
        }
    }

    /// The attention weight each query head gave `position` at the latest
    /// step, in `layer`.
    pub fn weights_on(&self, layer: usize, position: usize) -> Option<Vec<f32>> {
        if position >= self.tokens.len() {
            return None;
        }
        let (probs, heads, max_len) = match self.caches.get(layer)? {
            CpuCache::Grouped(kv) => (&kv.probs, kv.shape.heads, kv.shape.max_len),
            CpuCache::Latent(mla) => (&mla.probs, mla.w.shape.heads, mla.w.shape.max_len),
        };
        Some((0..heads).map(|h| probs[h * max_len + position]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_per_variant() {
        let columns = |v| CacheLayout::of(&Config::new(v)).columns.len();
        assert_eq!(
            [Variant::Mha, Variant::Gqa, Variant::Mqa, Variant::Mla].map(columns),
            [4, 2, 1, 2]
        );
        let gqa = CacheLayout::of(&Config::new(Variant::Gqa));
        assert_eq!(gqa.reads, vec![vec![0], vec![0], vec![1], vec![1]]);
        // Per position and layer: MHA 4 × (16 + 16) values, MLA 32 + 8.
        let bytes = |v| CacheLayout::of(&Config::new(v)).bytes_per_position();
        assert_eq!(
            [Variant::Mha, Variant::Gqa, Variant::Mqa, Variant::Mla].map(bytes),
            [512, 256, 128, 160]
        );
    }
}
