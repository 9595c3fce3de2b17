//! Driver for `shaders/spp.wgsl`: spatial pyramid pooling of many windows
//! of one feature map in one dispatch (chapter 9's SPP-net).

use crate::{
    error::ComputeError,
    executor::{groups_1d, GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "spp",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/spp.wgsl")),
    workgroup: 256,
    constants: &[],
};

/// At most this many pyramid levels (the shader's `vec4` of levels).
pub const MAX_LEVELS: usize = 4;

/// Bin `i` of `n` over a side of length `a`: cells [⌊i·a/n⌋, ⌈(i+1)·a/n⌉)
/// from the window's start. Never empty for a ≥ 1, and together the bins
/// cover every cell; the shader computes the same.
pub fn bin_bounds(i: usize, n: usize, a: usize) -> (usize, usize) {
    (i * a / n, ((i + 1) * a).div_ceil(n))
}

/// A window of the feature map in feature cells, half-open: columns
/// x0..x1, rows y0..y1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

/// A feature map (channels last) and the pyramid pooled over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SppShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Grid sides, coarsest first, e.g. [1, 2, 4]: 21 bins.
    pub levels: &'static [usize],
}

impl SppShape {
    /// Σ n² over the levels.
    pub fn bins(&self) -> usize {
        self.levels.iter().map(|n| n * n).sum()
    }

    /// The pooled vector's length per window: bins × channels.
    pub fn pooled_len(&self) -> usize {
        self.bins() * self.channels
    }

    pub fn check(&self, features: usize, windows: &[Window]) -> Result<(), ComputeError> {
        let bad = |detail: String| Err(ComputeError::Shape { op: "spp", detail });
        if self.channels == 0 || self.height == 0 || self.width == 0 {
            return bad(format!("empty feature map {self:?}"));
        }
        if self.levels.is_empty() || self.levels.len() > MAX_LEVELS || self.levels.contains(&0) {
            return bad(format!(
                "levels {:?}: 1 to {MAX_LEVELS} grids, each at least 1×1",
                self.levels
            ));
        }
        if features != self.height * self.width * self.channels {
            return bad(format!("{features} features do not fit {self:?}"));
        }
        if let Some(w) = windows
            .iter()
            .find(|w| w.x0 >= w.x1 || w.y0 >= w.y1 || w.x1 > self.width || w.y1 > self.height)
        {
            return bad(format!(
                "window {w:?} is empty or leaves the {}×{} map",
                self.width, self.height
            ));
        }
        Ok(())
    }
}

/// Every window's pyramid, max-pooled: [windows, bins, channels] from
/// `features` [height, width, channels].
pub fn spp_max(
    rec: &mut Recording<'_>,
    features: &GpuTensor,
    windows: &[Window],
    s: SppShape,
) -> Result<GpuTensor, ComputeError> {
    s.check(features.len, windows)?;
    if windows.is_empty() {
        return Err(ComputeError::Shape {
            op: "spp",
            detail: "no windows".into(),
        });
    }
    let n = windows.len() * s.pooled_len();
    let corners: Vec<u32> = windows
        .iter()
        .flat_map(|w| [w.x0, w.y0, w.x1, w.y1].map(|v| v as u32))
        .collect();
    let corners = rec.exec().upload_u32(&corners);
    let out = rec.exec().empty(n);
    let mut levels = [1u32; MAX_LEVELS];
    for (slot, &l) in levels.iter_mut().zip(s.levels) {
        *slot = l as u32;
    }
    let params = [
        levels[0],
        levels[1],
        levels[2],
        levels[3],
        s.levels.len() as u32,
        s.channels as u32,
        s.height as u32,
        s.width as u32,
        windows.len() as u32,
        s.bins() as u32,
        0,
        0,
    ];
    let bindings = [(1, features), (2, &corners), (3, &out)];
    rec.dispatch(
        &KERNEL,
        "spp_max",
        &bindings,
        &params,
        groups_1d(n, KERNEL.workgroup),
    );
    Ok(out)
}

/// Each window (in pixels) of a `width` × `height` grey image cropped and
/// resized bilinearly to `tw` × `th`: [windows, th, tw], R-CNN's input.
pub fn crop_resize(
    rec: &mut Recording<'_>,
    image: &GpuTensor,
    width: usize,
    height: usize,
    windows: &[crate::models::spp::windows::PixelWindow],
    tw: usize,
    th: usize,
) -> Result<GpuTensor, ComputeError> {
    crate::models::spp::model::check_windows(windows, width, height)?;
    if image.len != width * height || tw == 0 || th == 0 {
        return Err(ComputeError::Shape {
            op: "crop_resize",
            detail: format!(
                "{} pixels for {width} × {height}, to {tw} × {th}",
                image.len
            ),
        });
    }
    let corners: Vec<u32> = windows
        .iter()
        .flat_map(|w| [w.x, w.y, w.x + w.w, w.y + w.h].map(|v| v as u32))
        .collect();
    let corners = rec.exec().upload_u32(&corners);
    let n = windows.len() * tw * th;
    let out = rec.exec().empty(n);
    let params = [
        1,
        1,
        1,
        1,
        0,
        1,
        height as u32,
        width as u32,
        windows.len() as u32,
        0,
        tw as u32,
        th as u32,
    ];
    let bindings = [(1, image), (2, &corners), (3, &out)];
    rec.dispatch(
        &KERNEL,
        "crop_resize",
        &bindings,
        &params,
        groups_1d(n, KERNEL.workgroup),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which of a side's cells some bin covers.
    fn covered(a: usize, n: usize, bin: impl Fn(usize) -> (usize, usize)) -> usize {
        let mut hit = vec![false; a];
        for i in 0..n {
            let (lo, hi) = bin(i);
            for h in hit.iter_mut().take(hi.min(a)).skip(lo) {
                *h = true;
            }
        }
        hit.iter().filter(|&&h| h).count()
    }

    #[test]
    fn bins_cover_every_cell_of_awkward_sides() {
        for a in 1..=40 {
            for n in 1..=6 {
                assert_eq!(covered(a, n, |i| bin_bounds(i, n, a)), a, "a {a}, n {n}");
                for i in 0..n {
                    let (lo, hi) = bin_bounds(i, n, a);
                    assert!(lo < hi && hi <= a, "bin {i} of {n} over {a}: {lo}..{hi}");
                }
            }
        }
    }

    #[test]
    fn the_common_window_and_stride_rule_misses_cells() {
        // window ⌈a/n⌉, stride ⌊a/n⌋: for a = 7, n = 4, bins [0,2) … [3,5).
        let (a, n) = (7, 4);
        let naive = |i: usize| (i * (a / n), i * (a / n) + a.div_ceil(n));
        assert_eq!(covered(a, n, naive), 5);
        assert_eq!(covered(a, n, |i| bin_bounds(i, n, a)), 7);
    }

    #[test]
    fn bad_shapes_and_windows_are_typed_errors() {
        let s = SppShape {
            channels: 2,
            height: 3,
            width: 4,
            levels: &[1, 2],
        };
        let ok = Window {
            x0: 0,
            y0: 0,
            x1: 4,
            y1: 3,
        };
        assert!(s.check(24, &[ok]).is_ok());
        assert!(s.check(23, &[ok]).is_err());
        for w in [
            Window { x1: 5, ..ok },
            Window { x0: 4, ..ok },
            Window { y0: 1, y1: 1, ..ok },
        ] {
            assert!(s.check(24, &[w]).is_err(), "{w:?}");
        }
        for levels in [&[][..], &[1, 0], &[1, 2, 3, 4, 5]] {
            assert!(SppShape { levels, ..s }.check(24, &[ok]).is_err());
        }
        assert_eq!(
            SppShape {
                levels: &[1, 2, 4],
                ..s
            }
            .bins(),
            21
        );
    }
}
