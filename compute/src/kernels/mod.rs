//! Rust drivers for the WGSL kernels in `shaders/`, one module per file.

pub mod gemm;

pub(crate) fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}
