use candle_core::{Device, Tensor};

use crate::{
    error::ComputeError,
    weights::{padded_cols, Q8Matrix, BLOCK},
};

/// y = x · Wᵀ for x [m, cols] and a Q8_0 W [rows, cols]: the CPU path's
/// kernel and the Q8 GPU kernels' reference. It reads the quants as they
/// are stored, block by block (y = Σ_b d_b · Σ_j q_bj · x_bj), never a
/// dequantized copy. Each block's dot product runs in 8 independent lanes,
/// which the compiler turns into SIMD (SSE natively, simd128 in wasm); the
/// lanes are then summed in a fixed order, so native and wasm agree.
pub fn linear_q8_ref(x: &[f32], w: &Q8Matrix, m: usize) -> Result<Vec<f32>, ComputeError> {
    if x.len() != m * w.cols {
        return Err(ComputeError::Shape {
            op: "linear_q8",
            detail: format!("x has {} values, expected [{m}, {}]", x.len(), w.cols),
        });
    }
    let (cols, cp) = (w.cols, padded_cols(w.cols));
    let blocks = cp / BLOCK;
    // x with each row zero-padded to whole blocks, so every block is full.
    let mut xp = vec![0f32; m * cp];
    for i in 0..m {
        xp[i * cp..i * cp + cols].copy_from_slice(&x[i * cols..(i + 1) * cols]);
    }
    let mut y = vec![0f32; m * w.rows];
    let mut q = [0f32; BLOCK];
    for r in 0..w.rows {
        let quants = &w.quants[r * cp..(r + 1) * cp];
        let scales = &w.scales[r * blocks..(r + 1) * blocks];
        for (b, &d) in scales.iter().enumerate() {
            for (f, &v) in q.iter_mut().zip(&quants[b * BLOCK..(b + 1) * BLOCK]) {
                *f = v as f32;
            }
            for i in 0..m {
                let xb = &xp[i * cp + b * BLOCK..i * cp + (b + 1) * BLOCK];
                y[i * w.rows + r] += d * block_dot(&q, xb);
            }
        }
    }
    Ok(y)
}

/// Σ q_j · x_j over one block, in 8 lanes summed pairwise.
#[inline(always)]
fn block_dot(q: &[f32; BLOCK], x: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    for (qc, xc) in q.chunks_exact(8).zip(x.chunks_exact(8)) {
        for k in 0..8 {
            lanes[k] += qc[k] * xc[k];
        }
    }
    ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
}

/// The definition, by candle: W dequantized to f32, then x · Wᵀ. Slow (a
/// dense copy of W per call); kept to check [`linear_q8_ref`] and as the
/// benchmark's baseline.
pub fn linear_q8_dequantized(x: &[f32], w: &Q8Matrix, m: usize) -> Result<Vec<f32>, ComputeError> {
    let x = Tensor::from_slice(x, (m, w.cols), &Device::Cpu)?;
    let w = Tensor::from_vec(w.dequantize(), (w.rows, w.cols), &Device::Cpu)?;
    Ok(x.matmul(&w.t()?)?.flatten_all()?.to_vec1()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::uniform_signed;

    #[test]
    fn block_dot_kernel_equals_the_dequantized_definition() {
        // Awkward shapes: one row, cols not a multiple of 32, long rows, m > 1.
        for (n, &(m, rows, cols)) in [
            (1, 1, 1),
            (1, 7, 70),
            (3, 5, 33),
            (1, 64, 2048),
            (17, 9, 96),
        ]
        .iter()
        .enumerate()
        {
            let x = uniform_signed(n as u64, m * cols);
            let w = Q8Matrix::quantize(&uniform_signed(100 + n as u64, rows * cols), rows, cols);
            let got = linear_q8_ref(&x, &w, m).unwrap();
            let want = linear_q8_dequantized(&x, &w, m).unwrap();
            let tol = 1e-6 * cols as f32 + 1e-6;
            for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (a - b).abs() <= tol,
                    "[{m}, {rows}, {cols}] output {k}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn a_wrong_input_length_is_a_typed_error() {
        let w = Q8Matrix::quantize(&[0.5; 64], 2, 32);
        assert!(matches!(
            linear_q8_ref(&[1.0; 31], &w, 1),
            Err(ComputeError::Shape { .. })
        ));
    }
}
