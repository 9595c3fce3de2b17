//! CPU implementations of every kernel, built on candle-core. They are the
//! fallback backend when WebGPU is missing and the oracle in parity tests.

pub mod gemm;
