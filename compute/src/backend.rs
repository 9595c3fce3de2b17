//! The backend the app computes on: the visitor's GPU when it has one,
//! otherwise the CPU reference, with the reason recorded for the badge.

use crate::{
    error::ComputeError,
    gpu::GpuContext,
    kernels::gemm::{GemmKernel, GemmShape, GemmVariant},
    reference::gemm::gemm_f32_ref,
};

#[derive(Debug, Clone)]
pub enum Backend {
    Gpu(GpuContext),
    /// Why the GPU path is unavailable.
    Cpu(ComputeError),
}

impl Backend {
    /// Tries the GPU and falls back to the CPU; never fails.
    pub async fn detect() -> Self {
        match GpuContext::new().await {
            Ok(ctx) => Backend::Gpu(ctx),
            Err(reason) => Backend::Cpu(reason),
        }
    }

    pub async fn gemm_f32(
        &self,
        a: &[f32],
        b: &[f32],
        shape: GemmShape,
    ) -> Result<Vec<f32>, ComputeError> {
        match self {
            Backend::Gpu(ctx) => {
                GemmKernel::new(ctx, GemmVariant::F32)?
                    .run(ctx, a, b, shape)
                    .await
            }
            Backend::Cpu(_) => gemm_f32_ref(a, b, shape),
        }
    }
}
