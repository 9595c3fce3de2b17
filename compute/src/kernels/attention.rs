//! Driver for `shaders/attention.wgsl`: a decoding step of grouped-query
//! attention over a KV cache that lives on the GPU.

use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Kernel, Recording},
};

/// Longest context the kernel attends over: its scores live in workgroup
/// memory (4 KiB at 1024). 785 covers a start token and 784 pixels.
pub const MAX_CONTEXT: usize = 1024;

pub const KERNEL: Kernel = Kernel {
    family: "attention",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/attention.wgsl")),
    workgroup: 64,
    constants: &[("CTX", MAX_CONTEXT as f64)],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub max_len: usize,
}

impl AttentionShape {
    pub fn check(&self) -> Result<(), ComputeError> {
        let s = self;
        let bad = |detail: String| {
            Err(ComputeError::Shape {
                op: "attention",
                detail,
            })
        };
        if s.heads == 0
            || s.kv_heads == 0
            || s.head_dim == 0
            || s.max_len == 0
            || !s.heads.is_multiple_of(s.kv_heads)
        {
            return bad(format!("{s:?}: kv_heads must divide heads"));
        }
        if s.max_len > MAX_CONTEXT {
            return bad(format!(
                "a context of {} exceeds the kernel's {MAX_CONTEXT}",
                s.max_len
            ));
        }
        Ok(())
    }

    /// Cache elements per token per layer: keys and values for each KV head.
    pub fn cache_elements_per_token(&self) -> usize {
        2 * self.kv_heads * self.head_dim
    }
}

/// The K and V caches of one layer, [kv_heads, max_len, head_dim] each,
/// allocated once for the whole context.
#[derive(Debug)]
pub struct KvCache {
    pub shape: AttentionShape,
    pub k: GpuTensor,
    pub v: GpuTensor,
    /// The latest step's attention weights, [heads, max_len]: for display,
    /// not part of the cache.
    pub probs: GpuTensor,
}

impl KvCache {
    pub fn new(exec: &Executor, shape: AttentionShape) -> Result<KvCache, ComputeError> {
        shape.check()?;
        let len = shape.kv_heads * shape.max_len * shape.head_dim;
        Ok(KvCache {
            shape,
            k: exec.zeros(len),
            v: exec.zeros(len),
            probs: exec.zeros(shape.heads * shape.max_len),
        })
    }

    /// Bytes the cache occupies on the GPU (keys and values).
    pub fn bytes(&self) -> u64 {
        self.k.buffer().size() + self.v.buffer().size()
    }
}

/// Writes the token's K/V at `pos`, then attends over positions 0..=pos.
/// Returns [heads, head_dim]. Scale is usually 1/√head_dim.
pub fn attend_step(
    rec: &mut Recording<'_>,
    cache: &KvCache,
    q: &GpuTensor,
    k_new: &GpuTensor,
    v_new: &GpuTensor,
    pos: usize,
    scale: f32,
) -> Result<GpuTensor, ComputeError> {
    let s = cache.shape;
    if pos >= s.max_len {
        return Err(ComputeError::Shape {
            op: "attention",
            detail: format!("position {pos} is past the cache's {}", s.max_len),
        });
    }
    if q.len != s.heads * s.head_dim
        || k_new.len != s.kv_heads * s.head_dim
        || v_new.len != k_new.len
    {
        return Err(ComputeError::Shape {
            op: "attention",
            detail: format!("q/k/v lengths do not fit {s:?}"),
        });
    }
    let params = [s.heads, s.kv_heads, s.head_dim, s.max_len, pos].map(|v| v as u32);
    let params = [params.as_slice(), &[scale.to_bits()]].concat();
    let writes = (s.kv_heads * s.head_dim) as u32;
    rec.dispatch(
        &KERNEL,
        "kv_write",
        &[(2, k_new), (3, v_new), (4, &cache.k), (5, &cache.v)],
        &params,
        [writes.div_ceil(KERNEL.workgroup), 1, 1],
    );
    let out = rec.exec().empty(s.heads * s.head_dim);
    rec.dispatch(
        &KERNEL,
        "attend",
        &[
            (1, q),
            (4, &cache.k),
            (5, &cache.v),
            (6, &out),
            (7, &cache.probs),
        ],
        &params,
        [s.heads as u32, 1, 1],
    );
    Ok(out)
}
