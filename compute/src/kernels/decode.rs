//! Driver for `shaders/decode.wgsl`: a LLaMA decoding step in four
//! dispatches a layer, plus the output head's norm and product in one.

use crate::{
    error::ComputeError,
    executor::{groups_1d, GpuTensor, Kernel, Recording},
    kernels::{attention::KvCache, q8::GpuQ8},
    weights::BLOCK,
};

/// Widest model the kernels take: the normed input or the attention output
/// lives in workgroup memory (4 KiB).
pub const MAX_DIM: usize = 1024;
/// Most attention scores, heads × context (8 KiB of workgroup memory).
pub const SCORES: usize = 2048;
pub const MAX_HEADS: usize = 64;

pub const KERNEL: Kernel = Kernel {
    family: "decode",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/decode.wgsl")),
    workgroup: 64,
    constants: &[
        ("MAX_DIM", MAX_DIM as f64),
        ("SCORES", SCORES as f64),
        ("MAX_HEADS", MAX_HEADS as f64),
    ],
};

/// A decoder's sizes, as the kernels need them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeShape {
    pub dim: usize,
    pub hidden: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub max_len: usize,
    pub eps: f32,
}

impl DecodeShape {
    /// Whether the kernels' workgroup arrays hold this model; a model that
    /// does not decodes with the separate kernels.
    pub fn fits(&self) -> bool {
        let s = self;
        s.dim <= MAX_DIM
            && s.heads <= MAX_HEADS
            && s.heads * s.max_len <= SCORES
            && s.kv_heads > 0
            && s.heads.is_multiple_of(s.kv_heads)
            && s.heads * s.head_dim == s.dim
            && s.head_dim.is_multiple_of(2)
            && s.dim.is_multiple_of(BLOCK)
            && s.hidden.is_multiple_of(BLOCK)
    }

    fn check(&self, op: &'static str, pos: usize) -> Result<(), ComputeError> {
        if !self.fits() || pos >= self.max_len {
            return Err(ComputeError::Shape {
                op,
                detail: format!("{self:?} at position {pos}: beyond the fused decode kernels"),
            });
        }
        Ok(())
    }

    fn kv_dim(&self) -> usize {
        self.kv_heads * self.head_dim
    }

    /// The uniform: (dim, rows, cols, heads, kv_heads, head_dim, max_len,
    /// pos, eps, scale).
    fn params(&self, rows: usize, cols: usize, pos: usize) -> Vec<u32> {
        let scale = 1.0 / (self.head_dim as f32).sqrt();
        let words = [
            self.dim,
            rows,
            cols,
            self.heads,
            self.kv_heads,
            self.head_dim,
            self.max_len,
            pos,
        ];
        let mut params: Vec<u32> = words.iter().map(|&v| v as u32).collect();
        params.extend([self.eps.to_bits(), scale.to_bits()]);
        params
    }
}

fn wrong(op: &'static str, detail: String) -> ComputeError {
    ComputeError::Shape { op, detail }
}

fn groups(rows: usize) -> [u32; 3] {
    groups_1d(rows, KERNEL.workgroup)
}

/// RMSNorm(x)·γ, then W_qkv (Q, K and V stacked by rows) and RoPE at `pos`:
/// K and V go into the cache at `pos`, and the queries come back.
#[allow(clippy::too_many_arguments)]
pub fn qkv_rope(
    rec: &mut Recording<'_>,
    s: DecodeShape,
    x: &GpuTensor,
    gamma: &GpuTensor,
    wqkv: &GpuQ8,
    rope: &GpuTensor,
    cache: &KvCache,
    pos: usize,
) -> Result<GpuTensor, ComputeError> {
    s.check("qkv_rope", pos)?;
    let rows = s.dim + 2 * s.kv_dim();
    if x.len != s.dim || gamma.len != s.dim || wqkv.rows != rows || wqkv.cols != s.dim {
        return Err(wrong(
            "qkv_rope",
            format!(
                "x {}, γ {}, W {}×{} for {s:?}",
                x.len, gamma.len, wqkv.rows, wqkv.cols
            ),
        ));
    }
    if rope.len < s.max_len * s.head_dim || cache.shape.max_len != s.max_len {
        return Err(wrong(
            "qkv_rope",
            format!("rope tables or cache do not fit {s:?}"),
        ));
    }
    let q = rec.exec().empty(s.dim);
    rec.dispatch(
        &KERNEL,
        "qkv_rope",
        &[
            (1, x),
            (2, gamma),
            (3, &wqkv.quants),
            (4, &wqkv.scales),
            (7, rope),
            (9, &cache.k),
            (10, &cache.v),
            (11, &q),
        ],
        &s.params(rows, s.dim, pos),
        groups(rows / 2),
    );
    Ok(q)
}

/// Attention of `q` over the cache's positions 0..=pos, then
/// x + W_o · attention.
pub fn attend_out(
    rec: &mut Recording<'_>,
    s: DecodeShape,
    q: &GpuTensor,
    cache: &KvCache,
    wo: &GpuQ8,
    x: &GpuTensor,
    pos: usize,
) -> Result<GpuTensor, ComputeError> {
    s.check("attend_out", pos)?;
    if q.len != s.dim || x.len != s.dim || wo.rows != s.dim || wo.cols != s.dim {
        return Err(wrong("attend_out", format!("q, x or W_o do not fit {s:?}")));
    }
    let y = rec.exec().empty(s.dim);
    rec.dispatch(
        &KERNEL,
        "attend_out",
        &[
            (1, x),
            (3, &wo.quants),
            (4, &wo.scales),
            (9, &cache.k),
            (10, &cache.v),
            (11, q),
            (12, &y),
        ],
        &s.params(s.dim, s.dim, pos),
        groups(s.dim),
    );
    Ok(y)
}

/// silu(W_1 · n) ⊙ (W_3 · n) with n = RMSNorm(x)·γ.
pub fn swiglu(
    rec: &mut Recording<'_>,
    s: DecodeShape,
    x: &GpuTensor,
    gamma: &GpuTensor,
    w1: &GpuQ8,
    w3: &GpuQ8,
) -> Result<GpuTensor, ComputeError> {
    s.check("swiglu", 0)?;
    let fits = |w: &GpuQ8| w.rows == s.hidden && w.cols == s.dim;
    if x.len != s.dim || gamma.len != s.dim || !fits(w1) || !fits(w3) {
        return Err(wrong(
            "swiglu",
            format!("x, γ, W_1 or W_3 do not fit {s:?}"),
        ));
    }
    let y = rec.exec().empty(s.hidden);
    rec.dispatch(
        &KERNEL,
        "swiglu",
        &[
            (1, x),
            (2, gamma),
            (3, &w1.quants),
            (4, &w1.scales),
            (5, &w3.quants),
            (6, &w3.scales),
            (12, &y),
        ],
        &s.params(s.hidden, s.dim, 0),
        groups(s.hidden),
    );
    Ok(y)
}

/// x + W_2 · g.
pub fn down(
    rec: &mut Recording<'_>,
    s: DecodeShape,
    g: &GpuTensor,
    w2: &GpuQ8,
    x: &GpuTensor,
) -> Result<GpuTensor, ComputeError> {
    s.check("down", 0)?;
    if g.len != s.hidden || x.len != s.dim || w2.rows != s.dim || w2.cols != s.hidden {
        return Err(wrong("down", format!("g, x or W_2 do not fit {s:?}")));
    }
    let y = rec.exec().empty(s.dim);
    rec.dispatch(
        &KERNEL,
        "down",
        &[(1, x), (3, &w2.quants), (4, &w2.scales), (12, &y), (13, g)],
        &s.params(s.dim, s.hidden, 0),
        groups(s.dim),
    );
    Ok(y)
}

/// W · (RMSNorm(x)·γ): the output head.
pub fn norm_gemv(
    rec: &mut Recording<'_>,
    s: DecodeShape,
    x: &GpuTensor,
    gamma: &GpuTensor,
    w: &GpuQ8,
) -> Result<GpuTensor, ComputeError> {
    s.check("norm_gemv", 0)?;
    if x.len != s.dim || gamma.len != s.dim || w.cols != s.dim {
        return Err(wrong("norm_gemv", format!("x, γ or W do not fit {s:?}")));
    }
    let y = rec.exec().empty(w.rows);
    rec.dispatch(
        &KERNEL,
        "norm_gemv",
        &[(1, x), (2, gamma), (3, &w.quants), (4, &w.scales), (12, &y)],
        &s.params(w.rows, s.dim, 0),
        groups_1d(w.rows, 4 * KERNEL.workgroup),
    );
    Ok(y)
}
