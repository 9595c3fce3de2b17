//! CPU references for the training kernels: `backprop` (RMSNorm backward,
//! SwiGLU, cross-entropy, AdamW), `causal_attention`, `lora`'s strided
//! product, and `q8`'s backward product. Plain Rust, in f32 where the GPU
//! is f32; the parity tests compare each kernel with these, and these are
//! checked against candle's autodiff.

use serde::{Deserialize, Serialize};

use crate::{
    kernels::{causal_attention::CausalShape, lora::View},
    weights::{padded_cols, Q8Matrix, BLOCK},
};

/// AdamW's hyperparameters (Loshchilov & Hutter), decoupled weight decay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamW {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
}

impl AdamW {
    pub fn with_lr(lr: f32) -> AdamW {
        AdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// (1 − β1^t, 1 − β2^t): the bias corrections at step t ≥ 1.
    pub fn corrections(&self, step: usize) -> (f32, f32) {
        let t = step as i32;
        (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t))
    }
}

/// One AdamW step in place, as the `adamw` kernel does it.
pub fn adamw_ref(
    theta: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    step: usize,
    h: AdamW,
) {
    let (bc1, bc2) = h.corrections(step);
    for i in 0..theta.len() {
        let g = grad[i];
        m[i] = h.beta1 * m[i] + (1.0 - h.beta1) * g;
        v[i] = h.beta2 * v[i] + (1.0 - h.beta2) * g * g;
        let decayed = theta[i] * (1.0 - h.lr * h.weight_decay);
        theta[i] = decayed - h.lr * (m[i] / bc1) / ((v[i] / bc2).sqrt() + h.eps);
    }
}

/// base + d(rmsnorm(x)·γ)/dx applied to dy, row by row.
pub fn rmsnorm_backward_ref(
    x: &[f32],
    gamma: &[f32],
    dy: &[f32],
    base: &[f32],
    eps: f32,
) -> Vec<f32> {
    let cols = gamma.len();
    let mut out = vec![0f32; x.len()];
    for (row, o) in out.chunks_mut(cols).enumerate() {
        let at = row * cols;
        let xs = &x[at..at + cols];
        let ms: f32 = xs.iter().map(|v| v * v).sum::<f32>() / cols as f32;
        let r = 1.0 / (ms + eps).sqrt();
        let dot: f32 = (0..cols).map(|c| gamma[c] * dy[at + c] * xs[c]).sum();
        let k = r * r * r * dot / cols as f32;
        for c in 0..cols {
            o[c] = base[at + c] + r * gamma[c] * dy[at + c] - xs[c] * k;
        }
    }
    out
}

fn sigmoid(a: f32) -> f32 {
    1.0 / (1.0 + (-a).exp())
}

pub fn swiglu_ref(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(&a, &b)| a * sigmoid(a) * b).collect()
}

/// (da, db) for g = silu(a)·b.
pub fn swiglu_backward_ref(a: &[f32], b: &[f32], dg: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut da = Vec::with_capacity(a.len());
    let mut db = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        let s = sigmoid(a[i]);
        da.push(dg[i] * b[i] * s * (1.0 + a[i] * (1.0 - s)));
        db.push(dg[i] * a[i] * s);
    }
    (da, db)
}

/// (scale·(softmax − onehot), −log p per row); a label of `u32::MAX` skips
/// its row (zero gradient, zero loss).
pub fn cross_entropy_ref(logits: &[f32], labels: &[u32], scale: f32) -> (Vec<f32>, Vec<f32>) {
    let rows = labels.len();
    let cols = logits.len() / rows;
    let mut grad = vec![0f32; logits.len()];
    let mut loss = vec![0f32; rows];
    for (r, &label) in labels.iter().enumerate() {
        if label == u32::MAX {
            continue;
        }
        let row = &logits[r * cols..(r + 1) * cols];
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let z: f32 = row.iter().map(|&l| (l - m).exp()).sum();
        for c in 0..cols {
            let p = (row[c] - m).exp() / z;
            grad[r * cols + c] = scale * (p - if c as u32 == label { 1.0 } else { 0.0 });
        }
        loss[r] = m + z.ln() - row[label as usize];
    }
    (grad, loss)
}

fn at(s: &CausalShape, n: usize, h: usize, heads: usize) -> usize {
    (n * heads + h) * s.head_dim
}

/// (out, weights) of causal grouped-query attention.
pub fn causal_attention_ref(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    s: CausalShape,
) -> (Vec<f32>, Vec<f32>) {
    let (t, hd) = (s.seq, s.head_dim);
    let group = s.heads / s.kv_heads;
    let mut out = vec![0f32; s.q_len()];
    let mut probs = vec![0f32; s.probs_len()];
    for b in 0..s.rows {
        for h in 0..s.heads {
            let kvh = h / group;
            for i in 0..t {
                let row = ((b * s.heads + h) * t + i) * t;
                let qi = at(&s, b * t + i, h, s.heads);
                let scores: Vec<f32> = (0..=i)
                    .map(|j| {
                        let kj = at(&s, b * t + j, kvh, s.kv_heads);
                        s.scale() * (0..hd).map(|d| q[qi + d] * k[kj + d]).sum::<f32>()
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let z: f32 = scores.iter().map(|x| (x - m).exp()).sum();
                for (j, sc) in scores.iter().enumerate() {
                    probs[row + j] = (sc - m).exp() / z;
                }
                for d in 0..hd {
                    out[qi + d] = (0..=i)
                        .map(|j| probs[row + j] * v[at(&s, b * t + j, kvh, s.kv_heads) + d])
                        .sum();
                }
            }
        }
    }
    (out, probs)
}

/// (dq, dk, dv) of causal grouped-query attention.
pub fn causal_attention_backward_ref(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    probs: &[f32],
    d_out: &[f32],
    s: CausalShape,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (t, hd) = (s.seq, s.head_dim);
    let group = s.heads / s.kv_heads;
    let (mut dq, mut dk, mut dv) = (
        vec![0f32; s.q_len()],
        vec![0f32; s.kv_len()],
        vec![0f32; s.kv_len()],
    );
    for b in 0..s.rows {
        for h in 0..s.heads {
            let kvh = h / group;
            for i in 0..t {
                let row = ((b * s.heads + h) * t + i) * t;
                let oi = at(&s, b * t + i, h, s.heads);
                let dp: Vec<f32> = (0..=i)
                    .map(|j| {
                        let vj = at(&s, b * t + j, kvh, s.kv_heads);
                        (0..hd).map(|d| d_out[oi + d] * v[vj + d]).sum()
                    })
                    .collect();
                let total: f32 = (0..=i).map(|j| probs[row + j] * dp[j]).sum();
                for j in 0..=i {
                    let ds = probs[row + j] * (dp[j] - total) * s.scale();
                    let kj = at(&s, b * t + j, kvh, s.kv_heads);
                    for d in 0..hd {
                        dq[oi + d] += ds * k[kj + d];
                        dk[kj + d] += ds * q[oi + d];
                        dv[kj + d] += probs[row + j] * d_out[oi + d];
                    }
                }
            }
        }
    }
    (dq, dk, dv)
}

/// C(view) = α·A(view)·B(view) (+ C when accumulating), [m, k]·[k, n].
#[allow(clippy::too_many_arguments)]
pub fn matmul_strided_ref(
    (a, av): (&[f32], View),
    (b, bv): (&[f32], View),
    (c, cv): (&mut [f32], View),
    (m, k, n): (usize, usize, usize),
    alpha: f32,
    accumulate: bool,
) {
    for i in 0..m {
        for j in 0..n {
            let s: f32 = (0..k)
                .map(|t| {
                    a[av.offset + i * av.row + t * av.col] * b[bv.offset + t * bv.row + j * bv.col]
                })
                .sum();
            let at = cv.offset + i * cv.row + j * cv.col;
            c[at] = if accumulate { c[at] } else { 0.0 } + alpha * s;
        }
    }
}

/// dx[m, cols] = dy[m, rows] · W, W dequantized block by block.
pub fn linear_q8_backward_ref(dy: &[f32], w: &Q8Matrix, m: usize) -> Vec<f32> {
    let cp = padded_cols(w.cols);
    let mut dx = vec![0f32; m * w.cols];
    for i in 0..m {
        for r in 0..w.rows {
            let g = dy[i * w.rows + r];
            for c in 0..w.cols {
                let q = w.quants[r * cp + c] as f32 * w.scales[(r * cp + c) / BLOCK];
                dx[i * w.cols + c] += g * q;
            }
        }
    }
    dx
}
