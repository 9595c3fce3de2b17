//! conv2d with stride, padding and PixelCNN masks: GPU against candle.

mod common;

use common::{assert_close, gpu, run, tol_f32};
use compute::{
    inputs::uniform_signed,
    kernels::conv2d::{conv2d, Conv2dShape, ConvMask},
    reference::conv2d::conv2d_ref,
};

/// (batch, cin, side, cout, k, stride, pad, mask) as a shape.
type Spec = (usize, usize, usize, usize, usize, usize, usize, ConvMask);

fn shape((batch, cin, hw, cout, k, stride, pad, mask): Spec) -> Conv2dShape {
    Conv2dShape {
        batch,
        cin,
        h: hw,
        w: hw,
        cout,
        k,
        stride,
        pad,
        mask,
    }
}

#[test]
fn conv2d_matches_candle() {
    let Some(exec) = gpu() else { return };
    let cases = [
        shape((1, 1, 1, 1, 1, 1, 0, ConvMask::None)),
        shape((1, 1, 28, 16, 7, 1, 3, ConvMask::TypeA)), // PixelCNN's first layer
        shape((2, 16, 28, 16, 3, 1, 1, ConvMask::TypeB)),
        shape((3, 1, 96, 8, 4, 4, 0, ConvMask::None)), // a strided stem
        shape((1, 5, 13, 3, 3, 2, 1, ConvMask::None)), // stride with padding, odd size
        shape((1, 2, 9, 4, 5, 3, 2, ConvMask::TypeB)),
    ];
    for (i, s) in cases.into_iter().enumerate() {
        let x = uniform_signed(i as u64, s.batch * s.cin * s.h * s.w);
        let w = uniform_signed(50 + i as u64, s.cout * s.cin * s.k * s.k);
        let b = uniform_signed(90 + i as u64, s.cout);
        let got = run(&exec, |rec| {
            let (tx, tw, tb) = (
                rec.exec().upload(&x),
                rec.exec().upload(&w),
                rec.exec().upload(&b),
            );
            conv2d(rec, &tx, &tw, &tb, s).unwrap()
        });
        assert_close(
            &got,
            &conv2d_ref(&x, &w, &b, s).unwrap(),
            tol_f32(s.cin * s.k * s.k),
            &format!("{s:?}"),
        );
    }
}

/// The point of the mask: output pixel j must not depend on input pixel j or
/// any later one in raster order (type A), checked by perturbing inputs.
#[test]
fn type_a_output_ignores_the_current_and_later_pixels() {
    let Some(exec) = gpu() else { return };
    let s = shape((1, 1, 6, 1, 3, 1, 1, ConvMask::TypeA));
    let w = uniform_signed(1, 9);
    let b = [0.25];
    let base = uniform_signed(2, 36);
    let eval = |x: &[f32]| {
        run(&exec, |rec| {
            let (tx, tw, tb) = (
                rec.exec().upload(x),
                rec.exec().upload(&w),
                rec.exec().upload(&b),
            );
            conv2d(rec, &tx, &tw, &tb, s).unwrap()
        })
    };
    let y0 = eval(&base);
    for j in 0..36 {
        let mut x = base.clone();
        x[j] += 1.0;
        let y = eval(&x);
        for out in 0..=j {
            assert_eq!(y[out], y0[out], "output {out} saw input {j}");
        }
    }
}
