//! Candidate windows and what becomes of them: the sliding grid both
//! pipelines score, each window's cells on the feature map, the box
//! refinement, and non-maximum suppression.

use crate::{
    faces::scenes::{face_width, SIDE},
    kernels::spp::Window,
    models::detr::{
        boxes::{iou, Corners},
        coco_eval::{Detection, MAX_DETECTIONS},
    },
};

use super::config::STRIDE;

/// (height, stride) of each scale of the grid, in pixels. Heights step by
/// about 1.3 from the smallest face to the largest; strides are about 0.3
/// of a height and multiples of [`STRIDE`], so that every window starts on
/// a feature cell's edge. 2,027 windows on a 256 × 256 scene.
pub const GRID: [(usize, usize); 7] = [
    (24, 8),
    (32, 12),
    (40, 12),
    (52, 16),
    (68, 20),
    (88, 24),
    (112, 32),
];

/// A candidate window in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelWindow {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
    /// Which scale of [`GRID`] it belongs to.
    pub scale: usize,
}

impl PixelWindow {
    /// COCO's [x, y, w, h].
    pub fn bbox(&self) -> [f64; 4] {
        [self.x as f64, self.y as f64, self.w as f64, self.h as f64]
    }

    pub fn corners(&self) -> Corners {
        Corners::from_xywh(self.bbox())
    }

    /// The feature cells the window covers on a map with one cell per
    /// [`STRIDE`] pixels: from the cell holding its first pixel to the one
    /// holding its last (He et al. round the same way, §A).
    pub fn cells(&self) -> Window {
        Window {
            x0: self.x / STRIDE,
            y0: self.y / STRIDE,
            x1: (self.x + self.w).div_ceil(STRIDE),
            y1: (self.y + self.h).div_ceil(STRIDE),
        }
    }
}

/// Positions of a window `len` long every `stride` pixels along `side`,
/// centred, starting on a multiple of [`STRIDE`].
fn positions(side: usize, len: usize, stride: usize) -> impl Iterator<Item = usize> {
    let n = (side - len) / stride + 1;
    let start = (side - len - (n - 1) * stride) / 2 / STRIDE * STRIDE;
    (0..n).map(move |i| start + i * stride)
}

/// Every window of the grid on a [`SIDE`]-pixel square scene: scale by
/// scale, each row by row. Windows keep ORL's 92:112 aspect.
pub fn grid() -> Vec<PixelWindow> {
    let mut out = Vec::new();
    for (scale, &(h, stride)) in GRID.iter().enumerate() {
        let w = face_width(h);
        for y in positions(SIDE, h, stride) {
            for x in positions(SIDE, w, stride) {
                out.push(PixelWindow { x, y, w, h, scale });
            }
        }
    }
    out
}

/// `n` windows spread evenly over the grid (all of it when n ≥ its length):
/// the race's adjustable window count.
pub fn spread(all: &[PixelWindow], n: usize) -> Vec<PixelWindow> {
    if n >= all.len() {
        return all.to_vec();
    }
    (0..n).map(|i| all[i * all.len() / n]).collect()
}

/// Box refinements are clamped to this many log-units of scale, so an
/// untrained or odd output cannot make an unbounded box.
const MAX_LOG_SCALE: f64 = 1.0;

/// The refined box (COCO [x, y, w, h], clipped to the scene) for a window
/// and its (dx, dy, dw, dh).
pub fn refine(w: &PixelWindow, deltas: [f32; 4]) -> [f64; 4] {
    let [dx, dy, dw, dh] = deltas.map(|d| d as f64);
    let (ww, wh) = (w.w as f64, w.h as f64);
    let cx = w.x as f64 + ww / 2.0 + dx * ww;
    let cy = w.y as f64 + wh / 2.0 + dy * wh;
    let bw = ww * dw.clamp(-MAX_LOG_SCALE, MAX_LOG_SCALE).exp();
    let bh = wh * dh.clamp(-MAX_LOG_SCALE, MAX_LOG_SCALE).exp();
    let side = SIDE as f64;
    let x0 = (cx - bw / 2.0).clamp(0.0, side);
    let y0 = (cy - bh / 2.0).clamp(0.0, side);
    let x1 = (cx + bw / 2.0).clamp(0.0, side);
    let y1 = (cy + bh / 2.0).clamp(0.0, side);
    [x0, y0, x1 - x0, y1 - y0]
}

/// The regression target that [`refine`] turns `w` into `truth` with.
pub fn deltas_to(w: &PixelWindow, truth: [f64; 4]) -> [f32; 4] {
    let (ww, wh) = (w.w as f64, w.h as f64);
    let [tx, ty, tw, th] = truth;
    [
        ((tx + tw / 2.0) - (w.x as f64 + ww / 2.0)) / ww,
        ((ty + th / 2.0) - (w.y as f64 + wh / 2.0)) / wh,
        (tw / ww).ln(),
        (th / wh).ln(),
    ]
    .map(|v| v as f32)
}

/// A window's face probability and refined box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub window: usize,
    pub score: f32,
    pub bbox: [f64; 4],
}

/// Reads the network's outputs [windows, 5] for `windows`.
pub fn score(windows: &[PixelWindow], outputs: &[f32]) -> Vec<Scored> {
    windows
        .iter()
        .zip(outputs.chunks_exact(super::config::OUTPUTS))
        .enumerate()
        .map(|(i, (w, o))| Scored {
            window: i,
            score: 1.0 / (1.0 + (-o[0]).exp()),
            bbox: refine(w, [o[1], o[2], o[3], o[4]]),
        })
        .collect()
}

/// Faces never overlap in the scenes, so boxes overlapping a kept one by
/// more than this are the same face.
pub const NMS_IOU: f64 = 0.3;
/// Below this a window is not reported (COCO's AP barely notices).
pub const MIN_SCORE: f32 = 0.05;

/// Greedy non-maximum suppression: highest score first (ties by window
/// index, so both backends agree), dropping boxes that overlap a kept one
/// by more than [`NMS_IOU`]; at most COCO's 100 per image.
pub fn nms(scored: &[Scored]) -> Vec<Scored> {
    let mut order: Vec<&Scored> = scored.iter().filter(|s| s.score >= MIN_SCORE).collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.window.cmp(&b.window)));
    let mut kept: Vec<Scored> = Vec::new();
    for s in order {
        let c = Corners::from_xywh(s.bbox);
        if kept
            .iter()
            .all(|k| iou(Corners::from_xywh(k.bbox), c) <= NMS_IOU)
        {
            kept.push(*s);
            if kept.len() == MAX_DETECTIONS {
                break;
            }
        }
    }
    kept
}

/// Kept boxes as COCO results (category 1, face).
pub fn detections(image_id: u64, kept: &[Scored]) -> Vec<Detection> {
    kept.iter()
        .map(|s| Detection {
            image_id,
            category_id: 1,
            bbox: s.bbox,
            score: s.score as f64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_aligned_inside_and_about_two_thousand() {
        let g = grid();
        assert_eq!(g.len(), 2027);
        for w in &g {
            assert!(w.x + w.w <= SIDE && w.y + w.h <= SIDE, "{w:?}");
            assert!(w.x % STRIDE == 0 && w.y % STRIDE == 0);
            let c = w.cells();
            assert!(c.x1 <= SIDE / STRIDE && c.y1 <= SIDE / STRIDE && c.x0 < c.x1);
            // Windows of one scale cover cells of one shape.
            let (h, _) = GRID[w.scale];
            assert_eq!((w.h, c.y1 - c.y0), (h, h.div_ceil(STRIDE)));
        }
        assert_eq!(spread(&g, 5000).len(), 2027);
        let some = spread(&g, 100);
        assert_eq!((some.len(), some[0]), (100, g[0]));
        assert!(some.iter().any(|w| w.scale == GRID.len() - 1));
    }

    /// Every face size the scenes can hold has a window of IoU ≥ 0.5 somewhere
    /// nearby, before any refinement: the grid alone can reach AP50.
    #[test]
    fn every_face_has_a_window_at_half_iou() {
        let g = grid();
        let mut worst: f64 = 1.0;
        for h in 24..=112 {
            let w = face_width(h);
            for (x, y) in [(0, 0), (37, 91), (SIDE - w, SIDE - h), (101, 5), (13, 150)] {
                let face = Corners::from_xywh([x as f64, y as f64, w as f64, h as f64]);
                let best = g.iter().map(|c| iou(c.corners(), face)).fold(0.0, f64::max);
                worst = worst.min(best);
            }
        }
        assert!(worst >= 0.5, "{worst}");
    }

    #[test]
    fn refinement_inverts_its_target_and_is_bounded() {
        let w = PixelWindow {
            x: 40,
            y: 60,
            w: 33,
            h: 40,
            scale: 2,
        };
        let truth = [45.0, 58.0, 30.0, 37.0];
        let back = refine(&w, deltas_to(&w, truth));
        for (a, b) in back.iter().zip(truth) {
            assert!((a - b).abs() < 1e-4, "{back:?}");
        }
        let wild = refine(&w, [100.0, -100.0, 50.0, -50.0]);
        assert!(wild
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0 && *v <= SIDE as f64));
    }

    #[test]
    fn nms_keeps_the_best_of_each_cluster() {
        let s = |window, score, x: f64| Scored {
            window,
            score,
            bbox: [x, 10.0, 30.0, 36.0],
        };
        let kept = nms(&[
            s(0, 0.6, 0.0),
            s(1, 0.9, 3.0),
            s(2, 0.8, 100.0),
            s(3, 0.01, 200.0),
        ]);
        assert_eq!(kept.iter().map(|k| k.window).collect::<Vec<_>>(), [1, 2]);
        // Ties go to the lower index.
        let kept = nms(&[s(5, 0.7, 0.0), s(4, 0.7, 1.0)]);
        assert_eq!(kept[0].window, 4);
    }
}
