//! CPU implementations of every kernel, with candle-core where it has the op
//! and plain Rust where it does not. They are the fallback backend when
//! WebGPU is missing and the oracle in parity tests.

pub mod attention;
pub mod backprop;
pub mod conv2d;
pub mod elementwise;
pub mod embedding;
pub mod filter;
pub mod full_attention;
pub mod fused_linear;
pub mod gemm;
pub mod q8;
pub mod reduce;
pub mod rope;
pub mod sample;
pub mod spp;
