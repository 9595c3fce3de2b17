//! Q8_0 linear layers (GEMV and tiled GEMM): GPU against candle on the
//! dequantized weights.

use crate::common;

use common::{assert_close, gpu, run, tol_f32};
use compute::{
    inputs::uniform_signed,
    kernels::q8::{gemv_q8_rows, gemv_q8_short, linear_q8, GpuQ8},
    reference::q8::linear_q8_ref,
    weights::Q8Matrix,
};

#[test]
fn linear_q8_matches_reference() {
    let Some(exec) = gpu() else { return };
    // (m, rows, cols): one row; cols below, at and past a block; long rows;
    // batch sizes that are not tile multiples.
    let cases = [
        (1, 1, 1),
        (1, 7, 31),
        (1, 64, 32),
        (1, 500, 784),
        (1, 3, 5000),
        (2, 5, 33),
        (17, 33, 100),
        (196, 64, 64),
        (4, 784, 500),
        (130, 70, 45),
    ];
    for (i, &(m, rows, cols)) in cases.iter().enumerate() {
        let w = Q8Matrix::quantize(&uniform_signed(i as u64, rows * cols), rows, cols);
        let x = uniform_signed(100 + i as u64, m * cols);
        let got = run(&exec, |rec| {
            let (gw, tx) = (GpuQ8::upload(rec.exec(), &w), rec.exec().upload(&x));
            linear_q8(rec, &tx, &gw, m).unwrap()
        });
        assert_close(
            &got,
            &linear_q8_ref(&x, &w, m).unwrap(),
            tol_f32(cols),
            &format!("m={m} {rows}x{cols}"),
        );
    }
}

#[test]
fn gemv_over_some_rows_matches_those_rows_of_the_full_product() {
    let Some(exec) = gpu() else { return };
    let (rows, cols) = (784, 500);
    let w = Q8Matrix::quantize(&uniform_signed(5, rows * cols), rows, cols);
    let x = uniform_signed(6, cols);
    let full = linear_q8_ref(&x, &w, 1).unwrap();
    for (first, count) in [(0, 1), (783, 1), (100, 37), (0, 784)] {
        let got = run(&exec, |rec| {
            let (gw, tx) = (GpuQ8::upload(rec.exec(), &w), rec.exec().upload(&x));
            gemv_q8_rows(rec, &tx, &gw, first, count).unwrap()
        });
        assert_close(
            &got,
            &full[first..first + count],
            tol_f32(cols),
            &format!("rows {first}+{count}"),
        );
    }
    let gw = GpuQ8::upload(&exec, &w);
    let tx = exec.upload(&x);
    let mut rec = exec.begin();
    assert!(
        gemv_q8_rows(&mut rec, &tx, &gw, 784, 1).is_err(),
        "past the last row"
    );
}

#[test]
fn short_row_gemv_matches_reference() {
    let Some(exec) = gpu() else { return };
    // Awkward widths (padding inside a block), and more rows than one workgroup.
    for (rows, cols) in [(1, 7), (16, 64), (300, 45), (512, 64), (64, 512)] {
        let w = Q8Matrix::quantize(&uniform_signed(rows as u64, rows * cols), rows, cols);
        let x = uniform_signed(cols as u64 + 1, cols);
        let got = run(&exec, |rec| {
            let (gw, tx) = (GpuQ8::upload(rec.exec(), &w), rec.exec().upload(&x));
            gemv_q8_short(rec, &tx, &gw).unwrap()
        });
        let want = linear_q8_ref(&x, &w, 1).unwrap();
        assert_close(&got, &want, tol_f32(cols), &format!("{rows}x{cols}"));
    }
    let w = GpuQ8::upload(&exec, &Q8Matrix::quantize(&[0.0; 64], 2, 32));
    let mut rec = exec.begin();
    assert!(gemv_q8_short(&mut rec, &exec.upload(&[0.0; 31]), &w).is_err());
}

#[test]
fn gemv_reads_each_weight_byte_once() {
    // The kernel's loop visits each (row, block) once; the bytes it moves are
    // the weights plus x and y, within 10% of the weights for a real layer.
    let Some(exec) = gpu() else { return };
    let w = GpuQ8::upload(
        &exec,
        &Q8Matrix::quantize(&uniform_signed(1, 500 * 784), 500, 784),
    );
    let moved = w.weight_bytes() + 4 * (784 + 500);
    assert_eq!(w.weight_bytes(), 500 * 800 + 4 * 500 * 25);
    assert!((moved as f64) < 1.1 * w.weight_bytes() as f64);
}

#[test]
fn wrong_input_length_is_a_shape_error() {
    let Some(exec) = gpu() else { return };
    let w = GpuQ8::upload(&exec, &Q8Matrix::quantize(&[0.5; 64], 2, 32));
    let x = exec.upload(&[1.0; 31]);
    let mut rec = exec.begin();
    assert!(linear_q8(&mut rec, &x, &w, 1).is_err());
}
