//! Models assembled from the kernels, each with a GPU path (recorded
//! dispatches) and a CPU path (the references), so the two can be compared
//! layer by layer and the CPU path serves browsers without WebGPU.

pub mod ar;
pub mod detr;
pub mod digit_transformer;
pub mod llama;
pub mod mla;
pub mod spp;
pub mod tiny_transformer;

/// `m` [rows, cols] row-major, transposed: row j of the result is column j
/// of `m` (NADE's and MADE's input columns as contiguous slices; the
/// digit transformer's weights as a GEMM's right-hand side).
pub(crate) fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}
