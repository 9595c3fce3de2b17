//! Rust drivers for the WGSL kernels in `shaders/`, one module per file.
//! Each records dispatches into a [`crate::executor::Recording`].

pub mod attention;
pub mod backprop;
pub mod causal_attention;
pub mod conv2d;
pub mod decode;
pub mod elementwise;
pub mod embedding;
pub mod filter;
pub mod full_attention;
pub mod fused_linear;
pub mod gemm;
pub mod lora;
pub mod mla;
pub mod q8;
pub mod reduce;
pub mod rope;
pub mod sample;
pub mod spp;
