//! Driver for `shaders/full_attention.wgsl`: unmasked multi-head attention
//! over whole sequences (DETR's encoder and decoder).

use crate::{
    error::ComputeError,
    executor::{GpuTensor, Kernel, Recording},
};

/// The most keys one query can attend over (workgroup memory for scores).
pub const MAX_KEYS: usize = 256;

pub const KERNEL: Kernel = Kernel {
    family: "full_attention",
    wgsl: include_str!("../../../shaders/full_attention.wgsl"),
    workgroup: 64,
    constants: &[("CTX", MAX_KEYS as f64)],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FullAttentionShape {
    pub heads: usize,
    pub head_dim: usize,
    /// Queries and keys.
    pub tq: usize,
    pub tk: usize,
}

impl FullAttentionShape {
    pub fn check(&self, q: usize, k: usize, v: usize) -> Result<(), ComputeError> {
        let s = self;
        let width = s.heads * s.head_dim;
        if [s.heads, s.head_dim, s.tq, s.tk].contains(&0)
            || s.tk > MAX_KEYS
            || q != s.tq * width
            || k != s.tk * width
            || v != s.tk * width
        {
            return Err(ComputeError::Shape {
                op: "full_attention",
                detail: format!(
                    "operands of {q}, {k}, {v} values do not fit {s:?} (at most {MAX_KEYS} keys)"
                ),
            });
        }
        Ok(())
    }

    pub fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }
}

/// Returns (out [tq, heads·head_dim], probs [heads, tq, tk]).
pub fn full_attention(
    rec: &mut Recording<'_>,
    q: &GpuTensor,
    k: &GpuTensor,
    v: &GpuTensor,
    s: FullAttentionShape,
) -> Result<(GpuTensor, GpuTensor), ComputeError> {
    s.check(q.len, k.len, v.len)?;
    let out = rec.exec().empty(q.len);
    let probs = rec.exec().empty(s.heads * s.tq * s.tk);
    let params = [
        s.heads as u32,
        s.head_dim as u32,
        s.tq as u32,
        s.tk as u32,
        s.scale().to_bits(),
    ];
    rec.dispatch(
        &KERNEL,
        "attend",
        &[(1, q), (2, k), (3, v), (4, &out), (5, &probs)],
        &params,
        [s.tq as u32, s.heads as u32, 1],
    );
    Ok((out, probs))
}
