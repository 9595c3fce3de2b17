//! The benchmark suite itself, at its small size: every GPU row agrees with
//! its CPU reference, and every row has timings and a ratio.

use compute::{
    bench::{run_suite, SuiteSize},
    Backend, ComputeError,
};

use crate::common;

#[test]
fn small_suite_runs_and_every_gpu_row_matches_the_reference() {
    let Some(exec) = common::gpu() else { return };
    let backend = Backend::Gpu(exec.into());
    let mut seen = 0;
    let rows = pollster::block_on(run_suite(
        &backend,
        SuiteSize::Small,
        "native",
        |done, total, _| {
            seen = done;
            assert!(done <= total);
        },
    ))
    .unwrap();
    assert_eq!(seen, rows.len());
    assert_eq!(
        rows.len(),
        24,
        "11 cases, a CPU and a GPU row each, and the old CPU path for the 2 Q8 cases"
    );
    for row in &rows {
        assert!(
            row.ms_median > 0.0 && row.gflops > 0.0 && row.gbps > 0.0 && row.ratio_vs_cpu > 0.0,
            "{row:?}"
        );
        assert!(row.max_abs_err <= row.tolerance, "{row:?}");
    }
}

#[test]
fn cpu_backend_gives_cpu_rows_only() {
    let backend = Backend::Cpu(ComputeError::WebGpuUnsupported);
    let rows = pollster::block_on(run_suite(
        &backend,
        SuiteSize::Small,
        "native",
        |_, _, _| {},
    ))
    .unwrap();
    assert_eq!(rows.len(), 13, "the Q8 cases also time the old CPU path");
    let current: Vec<_> = rows.iter().filter(|r| r.backend == "cpu: native").collect();
    assert_eq!(current.len(), 11);
    assert!(current.iter().all(|r| r.ratio_vs_cpu == 1.0));
}
