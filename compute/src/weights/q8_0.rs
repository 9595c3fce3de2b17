//! Q8_0, GGUF's 8-bit block format: each row is cut into blocks of 32 values
//! sharing one scale d = max|x| / 127, and each value is stored as
//! round(x / d) in an i8. Rows are zero-padded to a multiple of 32 columns so
//! a block never straddles two rows.

/// Values per block, and so the padding granule of a row.
pub const BLOCK: usize = 32;

/// Columns after padding a row of `cols` values to whole blocks.
pub fn padded_cols(cols: usize) -> usize {
    cols.div_ceil(BLOCK) * BLOCK
}

/// A matrix of logical shape [rows, cols] in Q8_0.
#[derive(Debug, Clone, PartialEq)]
pub struct Q8Matrix {
    pub rows: usize,
    pub cols: usize,
    /// [rows, padded_cols(cols)], row-major; padding is 0.
    pub quants: Vec<i8>,
    /// [rows, padded_cols(cols) / 32], row-major.
    pub scales: Vec<f32>,
}

impl Q8Matrix {
    pub fn quantize(values: &[f32], rows: usize, cols: usize) -> Q8Matrix {
        assert_eq!(
            values.len(),
            rows * cols,
            "quantize: values do not fill [{rows}, {cols}]"
        );
        let cp = padded_cols(cols);
        let mut quants = vec![0i8; rows * cp];
        let mut scales = vec![0f32; rows * cp / BLOCK];
        for r in 0..rows {
            let row = &values[r * cols..(r + 1) * cols];
            for (b, block) in row.chunks(BLOCK).enumerate() {
                let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
                let d = amax / 127.0;
                scales[r * cp / BLOCK + b] = d;
                let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
                for (i, v) in block.iter().enumerate() {
                    quants[r * cp + b * BLOCK + i] = (v * inv).round().clamp(-127.0, 127.0) as i8;
                }
            }
        }
        Q8Matrix {
            rows,
            cols,
            quants,
            scales,
        }
    }

    /// The f32 values the quantized matrix stands for, [rows, cols].
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        self.dequantize_rows_into(0..self.rows, &mut out);
        out
    }

    /// Appends rows `rows` of the dequantized matrix to `out` (row-major,
    /// `cols` values each), so a caller can reuse one buffer per panel.
    pub fn dequantize_rows_into(&self, rows: std::ops::Range<usize>, out: &mut Vec<f32>) {
        let cp = padded_cols(self.cols);
        for r in rows {
            let quants = &self.quants[r * cp..r * cp + self.cols];
            let scales = &self.scales[r * cp / BLOCK..(r + 1) * cp / BLOCK];
            for (block, &d) in quants.chunks(BLOCK).zip(scales) {
                out.extend(block.iter().map(|&q| q as f32 * d));
            }
        }
    }

    /// The matrices' rows one after another (one GEMM for several layers
    /// that read the same input, such as attention's Q, K and V).
    pub fn stack_rows(parts: &[&Q8Matrix]) -> Option<Q8Matrix> {
        let cols = parts.first()?.cols;
        if parts.iter().any(|m| m.cols != cols) {
            return None;
        }
        Some(Q8Matrix {
            rows: parts.iter().map(|m| m.rows).sum(),
            cols,
            quants: parts
                .iter()
                .flat_map(|m| m.quants.iter().copied())
                .collect(),
            scales: parts
                .iter()
                .flat_map(|m| m.scales.iter().copied())
                .collect(),
        })
    }

    /// Bytes the GPU reads for one pass over the matrix: quants plus scales.
    pub fn bytes(&self) -> usize {
        self.quants.len() + 4 * self.scales.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::uniform_signed;

    #[test]
    fn round_trip_error_is_at_most_half_a_step() {
        let (rows, cols) = (5, 70); // 70 is not a multiple of 32: exercises padding
        let values = uniform_signed(3, rows * cols);
        let q = Q8Matrix::quantize(&values, rows, cols);
        assert_eq!(q.quants.len(), rows * 96);
        assert_eq!(q.scales.len(), rows * 3);
        let back = q.dequantize();
        for (i, (v, w)) in values.iter().zip(&back).enumerate() {
            let d = q.scales[(i / cols) * 3 + (i % cols) / BLOCK];
            assert!((v - w).abs() <= 0.5 * d + 1e-7, "{i}: {v} vs {w} (d = {d})");
        }
        // Padding is zero.
        assert!(q.quants[70..96].iter().all(|&x| x == 0));
    }

    #[test]
    fn stacked_rows_dequantize_to_the_parts_one_after_another() {
        let a = Q8Matrix::quantize(&uniform_signed(1, 2 * 40), 2, 40);
        let b = Q8Matrix::quantize(&uniform_signed(2, 3 * 40), 3, 40);
        let s = Q8Matrix::stack_rows(&[&a, &b]).unwrap();
        assert_eq!((s.rows, s.cols), (5, 40));
        assert_eq!(s.dequantize(), [a.dequantize(), b.dequantize()].concat());
        let narrow = Q8Matrix::quantize(&uniform_signed(3, 8), 1, 8);
        assert!(Q8Matrix::stack_rows(&[&a, &narrow]).is_none());
        assert!(Q8Matrix::stack_rows(&[]).is_none());
    }

    #[test]
    fn zero_block_has_zero_scale_and_the_extremes_hit_127() {
        let mut values = vec![0f32; 64];
        values[40] = -2.0;
        values[41] = 1.0;
        let q = Q8Matrix::quantize(&values, 1, 64);
        assert_eq!(q.scales[0], 0.0);
        assert_eq!(q.quants[40], -127);
        assert_eq!(q.quants[41], 64); // 1 / (2/127) = 63.5, rounded away from zero
    }
}
