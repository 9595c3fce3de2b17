//! Driver for `shaders/full_attention.wgsl`: unmasked multi-head attention
//! over whole sequences (DETR's encoder and decoder).

use crate::{
    error::ComputeError,
    executor::{GpuTensor, Kernel, Recording},
};

/// The one head width the kernel takes (DETR's): it keeps a head in four
/// vec4 registers so that its loops unroll.
pub const HEAD_DIM: usize = 16;

/// The most keys one query can attend over (its scores are a private array).
pub const MAX_KEYS: usize = 256;

pub const KERNEL: Kernel = Kernel {
    family: "full_attention",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/full_attention.wgsl")),
    workgroup: 64,
    constants: &[],
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
    /// Dense operands: exactly [tq, width], [tk, width], [tk, width].
    pub fn check(&self, q: usize, k: usize, v: usize) -> Result<(), ComputeError> {
        let width = self.heads * self.head_dim;
        let exact = q == self.tq * width && k == self.tk * width && v == self.tk * width;
        let views = self.check_views(
            View::dense(q, width),
            View::dense(k, width),
            View::dense(v, width),
        );
        match views {
            Ok(()) if !exact => Err(ComputeError::Shape {
                op: "full_attention",
                detail: format!("operands of {q}, {k}, {v} values do not fit {self:?}"),
            }),
            other => other,
        }
    }

    fn check_views(&self, q: View, k: View, v: View) -> Result<(), ComputeError> {
        let s = self;
        let width = s.heads * s.head_dim;
        let fits = |view: View, rows: usize| {
            view.stride >= width
                && view.stride.is_multiple_of(4)
                && view.offset.is_multiple_of(4)
                && view.offset + (rows - 1) * view.stride + width <= view.len
        };
        if [s.heads, s.head_dim, s.tq, s.tk].contains(&0)
            || s.head_dim != HEAD_DIM
            || s.tk > MAX_KEYS
            || !fits(q, s.tq)
            || !fits(k, s.tk)
            || !fits(v, s.tk)
        {
            return Err(ComputeError::Shape {
                op: "full_attention",
                detail: format!(
                    "operands {q:?}, {k:?}, {v:?} do not fit {s:?} (heads of {HEAD_DIM}, at most {MAX_KEYS} keys, rows aligned to 4 words)"
                ),
            });
        }
        Ok(())
    }

    pub fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }
}

/// Rows of `heads · head_dim` columns from `offset`, `stride` words apart,
/// in a buffer of `len` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct View {
    len: usize,
    stride: usize,
    offset: usize,
}

impl View {
    fn dense(len: usize, width: usize) -> View {
        View {
            len,
            stride: width,
            offset: 0,
        }
    }
}

/// An attention operand: columns from `offset` of rows `stride` words apart
/// (Q, K or V inside a fused Q|K|V projection).
#[derive(Debug, Clone, Copy)]
pub struct Operand<'a> {
    pub t: &'a GpuTensor,
    pub stride: usize,
    pub offset: usize,
}

impl<'a> Operand<'a> {
    fn view(&self) -> View {
        View {
            len: self.t.len,
            stride: self.stride,
            offset: self.offset,
        }
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
    let width = s.heads * s.head_dim;
    let dense = |t| Operand {
        t,
        stride: width,
        offset: 0,
    };
    s.check(q.len, k.len, v.len)?;
    let probs = rec.exec().empty(s.heads * s.tq * s.tk);
    let out = full_attention_views(rec, [dense(q), dense(k), dense(v)], s, &probs, 0)?;
    Ok((out, probs))
}

/// Attention over views of Q, K and V, writing its probabilities into
/// `probs` from word `probs_offset`; returns out [tq, heads·head_dim].
pub fn full_attention_views(
    rec: &mut Recording<'_>,
    [q, k, v]: [Operand<'_>; 3],
    s: FullAttentionShape,
    probs: &GpuTensor,
    probs_offset: usize,
) -> Result<GpuTensor, ComputeError> {
    s.check_views(q.view(), k.view(), v.view())?;
    let n_probs = s.heads * s.tq * s.tk;
    if probs_offset + n_probs > probs.len {
        return Err(ComputeError::Shape {
            op: "full_attention",
            detail: format!(
                "{n_probs} probabilities at {probs_offset} do not fit {} words",
                probs.len
            ),
        });
    }
    let out = rec.exec().empty(s.tq * s.heads * s.head_dim);
    let params = [
        s.heads,
        s.head_dim,
        s.tq,
        s.tk,
        s.scale().to_bits() as usize,
        q.stride,
        q.offset,
        k.stride,
        k.offset,
        v.stride,
        v.offset,
        probs_offset,
    ]
    .map(|w| w as u32);
    rec.dispatch(
        &KERNEL,
        "attend",
        &[(1, q.t), (2, k.t), (3, v.t), (4, &out), (5, probs)],
        &params,
        [(s.tq as u32).div_ceil(KERNEL.workgroup), s.heads as u32, 1],
    );
    Ok(out)
}
