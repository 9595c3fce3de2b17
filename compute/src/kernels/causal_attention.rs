//! Driver for `shaders/causal_attention.wgsl`: causal grouped-query
//! attention over whole sequences, forward (keeping the weights) and
//! backward, for training.

use crate::{
    error::ComputeError,
    executor::{groups_1d, GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "causal_attention",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/causal_attention.wgsl")),
    workgroup: 64,
    constants: &[],
};

/// `rows` sequences of `seq` tokens; queries [rows·seq, heads·head_dim],
/// keys and values [rows·seq, kv_heads·head_dim].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CausalShape {
    pub rows: usize,
    pub seq: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
}

impl CausalShape {
    pub fn tokens(&self) -> usize {
        self.rows * self.seq
    }

    pub fn q_len(&self) -> usize {
        self.tokens() * self.heads * self.head_dim
    }

    pub fn kv_len(&self) -> usize {
        self.tokens() * self.kv_heads * self.head_dim
    }

    pub fn probs_len(&self) -> usize {
        self.rows * self.heads * self.seq * self.seq
    }

    pub fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }

    fn check(&self, q: usize, k: usize, v: usize) -> Result<(), ComputeError> {
        let ok = self.rows > 0
            && self.seq > 0
            && self.head_dim > 0
            && self.kv_heads > 0
            && self.heads.is_multiple_of(self.kv_heads)
            && q == self.q_len()
            && k == self.kv_len()
            && v == self.kv_len();
        if ok {
            Ok(())
        } else {
            Err(ComputeError::Shape {
                op: "causal_attention",
                detail: format!("q {q}, k {k}, v {v} for {self:?}"),
            })
        }
    }

    fn params(&self) -> [u32; 6] {
        [
            self.rows as u32,
            self.seq as u32,
            self.heads as u32,
            self.kv_heads as u32,
            self.head_dim as u32,
            self.scale().to_bits(),
        ]
    }
}

/// (out [rows·seq, heads·head_dim], weights [rows, heads, seq, seq]).
pub fn causal_attention(
    rec: &mut Recording<'_>,
    q: &GpuTensor,
    k: &GpuTensor,
    v: &GpuTensor,
    s: CausalShape,
) -> Result<(GpuTensor, GpuTensor), ComputeError> {
    s.check(q.len, k.len, v.len)?;
    let (out, probs) = (rec.exec().empty(s.q_len()), rec.exec().empty(s.probs_len()));
    rec.dispatch(
        &KERNEL,
        "forward",
        &[(1, q), (2, k), (3, v), (4, &probs), (5, &out)],
        &s.params(),
        groups_1d(s.rows * s.heads * s.seq, KERNEL.workgroup),
    );
    Ok((out, probs))
}

/// (dq, dk, dv) given the forward's inputs, its weights and d_out.
pub fn causal_attention_backward(
    rec: &mut Recording<'_>,
    q: &GpuTensor,
    k: &GpuTensor,
    v: &GpuTensor,
    probs: &GpuTensor,
    d_out: &GpuTensor,
    s: CausalShape,
) -> Result<(GpuTensor, GpuTensor, GpuTensor), ComputeError> {
    s.check(q.len, k.len, v.len)?;
    if probs.len != s.probs_len() || d_out.len != s.q_len() {
        return Err(ComputeError::Shape {
            op: "causal_attention_backward",
            detail: format!("weights {} and d_out {} for {s:?}", probs.len, d_out.len),
        });
    }
    let exec = rec.exec();
    let (d_score, dq, dk, dv) = (
        exec.empty(s.probs_len()),
        exec.empty(s.q_len()),
        exec.empty(s.kv_len()),
        exec.empty(s.kv_len()),
    );
    let params = s.params();
    rec.dispatch(
        &KERNEL,
        "backward_scores",
        &[(3, v), (4, probs), (6, d_out), (7, &d_score)],
        &params,
        groups_1d(s.rows * s.heads * s.seq, KERNEL.workgroup),
    );
    rec.dispatch(
        &KERNEL,
        "backward_q",
        &[(2, k), (7, &d_score), (8, &dq)],
        &params,
        groups_1d(s.q_len(), KERNEL.workgroup),
    );
    rec.dispatch(
        &KERNEL,
        "backward_kv",
        &[
            (1, q),
            (4, probs),
            (6, d_out),
            (7, &d_score),
            (8, &dk),
            (9, &dv),
        ],
        &params,
        groups_1d(s.kv_len(), KERNEL.workgroup),
    );
    Ok((dq, dk, dv))
}
