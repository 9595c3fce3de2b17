//! softmax, layernorm and rmsnorm: GPU against the CPU reference.

use crate::common;

use common::{assert_close, gpu, run, TOL_F32_ELEMENTWISE};
use compute::{
    inputs::uniform_signed,
    kernels::reduce::{layernorm, rmsnorm, softmax, Rows},
    reference::reduce::{layernorm_ref, rmsnorm_ref, softmax_ref},
};

/// One row, rows shorter than the workgroup, a long row, a row past 256
/// that is not a multiple of it, and many rows.
const SHAPES: [(usize, usize); 6] = [(1, 1), (1, 5000), (3, 7), (5, 257), (64, 256), (1000, 3)];

fn scaled(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    uniform_signed(seed, n)
        .into_iter()
        .map(|v| v * scale)
        .collect()
}

#[test]
fn softmax_matches_reference() {
    let Some(exec) = gpu() else { return };
    for (rows, cols) in SHAPES {
        let shape = Rows { rows, cols };
        let x = scaled(1, rows * cols, 20.0); // large logits: exercises the max shift
        let got = run(&exec, |rec| {
            let t = rec.exec().upload(&x);
            softmax(rec, &t, shape).unwrap()
        });
        assert_close(
            &got,
            &softmax_ref(&x, shape),
            TOL_F32_ELEMENTWISE,
            &format!("softmax {shape:?}"),
        );
        for row in got.chunks(cols) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }
}

#[test]
fn norms_match_reference() {
    let Some(exec) = gpu() else { return };
    for (rows, cols) in SHAPES {
        let shape = Rows { rows, cols };
        let x = scaled(2, rows * cols, 3.0);
        let (g, b) = (scaled(3, cols, 2.0), scaled(4, cols, 1.0));
        let ln = run(&exec, |rec| {
            let (tx, tg, tb) = (
                rec.exec().upload(&x),
                rec.exec().upload(&g),
                rec.exec().upload(&b),
            );
            layernorm(rec, &tx, &tg, &tb, shape, 1e-5).unwrap()
        });
        // Normalised values reach |x - mean| / std ≈ √cols for one outlier; scale the tolerance.
        assert_close(
            &ln,
            &layernorm_ref(&x, &g, &b, shape, 1e-5),
            1e-4,
            &format!("layernorm {shape:?}"),
        );
        let rms = run(&exec, |rec| {
            let (tx, tg) = (rec.exec().upload(&x), rec.exec().upload(&g));
            rmsnorm(rec, &tx, &tg, shape, 1e-6).unwrap()
        });
        assert_close(
            &rms,
            &rmsnorm_ref(&x, &g, shape, 1e-6),
            1e-4,
            &format!("rmsnorm {shape:?}"),
        );
    }
}

#[test]
fn wrong_gain_length_is_a_shape_error() {
    let Some(exec) = gpu() else { return };
    let (x, g) = (exec.upload(&[1.0; 12]), exec.upload(&[1.0; 3]));
    let mut rec = exec.begin();
    assert!(rmsnorm(&mut rec, &x, &g, Rows { rows: 3, cols: 4 }, 1e-6).is_err());
    assert_eq!(rec.dispatches, 0);
}
