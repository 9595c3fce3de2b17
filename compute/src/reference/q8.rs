use candle_core::{Device, Tensor};

use crate::{
    error::ComputeError,
    weights::{padded_cols, Q8Matrix, BLOCK},
};

/// y = x · Wᵀ for x [m, cols] and a Q8_0 W [rows, cols]: the CPU path's
/// kernel and the Q8 GPU kernels' reference. It reads the quants as they
/// are stored, block by block (y = Σ_b d_b · Σ_j q_bj · x_bj), never a
/// dequantized copy. Each block's dot product runs in 8 independent lanes
/// (lane k takes elements k, k + 8, k + 16, k + 24), summed pairwise in a
/// fixed order: natively the compiler vectorises the lanes; in wasm they are
/// written with simd128 intrinsics (`simd_block`), because the portable
/// loop's i8 → f32 conversion stayed scalar there. Both orders are the same
/// sums, so native and wasm agree to the bit. A block's weights are widened
/// once and used for up to four rows of x.
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
    for r in 0..w.rows {
        let quants = &w.quants[r * cp..(r + 1) * cp];
        let scales = &w.scales[r * blocks..(r + 1) * blocks];
        for i0 in (0..m).step_by(4) {
            let n = (m - i0).min(4);
            let mut acc = [0f32; 4];
            for (b, &d) in scales.iter().enumerate() {
                let q = widen(&quants[b * BLOCK..(b + 1) * BLOCK]);
                for (j, a) in acc.iter_mut().enumerate().take(n) {
                    let at = (i0 + j) * cp + b * BLOCK;
                    *a += d * block_dot(&q, &xp[at..at + BLOCK]);
                }
            }
            for (j, a) in acc.iter().enumerate().take(n) {
                y[(i0 + j) * w.rows + r] = *a;
            }
        }
    }
    Ok(y)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
type Widened = [f32; BLOCK];

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn widen(q: &[i8]) -> Widened {
    std::array::from_fn(|j| q[j] as f32)
}

/// Σ q_j · x_j over one block, in 8 lanes summed pairwise.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn block_dot(q: &Widened, x: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    for (qc, xc) in q.chunks_exact(8).zip(x.chunks_exact(8)) {
        for k in 0..8 {
            lanes[k] += qc[k] * xc[k];
        }
    }
    ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd_block::{block_dot, widen};

/// The same block dot product with wasm's 128-bit SIMD: lanes 0–3 in one
/// f32x4 and 4–7 in another, each accumulating its elements in the portable
/// loop's order, then the same pairwise sum.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd_block {
    use super::BLOCK;
    use core::arch::wasm32::*;

    /// A block's 32 quants as eight f32x4: q[0..4], q[4..8], …, q[28..32].
    pub type Widened = [v128; 8];

    #[inline(always)]
    pub fn widen(q: &[i8]) -> Widened {
        assert!(q.len() >= BLOCK);
        // SAFETY: the assert above keeps both 16-byte loads inside `q`;
        // v128_load needs no alignment.
        let (q0, q1) = unsafe {
            (
                v128_load(q.as_ptr() as *const v128),
                v128_load(q.as_ptr().add(16) as *const v128),
            )
        };
        let halves = [
            i16x8_extend_low_i8x16(q0),
            i16x8_extend_high_i8x16(q0),
            i16x8_extend_low_i8x16(q1),
            i16x8_extend_high_i8x16(q1),
        ];
        std::array::from_fn(|k| {
            let h = halves[k / 2];
            f32x4_convert_i32x4(if k % 2 == 0 {
                i32x4_extend_low_i16x8(h)
            } else {
                i32x4_extend_high_i16x8(h)
            })
        })
    }

    #[inline(always)]
    pub fn block_dot(q: &Widened, x: &[f32]) -> f32 {
        assert!(x.len() >= BLOCK);
        // SAFETY: the assert above keeps the eight 16-byte loads inside `x`.
        let xs: [v128; 8] =
            std::array::from_fn(|k| unsafe { v128_load(x.as_ptr().add(4 * k) as *const v128) });
        // Lanes 0–3 take chunks 0, 2, 4, 6 (elements k, k+8, k+16, k+24);
        // lanes 4–7 chunks 1, 3, 5, 7, each in that order.
        // From +0.0, as the portable lanes start (so a block of -0.0
        // products sums to +0.0 on both).
        let (mut lo, mut hi) = (f32x4_splat(0.0), f32x4_splat(0.0));
        for c in 0..4 {
            lo = f32x4_add(lo, f32x4_mul(q[2 * c], xs[2 * c]));
            hi = f32x4_add(hi, f32x4_mul(q[2 * c + 1], xs[2 * c + 1]));
        }
        let sum4 = |v: v128| {
            (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
                + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
        };
        sum4(lo) + sum4(hi)
    }
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
