//! The backend the app computes on: the visitor's GPU when it has one,
//! otherwise the CPU reference, with the reason recorded for the badge.

use std::rc::Rc;

use crate::{
    error::ComputeError,
    executor::Executor,
    gpu::GpuContext,
    kernels::gemm::{gemm_f32, GemmShape, GemmVariant},
    reference::gemm::gemm_f32_ref,
};

#[derive(Clone)]
pub enum Backend {
    /// Shared so every widget uses one set of cached pipelines and buffers.
    Gpu(Rc<Executor>),
    /// Why the GPU path is unavailable.
    Cpu(ComputeError),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Gpu(exec) => write!(f, "Gpu({:?})", exec.ctx()),
            Backend::Cpu(reason) => write!(f, "Cpu({reason})"),
        }
    }
}

impl Backend {
    /// Tries the GPU and falls back to the CPU; never fails.
    pub async fn detect() -> Self {
        match GpuContext::new().await {
            Ok(ctx) => Backend::Gpu(Rc::new(Executor::new(ctx))),
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
            Backend::Gpu(exec) => {
                shape.check(a.len(), b.len())?;
                let (a, b) = (exec.upload(a), exec.upload(b));
                let mut rec = exec.begin();
                let c = gemm_f32(&mut rec, &a, &b, shape, GemmVariant::F32Tiled)?;
                exec.submit(rec)?;
                exec.read(&c).await
            }
            Backend::Cpu(_) => gemm_f32_ref(a, b, shape),
        }
    }
}
