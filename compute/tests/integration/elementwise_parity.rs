//! Activations and broadcasting add/mul: GPU against the CPU reference.

use crate::common;

use common::{assert_close, gpu, run, TOL_F32_ELEMENTWISE};
use compute::{
    inputs::uniform_signed,
    kernels::elementwise::{activation, add_scaled_row, binary, Activation, Binary},
    reference::elementwise::{activation_ref, add_scaled_row_ref, binary_ref},
};

/// Inputs spread over [-12, 12): both tails of sigmoid, softplus and gelu.
fn inputs(seed: u64, n: usize) -> Vec<f32> {
    uniform_signed(seed, n)
        .into_iter()
        .map(|v| 12.0 * v)
        .collect()
}

#[test]
fn activations_match_reference() {
    let Some(exec) = gpu() else { return };
    for (i, n) in [1usize, 255, 256, 257, 10_000].into_iter().enumerate() {
        let x = inputs(i as u64, n);
        for op in Activation::ALL {
            let got = run(&exec, |rec| {
                let t = rec.exec().upload(&x);
                activation(rec, &t, op)
            });
            assert_close(
                &got,
                &activation_ref(&x, op).unwrap(),
                TOL_F32_ELEMENTWISE,
                &format!("{op:?} n={n}"),
            );
        }
    }
}

#[test]
fn add_scaled_row_accumulates_in_place() {
    let Some(exec) = gpu() else { return };
    let (rows, cols) = (9, 300);
    let m = inputs(20, rows * cols);
    let scale = inputs(21, rows);
    let mut want = inputs(22, cols);
    let acc = exec.upload(&want);
    let (tm, ts) = (exec.upload(&m), exec.upload(&scale));
    let mut rec = exec.begin();
    for row in [0, 8, 3] {
        add_scaled_row(&mut rec, &acc, &tm, &ts, row).unwrap();
        add_scaled_row_ref(&mut want, &m, &scale, row).unwrap();
    }
    exec.submit(rec).unwrap();
    let got = pollster::block_on(exec.read(&acc)).unwrap();
    assert_close(&got, &want, 1e-6, "three rows added");
    let mut rec = exec.begin();
    assert!(add_scaled_row(&mut rec, &acc, &tm, &ts, 9).is_err());
}

#[test]
fn binary_ops_broadcast_a_row() {
    let Some(exec) = gpu() else { return };
    for (rows, cols) in [(1, 1), (1, 300), (7, 33), (300, 5)] {
        let a = inputs(10, rows * cols);
        for b_len in [cols, rows * cols] {
            let b = inputs(11, b_len);
            for op in [Binary::Add, Binary::Mul] {
                let got = run(&exec, |rec| {
                    let (ta, tb) = (rec.exec().upload(&a), rec.exec().upload(&b));
                    binary(rec, &ta, &tb, op).unwrap()
                });
                assert_close(
                    &got,
                    &binary_ref(&a, &b, op).unwrap(),
                    0.0,
                    &format!("{op:?} {rows}x{cols} b={b_len}"),
                );
            }
        }
    }
}

#[test]
fn binary_rejects_a_non_dividing_operand() {
    let Some(exec) = gpu() else { return };
    let (a, b) = (exec.upload(&[1.0; 10]), exec.upload(&[1.0; 3]));
    let mut rec = exec.begin();
    assert!(binary(&mut rec, &a, &b, Binary::Add).is_err());
    assert_eq!(rec.dispatches, 0);
}
