//! Rust drivers for the WGSL kernels in `shaders/`, one module per file.
//! Each records dispatches into a [`crate::executor::Recording`].

pub mod elementwise;
pub mod gemm;
