//! Shared by the parity tests: the GPU (or a failure saying why there is
//! none), a one-shot runner, and the comparison with named tolerances.

use compute::{executor::Creations, Executor, GpuContext, GpuTensor, Recording};

/// f32 kernels whose outputs sum k products of magnitude below 1 differ from
/// the reference only in summation order: the error grows about like k·ε.
pub fn tol_f32(k: usize) -> f32 {
    1e-6 * k as f32 + 1e-6
}

/// Elementwise and normalising kernels: a few ulps, plus transcendental
/// functions that differ between the GPU's and Rust's libm.
pub const TOL_F32_ELEMENTWISE: f32 = 2e-5;

/// An executor on the GPU. A missing adapter fails the test, unless a
/// developer opts out with GLASSBOX_ALLOW_NO_GPU=1; under CI=true it fails
/// regardless.
pub fn gpu() -> Option<Executor> {
    match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => Some(Executor::new(ctx)),
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            let opted_out = std::env::var("GLASSBOX_ALLOW_NO_GPU").is_ok_and(|v| v == "1");
            assert!(
                opted_out && !ci,
                "no GPU adapter ({e}): install mesa-vulkan-drivers for lavapipe \
                 (outside CI, GLASSBOX_ALLOW_NO_GPU=1 skips the GPU tests)"
            );
            eprintln!("SKIPPED by GLASSBOX_ALLOW_NO_GPU=1: no GPU adapter ({e})");
            None
        }
    }
}

/// What `steps` runs of `step` create (buffers, bind groups) after two
/// warm-up runs: a steady-state workload creates nothing.
pub fn created_when_warm(exec: &Executor, steps: usize, mut step: impl FnMut()) -> Creations {
    step();
    step();
    let before = exec.creations();
    for _ in 0..steps {
        step();
    }
    exec.creations() - before
}

/// Records what `build` dispatches, submits it, and reads its result back.
pub fn run(exec: &Executor, build: impl FnOnce(&mut Recording<'_>) -> GpuTensor) -> Vec<f32> {
    let mut rec = exec.begin();
    let out = build(&mut rec);
    exec.submit(rec).unwrap();
    pollster::block_on(exec.read(&out)).unwrap()
}

pub fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let (worst, i) = got
        .iter()
        .zip(want)
        .enumerate()
        .map(|(i, (g, w))| {
            (
                if (g - w).is_nan() {
                    f32::INFINITY
                } else {
                    (g - w).abs()
                },
                i,
            )
        })
        .fold((0.0f32, 0), |acc, x| if x.0 > acc.0 { x } else { acc });
    assert!(
        worst <= tol,
        "{what}: max abs error {worst} at {i} (got {}, want {}), tolerance {tol}",
        got[i],
        want[i]
    );
}
