//! Decoding attention over a KV cache in plain Rust (f64 accumulation).

use crate::kernels::attention::AttentionShape;

#[derive(Debug, Clone)]
pub struct KvCacheRef {
    pub shape: AttentionShape,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    /// The latest step's attention weights, [heads, max_len].
    pub probs: Vec<f32>,
}

impl KvCacheRef {
    pub fn new(shape: AttentionShape) -> Self {
        let len = shape.kv_heads * shape.max_len * shape.head_dim;
        KvCacheRef {
            shape,
            k: vec![0.0; len],
            v: vec![0.0; len],
            probs: vec![0.0; shape.heads * shape.max_len],
        }
    }
}

pub fn attend_step_ref(
    cache: &mut KvCacheRef,
    q: &[f32],
    k_new: &[f32],
    v_new: &[f32],
    pos: usize,
    scale: f32,
) -> Vec<f32> {
    let AttentionShape {
        heads,
        kv_heads,
        head_dim: hd,
        max_len,
    } = cache.shape;
    for g in 0..kv_heads {
        let at = (g * max_len + pos) * hd;
        cache.k[at..at + hd].copy_from_slice(&k_new[g * hd..(g + 1) * hd]);
        cache.v[at..at + hd].copy_from_slice(&v_new[g * hd..(g + 1) * hd]);
    }
    let mut out = vec![0.0; heads * hd];
    for h in 0..heads {
        let g = h / (heads / kv_heads);
        let row = |t: usize| (g * max_len + t) * hd..(g * max_len + t + 1) * hd;
        let scores: Vec<f64> = (0..=pos)
            .map(|t| {
                let k = &cache.k[row(t)];
                q[h * hd..(h + 1) * hd]
                    .iter()
                    .zip(k)
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum::<f64>()
                    * scale as f64
            })
            .collect();
        let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
        let total: f64 = e.iter().sum();
        for (t, et) in e.iter().enumerate() {
            cache.probs[h * max_len + t] = (et / total) as f32;
        }
        for d in 0..hd {
            let acc: f64 = (0..=pos)
                .map(|t| e[t] * cache.v[(g * max_len + t) * hd + d] as f64)
                .sum();
            out[h * hd + d] = (acc / total) as f32;
        }
    }
    out
}
