//! Spatial pyramid pooling: many windows of one feature map in one
//! dispatch, GPU against the CPU reference. Max is exact, so they agree to
//! the bit.

use crate::common;

use common::{assert_close, gpu, run};
use compute::{
    inputs::uniform_signed,
    kernels::spp::{spp_max, SppShape, Window},
    reference::spp::spp_max_ref,
};

/// Seeded windows of every awkward kind: 1×1, thinner than the finest
/// grid, the whole map, and random ones.
fn windows(s: SppShape, count: usize, seed: u64) -> Vec<Window> {
    let r = uniform_signed(seed, 4 * count);
    let pick = |v: f32, n: usize| (((v + 1.0) / 2.0 * n as f32) as usize).min(n - 1);
    let mut out = vec![
        Window {
            x0: 0,
            y0: 0,
            x1: s.width,
            y1: s.height,
        },
        Window {
            x0: s.width - 1,
            y0: s.height - 1,
            x1: s.width,
            y1: s.height,
        },
        Window {
            x0: 1,
            y0: 0,
            x1: 3,
            y1: s.height,
        },
    ];
    out.extend(r.chunks(4).map(|c| {
        let (xa, xb) = (pick(c[0], s.width), pick(c[1], s.width));
        let (ya, yb) = (pick(c[2], s.height), pick(c[3], s.height));
        Window {
            x0: xa.min(xb),
            y0: ya.min(yb),
            x1: xa.max(xb) + 1,
            y1: ya.max(yb) + 1,
        }
    }));
    out.truncate(count);
    out
}

#[test]
fn spp_max_matches_the_reference_on_many_windows() {
    let Some(exec) = gpu() else { return };
    let cases = [
        SppShape {
            channels: 32,
            height: 23,
            width: 37,
            levels: &[1, 2, 4],
        },
        SppShape {
            channels: 3,
            height: 7,
            width: 7,
            levels: &[4],
        },
        SppShape {
            channels: 5,
            height: 13,
            width: 9,
            levels: &[1, 3, 6, 2],
        },
    ];
    for (i, s) in cases.into_iter().enumerate() {
        let features = uniform_signed(10 + i as u64, s.height * s.width * s.channels);
        let ws = windows(s, 2000, 20 + i as u64);
        let want = spp_max_ref(&features, &ws, s).unwrap();
        assert_eq!(want.len(), ws.len() * s.pooled_len());
        let got = run(&exec, |rec| {
            let f = rec.exec().upload(&features);
            spp_max(rec, &f, &ws, s).unwrap()
        });
        assert_close(&got, &want, 0.0, &format!("{s:?}"));
    }
}

/// The pooled vector of the whole map at level 1 is each channel's maximum,
/// and a finer level's bins each hold a value of their own region.
#[test]
fn spp_reference_pools_what_it_should() {
    let s = SppShape {
        channels: 2,
        height: 3,
        width: 4,
        levels: &[1, 2],
    };
    // Channel 0 counts up in raster order, channel 1 counts down.
    let features: Vec<f32> = (0..12).flat_map(|i| [i as f32, -(i as f32)]).collect();
    let all = Window {
        x0: 0,
        y0: 0,
        x1: 4,
        y1: 3,
    };
    let got = spp_max_ref(&features, &[all], s).unwrap();
    // Level 1: max 11 and max 0. Level 2 over 4×3: columns [0,2) [2,4),
    // rows [0,2) [1,3) (⌈3/2⌉ = 2: the middle row is in both).
    assert_eq!(got, [11.0, 0.0, 5.0, 0.0, 7.0, -2.0, 9.0, -4.0, 11.0, -6.0]);
}
