//! conv2d with stride, padding and PixelCNN masks: GPU against candle.

use crate::common;

use common::{assert_close, gpu, run, tol_f32};
use compute::{
    inputs::uniform_signed,
    kernels::{
        conv2d::{conv2d, conv2d_at, conv2d_relu_cout8, Conv2dShape, ConvAt, ConvLayout, ConvMask},
        elementwise::Activation,
    },
    reference::{conv2d::conv2d_ref, elementwise::activation_ref},
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
fn conv2d_relu_cout8_matches_candle_in_both_layouts() {
    let Some(exec) = gpu() else { return };
    let cases = [
        shape((1, 1, 96, 16, 3, 2, 1, ConvMask::None)), // DETR's backbone
        shape((1, 64, 12, 64, 3, 1, 1, ConvMask::None)),
        shape((2, 3, 13, 8, 3, 2, 1, ConvMask::None)), // odd width: a partial quad
        shape((1, 2, 10, 16, 5, 1, 0, ConvMask::None)),
    ];
    for (i, s) in cases.into_iter().enumerate() {
        let x = uniform_signed(i as u64, s.batch * s.cin * s.h * s.w);
        let w = uniform_signed(50 + i as u64, s.cout * s.cin * s.k * s.k);
        let b = uniform_signed(90 + i as u64, s.cout);
        let want = activation_ref(&conv2d_ref(&x, &w, &b, s).unwrap(), Activation::Relu).unwrap();
        let (ho, wo) = s.out_hw();
        let plane = ho * wo;
        for layout in [ConvLayout::ChannelsFirst, ConvLayout::ChannelsLast] {
            let got = run(&exec, |rec| {
                let (tx, tw, tb) = (
                    rec.exec().upload(&x),
                    rec.exec().upload(&w),
                    rec.exec().upload(&b),
                );
                conv2d_relu_cout8(rec, &tx, &tw, &tb, s, layout).unwrap()
            });
            let got = match layout {
                ConvLayout::ChannelsFirst => got,
                // Back to [batch, cout, ho, wo] to compare.
                ConvLayout::ChannelsLast => (0..got.len())
                    .map(|n| {
                        let (b, o, px) = (n / (s.cout * plane), n / plane % s.cout, n % plane);
                        got[(b * plane + px) * s.cout + o]
                    })
                    .collect(),
            };
            assert_close(
                &got,
                &want,
                tol_f32(s.cin * s.k * s.k),
                &format!("{s:?} {layout:?}"),
            );
        }
    }
    // Masks and channel counts it does not handle are typed errors.
    let bad = [
        shape((1, 1, 8, 12, 3, 1, 1, ConvMask::None)),
        shape((1, 1, 8, 8, 3, 1, 1, ConvMask::TypeB)),
    ];
    for s in bad {
        let (x, w, b) = (
            exec.zeros(s.batch * s.cin * s.h * s.w),
            exec.zeros(s.cout * s.cin * s.k * s.k),
            exec.zeros(s.cout),
        );
        let mut rec = exec.begin();
        assert!(conv2d_relu_cout8(&mut rec, &x, &w, &b, s, ConvLayout::ChannelsFirst).is_err());
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

/// conv2d_at writes one position of every channel, as the full convolution
/// would (with relu before, residual and relu after), and leaves the rest.
#[test]
fn conv2d_at_matches_candle_at_its_position() {
    let Some(exec) = gpu() else { return };
    let cases = [
        (
            shape((1, 1, 28, 8, 7, 1, 3, ConvMask::TypeA)),
            ConvAt::default(),
        ),
        (
            shape((1, 6, 11, 6, 3, 1, 1, ConvMask::TypeB)),
            ConvAt {
                pos: 0,
                relu_in: true,
                residual: true,
                relu_out: false,
            },
        ),
        (
            shape((1, 5, 9, 3, 1, 1, 0, ConvMask::None)),
            ConvAt {
                pos: 0,
                relu_in: true,
                residual: false,
                relu_out: true,
            },
        ),
    ];
    for (n, (s, flags)) in cases.into_iter().enumerate() {
        let x = uniform_signed(n as u64, s.cin * s.h * s.w);
        let w = uniform_signed(40 + n as u64, s.cout * s.cin * s.k * s.k);
        let b = uniform_signed(80 + n as u64, s.cout);
        let before = uniform_signed(120 + n as u64, s.cout * s.h * s.w);
        let relu = |v: &[f32]| v.iter().map(|a| a.max(0.0)).collect::<Vec<_>>();
        let input = if flags.relu_in { relu(&x) } else { x.clone() };
        let full = conv2d_ref(&input, &w, &b, s).unwrap();
        let plane = s.h * s.w;
        for pos in [0, 1, s.w, plane / 2 + 3, plane - 1] {
            let got = run(&exec, |rec| {
                let e = rec.exec();
                let (tx, tw, tb, out) =
                    (e.upload(&x), e.upload(&w), e.upload(&b), e.upload(&before));
                conv2d_at(rec, &tx, &tw, &tb, &out, s, ConvAt { pos, ..flags }).unwrap();
                out
            });
            let mut want = before.clone();
            for o in 0..s.cout {
                let mut v = full[o * plane + pos];
                if flags.residual {
                    v += x[o * plane + pos];
                }
                if flags.relu_out {
                    v = v.max(0.0);
                }
                want[o * plane + pos] = v;
            }
            assert_close(
                &got,
                &want,
                tol_f32(s.cin * s.k * s.k),
                &format!("{s:?} at {pos}"),
            );
        }
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
