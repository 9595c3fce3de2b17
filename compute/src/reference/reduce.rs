//! Row-wise reductions in plain Rust (candle-core has no softmax or norms;
//! those live in candle-nn). Accumulation is in f64, so the reference is
//! the more accurate side of every comparison.

use crate::kernels::reduce::Rows;

pub fn softmax_ref(x: &[f32], shape: Rows) -> Vec<f32> {
    rows(x, shape, |row, out| {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let s: f64 = row.iter().map(|&v| (v as f64 - m).exp()).sum();
        for (o, &v) in out.iter_mut().zip(row) {
            *o = ((v as f64 - m).exp() / s) as f32;
        }
    })
}

pub fn layernorm_ref(x: &[f32], gamma: &[f32], beta: &[f32], shape: Rows, eps: f32) -> Vec<f32> {
    rows(x, shape, |row, out| {
        let n = row.len() as f64;
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let inv = 1.0 / (var + eps as f64).sqrt();
        for (c, (o, &v)) in out.iter_mut().zip(row).enumerate() {
            *o = ((v as f64 - mean) * inv * gamma[c] as f64 + beta[c] as f64) as f32;
        }
    })
}

pub fn rmsnorm_ref(x: &[f32], gamma: &[f32], shape: Rows, eps: f32) -> Vec<f32> {
    rows(x, shape, |row, out| {
        let ms = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / row.len() as f64;
        let inv = 1.0 / (ms + eps as f64).sqrt();
        for (c, (o, &v)) in out.iter_mut().zip(row).enumerate() {
            *o = (v as f64 * inv * gamma[c] as f64) as f32;
        }
    })
}

fn rows(x: &[f32], shape: Rows, f: impl Fn(&[f32], &mut [f32])) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    for (row, o) in x.chunks(shape.cols).zip(out.chunks_mut(shape.cols)) {
        f(row, o);
    }
    out
}
