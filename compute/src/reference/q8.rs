use candle_core::{Device, Tensor};

use crate::{
    error::ComputeError,
    weights::{padded_cols, Q8Matrix, BLOCK},
};

/// y = x · Wᵀ for x [m, cols] and a Q8_0 W [rows, cols]: the CPU path's
/// kernel and the Q8 GPU kernels' reference.
///
/// Few rows of x (decoding, m < [`PANEL_MIN_M`]) read the quants as they
/// are stored, block by block ([`linear_q8_blocks`]): a matrix-vector
/// product is bound by memory, and i8 is a quarter of f32's bytes. More rows
/// reuse each weight m times, so the arithmetic dominates: W is dequantized
/// a panel of rows at a time (at most 256 KB, never the whole matrix) and
/// each panel goes through candle's matmul, whose GEMM is tiled and
/// vectorised (`gemm_q8` at 64×1024 took 21–24 ms with block dots, and
/// about 5 with panels, natively).
pub fn linear_q8_ref(x: &[f32], w: &Q8Matrix, m: usize) -> Result<Vec<f32>, ComputeError> {
    if x.len() != m * w.cols {
        return Err(ComputeError::Shape {
            op: "linear_q8",
            detail: format!("x has {} values, expected [{m}, {}]", x.len(), w.cols),
        });
    }
    if m < PANEL_MIN_M {
        linear_q8_blocks(x, w, m)
    } else {
        linear_q8_panels(x, w, m)
    }
}

/// Rows of x from which [`linear_q8_ref`] dequantizes panels of W.
pub const PANEL_MIN_M: usize = 8;

/// f32 values in one dequantized panel of W (256 KB). In one bench run,
/// 1 MB panels took 7.5 ms at 64×1024 (they leave the cache); 256 KB, 5.6.
const PANEL_VALUES: usize = 1 << 16;

/// x · Wᵀ with W dequantized `PANEL_VALUES` at a time; see [`linear_q8_ref`].
fn linear_q8_panels(x: &[f32], w: &Q8Matrix, m: usize) -> Result<Vec<f32>, ComputeError> {
    let x = Tensor::from_slice(x, (m, w.cols), &Device::Cpu)?;
    let panel_rows = (PANEL_VALUES / w.cols.max(1)).clamp(1, w.rows.max(1));
    let mut y = vec![0f32; m * w.rows];
    for r0 in (0..w.rows).step_by(panel_rows) {
        let n = panel_rows.min(w.rows - r0);
        let mut panel = Vec::with_capacity(n * w.cols);
        w.dequantize_rows_into(r0..r0 + n, &mut panel);
        let panel = Tensor::from_vec(panel, (n, w.cols), &Device::Cpu)?;
        let part: Vec<f32> = x.matmul(&panel.t()?)?.flatten_all()?.to_vec1()?;
        for (i, row) in part.chunks_exact(n).enumerate() {
            y[i * w.rows + r0..i * w.rows + r0 + n].copy_from_slice(row);
        }
    }
    Ok(y)
}

/// x · Wᵀ on the stored quants, block by block
/// (y = Σ_b d_b · Σ_j q_bj · x_bj), never a dequantized copy. Each block's
/// dot product runs in 8 independent lanes (lane k takes elements k, k + 8,
/// k + 16, k + 24), summed pairwise in a fixed order: natively the compiler
/// vectorises the lanes; in wasm they are written with simd128 intrinsics
/// (`simd_block`), because the portable loop's i8 → f32 conversion stayed
/// scalar there. Both orders are the same sums, so native and wasm agree to
/// the bit. A block's weights are widened once and used for up to four rows
/// of x. The caller has checked x's length.
fn linear_q8_blocks(x: &[f32], w: &Q8Matrix, m: usize) -> Result<Vec<f32>, ComputeError> {
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

    // Written out in full, with no closures: the web build is optimised
    // for size, and must not leave any of this to the inliner.
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
        let (a0, a1) = (i16x8_extend_low_i8x16(q0), i16x8_extend_high_i8x16(q0));
        let (a2, a3) = (i16x8_extend_low_i8x16(q1), i16x8_extend_high_i8x16(q1));
        [
            f32x4_convert_i32x4(i32x4_extend_low_i16x8(a0)),
            f32x4_convert_i32x4(i32x4_extend_high_i16x8(a0)),
            f32x4_convert_i32x4(i32x4_extend_low_i16x8(a1)),
            f32x4_convert_i32x4(i32x4_extend_high_i16x8(a1)),
            f32x4_convert_i32x4(i32x4_extend_low_i16x8(a2)),
            f32x4_convert_i32x4(i32x4_extend_high_i16x8(a2)),
            f32x4_convert_i32x4(i32x4_extend_low_i16x8(a3)),
            f32x4_convert_i32x4(i32x4_extend_high_i16x8(a3)),
        ]
    }

    #[inline(always)]
    pub fn block_dot(q: &Widened, x: &[f32]) -> f32 {
        assert!(x.len() >= BLOCK);
        let p = x.as_ptr() as *const v128;
        // SAFETY: the assert above keeps the eight 16-byte loads inside `x`.
        let (x0, x1, x2, x3, x4, x5, x6, x7) = unsafe {
            (
                v128_load(p),
                v128_load(p.add(1)),
                v128_load(p.add(2)),
                v128_load(p.add(3)),
                v128_load(p.add(4)),
                v128_load(p.add(5)),
                v128_load(p.add(6)),
                v128_load(p.add(7)),
            )
        };
        // Lanes 0–3 take chunks 0, 2, 4, 6 (elements k, k+8, k+16, k+24),
        // lanes 4–7 chunks 1, 3, 5, 7, each in that order and from +0.0 as
        // the portable lanes start (so -0.0 products sum to +0.0 on both).
        let zero = f32x4_splat(0.0);
        let lo = f32x4_add(zero, f32x4_mul(q[0], x0));
        let lo = f32x4_add(lo, f32x4_mul(q[2], x2));
        let lo = f32x4_add(lo, f32x4_mul(q[4], x4));
        let lo = f32x4_add(lo, f32x4_mul(q[6], x6));
        let hi = f32x4_add(zero, f32x4_mul(q[1], x1));
        let hi = f32x4_add(hi, f32x4_mul(q[3], x3));
        let hi = f32x4_add(hi, f32x4_mul(q[5], x5));
        let hi = f32x4_add(hi, f32x4_mul(q[7], x7));
        ((f32x4_extract_lane::<0>(lo) + f32x4_extract_lane::<1>(lo))
            + (f32x4_extract_lane::<2>(lo) + f32x4_extract_lane::<3>(lo)))
            + ((f32x4_extract_lane::<0>(hi) + f32x4_extract_lane::<1>(hi))
                + (f32x4_extract_lane::<2>(hi) + f32x4_extract_lane::<3>(hi)))
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
        // Awkward shapes: one row, cols not a multiple of 32, long rows,
        // m > 1; from PANEL_MIN_M rows on, panels of W, the last one short
        // (70 rows of 2048 columns are panels of 32, 32 and 6).
        for (n, &(m, rows, cols)) in [
            (1, 1, 1),
            (1, 7, 70),
            (3, 5, 33),
            (1, 64, 2048),
            (17, 9, 96),
            (PANEL_MIN_M, 3, 70),
            (9, 70, 2048),
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
