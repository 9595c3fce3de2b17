//! gemm on the GPU (lavapipe natively) against the candle CPU reference.

use crate::common;

use common::{assert_close, gpu, run};
use compute::{
    inputs::uniform_signed,
    kernels::gemm::{gemm_f32, GemmShape, GemmVariant, BLOCK_M, BLOCK_N},
    reference::gemm::gemm_f32_ref,
    selftest::{run_selftest, SelfTestProblem, SELFTEST_TOLERANCE},
    Backend, ComputeError,
};

#[test]
fn gemm_f32_matches_reference_on_awkward_shapes() {
    let Some(exec) = gpu() else { return };
    let (bm, bn) = (BLOCK_M as usize, BLOCK_N as usize);
    let shapes = [
        (1, 1, 1),
        (1, 300, 1),              // one row, long k
        (bm, 16, bn),             // exactly one block
        (bm + 1, 15, 2 * bn + 3), // ragged on every side
        (3, 1000, 5),             // long k, tiny output
        (130, 7, 97),
        (64, 64, 64),
    ];
    for variant in [GemmVariant::F32Tiled, GemmVariant::F32Naive] {
        for (i, &(m, k, n)) in shapes.iter().enumerate() {
            let shape = GemmShape { m, k, n };
            let a = uniform_signed(100 + i as u64, m * k);
            let bm = uniform_signed(200 + i as u64, k * n);
            let got = run(&exec, |rec| {
                let (ta, tb) = (rec.exec().upload(&a), rec.exec().upload(&bm));
                gemm_f32(rec, &ta, &tb, shape, variant).unwrap()
            });
            let want = gemm_f32_ref(&a, &bm, shape).unwrap();
            assert_close(
                &got,
                &want,
                common::tol_f32(k),
                &format!("{variant:?} {shape:?}"),
            );
        }
    }
}

#[test]
fn gemm_f32_rejects_mismatched_operands_without_touching_the_gpu() {
    let Some(exec) = gpu() else { return };
    let (a, b) = (exec.upload(&[0.0; 3]), exec.upload(&[0.0; 4]));
    let mut rec = exec.begin();
    let err = gemm_f32(
        &mut rec,
        &a,
        &b,
        GemmShape { m: 2, k: 2, n: 2 },
        GemmVariant::F32Tiled,
    )
    .unwrap_err();
    assert!(matches!(err, ComputeError::Shape { .. }), "{err}");
    assert_eq!(rec.dispatches, 0);
    exec.ctx().check().unwrap();
}

#[test]
fn selftest_on_the_gpu_passes_with_the_app_default() {
    let Some(exec) = gpu() else { return };
    let problem = SelfTestProblem {
        shape: GemmShape {
            m: 96,
            k: 128,
            n: 80,
        },
        seed: 1,
    };
    let report = pollster::block_on(run_selftest(&Backend::Gpu(exec.into()), problem)).unwrap();
    assert!(
        report.passed(),
        "max abs error {} over {SELFTEST_TOLERANCE}",
        report.max_abs_error
    );
    assert!(
        report.checksum.abs() > 1.0,
        "an all-zero output would pass trivially"
    );
}

#[test]
fn gpu_summary_names_an_adapter_and_webgpu_limits() {
    let Some(exec) = gpu() else { return };
    let summary = exec.ctx().summary();
    assert!(!summary.adapter_name.is_empty());
    let storage = summary
        .limits
        .iter()
        .find(|(name, _)| *name == "maxComputeWorkgroupStorageSize")
        .unwrap()
        .1;
    // We ask for WebGPU's default limits, so what passes here fits any browser.
    assert_eq!(storage, 16384);
}
