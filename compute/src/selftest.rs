//! The `/gpu` self-test: one seeded multiply on the live backend, checked
//! against the CPU reference.

use web_time::Instant;

use crate::{
    backend::Backend, error::ComputeError, inputs::uniform_signed, kernels::gemm::GemmShape,
    reference::gemm::gemm_f32_ref,
};

/// Largest |GPU − CPU| accepted for the self-test's f32 multiply.
/// Inputs are in [-1, 1) and k ≤ 512, so the sums stay small and a correct
/// kernel differs from candle only by summation order (about 1e-6).
pub const SELFTEST_TOLERANCE: f32 = 1e-4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfTestProblem {
    pub shape: GemmShape,
    pub seed: u64,
}

impl SelfTestProblem {
    /// The operands, fully determined by the seed.
    pub fn operands(&self) -> (Vec<f32>, Vec<f32>) {
        let GemmShape { m, k, n } = self.shape;
        (
            uniform_signed(self.seed, m * k),
            uniform_signed(self.seed ^ 0xB0B0_B0B0, k * n),
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelfTestReport {
    pub problem: SelfTestProblem,
    pub max_abs_error: f32,
    /// Sum of all outputs of the backend, so two runs can be compared at a glance.
    pub checksum: f64,
    /// Wall time of the backend call: upload, pipeline, dispatch and readback.
    pub backend_ms: f64,
    pub reference_ms: f64,
}

impl SelfTestReport {
    pub fn passed(&self) -> bool {
        self.max_abs_error < SELFTEST_TOLERANCE
    }
}

pub async fn run_selftest(
    backend: &Backend,
    problem: SelfTestProblem,
) -> Result<SelfTestReport, ComputeError> {
    let (a, b) = problem.operands();
    let start = Instant::now();
    let got = backend.gemm_f32(&a, &b, problem.shape).await?;
    let backend_ms = start.elapsed().as_secs_f64() * 1e3;
    let start = Instant::now();
    let want = gemm_f32_ref(&a, &b, problem.shape)?;
    let reference_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(SelfTestReport {
        problem,
        max_abs_error: max_abs_diff(&got, &want),
        checksum: got.iter().map(|&v| v as f64).sum(),
        backend_ms,
        reference_ms,
    })
}

/// Largest elementwise |a − b|; NaN anywhere counts as infinitely wrong.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = (x - y).abs();
            if d.is_nan() {
                f32::INFINITY
            } else {
                d
            }
        })
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_abs_diff_catches_nan_and_length() {
        assert_eq!(max_abs_diff(&[1.0, 2.0], &[1.0, 2.5]), 0.5);
        assert_eq!(max_abs_diff(&[f32::NAN], &[0.0]), f32::INFINITY);
        assert_eq!(max_abs_diff(&[1.0], &[1.0, 2.0]), f32::INFINITY);
    }

    #[test]
    fn cpu_backend_selftest_passes_exactly() {
        let backend = Backend::Cpu(ComputeError::WebGpuUnsupported);
        let problem = SelfTestProblem {
            shape: GemmShape { m: 5, k: 7, n: 3 },
            seed: 1,
        };
        let report = pollster::block_on(run_selftest(&backend, problem)).unwrap();
        assert_eq!(report.max_abs_error, 0.0);
        assert!(report.passed());
    }
}
