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

/// Which backend the visitor asked for: `backend=auto|gpu|cpu` in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// Each model family runs where a calibration pass was faster.
    #[default]
    Auto,
    Gpu,
    Cpu,
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] =
        [BackendChoice::Auto, BackendChoice::Gpu, BackendChoice::Cpu];

    pub fn slug(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Gpu => "gpu",
            BackendChoice::Cpu => "cpu",
        }
    }

    pub fn from_slug(s: &str) -> Option<BackendChoice> {
        BackendChoice::ALL.into_iter().find(|c| c.slug() == s)
    }
}

/// One model family's calibration: the same short pass timed on both
/// backends, the GPU's after a warm-up pass that compiles its pipelines.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// "DETR", "PixelCNN", …
    pub family: &'static str,
    /// What one pass is: "per pass", "per row of 28 pixels", …
    pub unit: &'static str,
    pub cpu_ms: f64,
    pub gpu_ms: f64,
    pub adapter: String,
}

impl Calibration {
    pub fn gpu_wins(&self) -> bool {
        self.gpu_ms < self.cpu_ms
    }
}

impl Backend {
    /// Where a model family runs, given what the visitor asked for and, in
    /// Auto, its calibration (None: not measured, so the GPU is kept).
    pub fn for_family(&self, choice: BackendChoice, calibration: Option<&Calibration>) -> Backend {
        let cpu = |why: String| Backend::Cpu(ComputeError::CpuChosen(why));
        match (self, choice) {
            (Backend::Cpu(_), _) => self.clone(),
            (Backend::Gpu(_), BackendChoice::Cpu) => cpu("you chose the CPU".into()),
            (Backend::Gpu(_), BackendChoice::Gpu) => self.clone(),
            (Backend::Gpu(_), BackendChoice::Auto) => match calibration {
                Some(c) if !c.gpu_wins() => cpu(format!(
                    "the CPU was faster for {}: {:.1} ms against {:.1} ms {}",
                    c.family, c.cpu_ms, c.gpu_ms, c.unit
                )),
                _ => self.clone(),
            },
        }
    }

    pub fn on_gpu(&self) -> bool {
        matches!(self, Backend::Gpu(_))
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration(cpu_ms: f64, gpu_ms: f64) -> Calibration {
        Calibration {
            family: "DETR",
            unit: "per pass",
            cpu_ms,
            gpu_ms,
            adapter: "swiftshader".into(),
        }
    }

    #[test]
    fn choices_parse_and_the_cpu_backend_says_why() {
        for c in BackendChoice::ALL {
            assert_eq!(BackendChoice::from_slug(c.slug()), Some(c));
        }
        assert_eq!(BackendChoice::from_slug("tpu"), None);
        let none = Backend::Cpu(ComputeError::WebGpuUnsupported);
        assert!(!none.for_family(BackendChoice::Gpu, None).on_gpu());
        let slow = calibration(8.0, 1600.0);
        match none.for_family(BackendChoice::Auto, Some(&slow)) {
            Backend::Cpu(ComputeError::WebGpuUnsupported) => {}
            other => panic!("without a GPU the reason stays: {other:?}"),
        }
    }
}
