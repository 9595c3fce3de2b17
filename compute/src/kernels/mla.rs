//! Driver for `shaders/mla.wgsl`: a decoding step of multi-head latent
//! attention, naive or absorbed, over a latent cache on the GPU.

use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Kernel, Recording},
    kernels::attention::MAX_CONTEXT,
};

pub const KERNEL: Kernel = Kernel {
    family: "mla",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/mla.wgsl")),
    workgroup: 64,
    constants: &[("CTX", MAX_CONTEXT as f64)],
};

/// One layer's MLA cache, allocated once for the whole context: the latent
/// c (d_c values) and the shared RoPE key k^R (d_h^R values) per token.
#[derive(Debug)]
pub struct LatentCache {
    pub heads: usize,
    pub latent_dim: usize,
    pub rope_dim: usize,
    pub max_len: usize,
    /// [max_len, d_c]
    pub latent: GpuTensor,
    /// [max_len, d_h^R]
    pub rope_key: GpuTensor,
    /// The latest step's attention weights, [heads, max_len]: for display.
    pub probs: GpuTensor,
}

impl LatentCache {
    pub fn new(
        exec: &Executor,
        heads: usize,
        latent_dim: usize,
        rope_dim: usize,
        max_len: usize,
    ) -> Result<LatentCache, ComputeError> {
        if heads == 0 || latent_dim == 0 || max_len == 0 || max_len > MAX_CONTEXT {
            return Err(ComputeError::Shape {
                op: "mla",
                detail: format!(
                    "{heads} heads, d_c {latent_dim}, a context of {max_len} (at most {MAX_CONTEXT})"
                ),
            });
        }
        Ok(LatentCache {
            heads,
            latent_dim,
            rope_dim,
            max_len,
            latent: exec.zeros(max_len * latent_dim),
            rope_key: exec.zeros(max_len * rope_dim),
            probs: exec.zeros(heads * max_len),
        })
    }

    /// Bytes the cache occupies on the GPU (latents and RoPE keys).
    pub fn bytes(&self) -> u64 {
        self.latent.buffer().size() + self.rope_key.buffer().size()
    }

    /// Records the token's latent and RoPE key into row `pos`.
    pub fn write(
        &self,
        rec: &mut Recording<'_>,
        latent: &GpuTensor,
        rope_key: &GpuTensor,
        pos: usize,
    ) -> Result<(), ComputeError> {
        if pos >= self.max_len || latent.len != self.latent_dim || rope_key.len != self.rope_dim {
            return Err(ComputeError::Shape {
                op: "mla",
                detail: format!(
                    "a latent of {} and a RoPE key of {} at position {pos} of {}",
                    latent.len, rope_key.len, self.max_len
                ),
            });
        }
        rec.copy(
            latent,
            0,
            &self.latent,
            pos * self.latent_dim,
            self.latent_dim,
        );
        rec.copy(
            rope_key,
            0,
            &self.rope_key,
            pos * self.rope_dim,
            self.rope_dim,
        );
        Ok(())
    }
}

/// What the attention step reads as keys and values, and its score scale
/// (1/√(d_h + d_h^R) in DeepSeek-V2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlaAttendShape {
    /// heads (naive: per-head keys) or 1 (absorbed: the shared latent).
    pub key_heads: usize,
    pub key_dim: usize,
    pub value_dim: usize,
    /// Positions attended over: 0..len.
    pub len: usize,
    pub scale: f32,
}

/// Attends `heads` queries (content `q` [heads, key_dim] and RoPE `q_rope`
/// [heads, d_h^R]) over `keys` and `values` ([len, key_heads, dim]) and the
/// cache's RoPE keys. Returns [heads, value_dim]; writes `cache.probs`.
pub fn mla_attend(
    rec: &mut Recording<'_>,
    cache: &LatentCache,
    q: &GpuTensor,
    q_rope: &GpuTensor,
    keys: &GpuTensor,
    values: &GpuTensor,
    s: MlaAttendShape,
) -> Result<GpuTensor, ComputeError> {
    let h = cache.heads;
    if !(s.key_heads == h || s.key_heads == 1)
        || s.len == 0
        || s.len > cache.max_len
        || q.len != h * s.key_dim
        || q_rope.len != h * cache.rope_dim
        || keys.len < s.len * s.key_heads * s.key_dim
        || values.len < s.len * s.key_heads * s.value_dim
    {
        return Err(ComputeError::Shape {
            op: "mla",
            detail: format!("{s:?} does not fit {h} heads and their operands"),
        });
    }
    let params = [
        h as u32,
        s.key_heads as u32,
        s.key_dim as u32,
        s.value_dim as u32,
        cache.rope_dim as u32,
        cache.max_len as u32,
        s.len as u32,
        s.scale.to_bits(),
    ];
    let out = rec.exec().empty(h * s.value_dim);
    rec.dispatch(
        &KERNEL,
        "attend",
        &[
            (1, q),
            (2, q_rope),
            (3, keys),
            (4, &cache.rope_key),
            (5, values),
            (6, &out),
            (7, &cache.probs),
        ],
        &params,
        [h as u32, 1, 1],
    );
    Ok(out)
}
