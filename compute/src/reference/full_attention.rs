use crate::{error::ComputeError, kernels::full_attention::FullAttentionShape};

/// The same attention in plain Rust: (out [tq, heads·head_dim], probs [heads, tq, tk]).
pub fn full_attention_ref(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    s: FullAttentionShape,
) -> Result<(Vec<f32>, Vec<f32>), ComputeError> {
    s.check(q.len(), k.len(), v.len())?;
    let (hd, width) = (s.head_dim, s.heads * s.head_dim);
    let mut out = vec![0f32; q.len()];
    let mut probs = vec![0f32; s.heads * s.tq * s.tk];
    for h in 0..s.heads {
        for i in 0..s.tq {
            let qi = &q[i * width + h * hd..][..hd];
            let row = &mut probs[(h * s.tq + i) * s.tk..][..s.tk];
            for (t, score) in row.iter_mut().enumerate() {
                let kt = &k[t * width + h * hd..][..hd];
                *score = qi.iter().zip(kt).map(|(a, b)| a * b).sum::<f32>() * s.scale();
            }
            let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            row.iter_mut().for_each(|x| *x = (*x - m).exp());
            let total: f32 = row.iter().sum();
            row.iter_mut().for_each(|x| *x /= total);
            let o = &mut out[i * width + h * hd..][..hd];
            for (t, &w) in row.iter().enumerate() {
                for (d, od) in o.iter_mut().enumerate() {
                    *od += w * v[t * width + h * hd + d];
                }
            }
        }
    }
    Ok((out, probs))
}
