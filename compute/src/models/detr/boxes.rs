//! Boxes as DETR uses them: the model predicts normalised (cx, cy, w, h),
//! COCO files hold pixel [x, y, w, h], and matching and the loss compare
//! corners with IoU and generalised IoU (Rezatofighi et al., 2019).

/// A box by its corners, x0 ≤ x1 and y0 ≤ y1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Corners {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Corners {
    pub fn from_cxcywh([cx, cy, w, h]: [f64; 4]) -> Corners {
        Corners {
            x0: cx - w / 2.0,
            y0: cy - h / 2.0,
            x1: cx + w / 2.0,
            y1: cy + h / 2.0,
        }
    }

    pub fn to_cxcywh(self) -> [f64; 4] {
        [
            (self.x0 + self.x1) / 2.0,
            (self.y0 + self.y1) / 2.0,
            self.x1 - self.x0,
            self.y1 - self.y0,
        ]
    }

    /// From COCO's [x, y, w, h] (top-left corner and size).
    pub fn from_xywh([x, y, w, h]: [f64; 4]) -> Corners {
        Corners {
            x0: x,
            y0: y,
            x1: x + w,
            y1: y + h,
        }
    }

    pub fn to_xywh(self) -> [f64; 4] {
        [self.x0, self.y0, self.x1 - self.x0, self.y1 - self.y0]
    }

    pub fn area(self) -> f64 {
        (self.x1 - self.x0).max(0.0) * (self.y1 - self.y0).max(0.0)
    }

    pub fn scale(self, sx: f64, sy: f64) -> Corners {
        Corners {
            x0: self.x0 * sx,
            y0: self.y0 * sy,
            x1: self.x1 * sx,
            y1: self.y1 * sy,
        }
    }
}

fn intersection(a: Corners, b: Corners) -> f64 {
    Corners {
        x0: a.x0.max(b.x0),
        y0: a.y0.max(b.y0),
        x1: a.x1.min(b.x1),
        y1: a.y1.min(b.y1),
    }
    .area()
}

/// Intersection over union; 0 when both boxes are empty.
pub fn iou(a: Corners, b: Corners) -> f64 {
    let inter = intersection(a, b);
    let union = a.area() + b.area() - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Generalised IoU: IoU − (|C| − |A ∪ B|) / |C| with C the smallest box
/// enclosing both. In [−1, 1]; unlike IoU it still ranks disjoint boxes.
pub fn giou(a: Corners, b: Corners) -> f64 {
    let inter = intersection(a, b);
    let union = a.area() + b.area() - inter;
    let hull = Corners {
        x0: a.x0.min(b.x0),
        y0: a.y0.min(b.y0),
        x1: a.x1.max(b.x1),
        y1: a.y1.max(b.y1),
    }
    .area();
    if hull <= 0.0 {
        return 0.0;
    }
    let iou = if union > 0.0 { inter / union } else { 0.0 };
    iou - (hull - union) / hull
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn conversions_round_trip() {
        let b = [0.25, 0.5, 0.2, 0.4];
        let c = Corners::from_cxcywh(b);
        assert!(close(c.x0, 0.15) && close(c.y1, 0.7));
        for (x, y) in c.to_cxcywh().iter().zip(b) {
            assert!(close(*x, y));
        }
        let coco = [10.0, 20.0, 30.0, 5.0];
        assert_eq!(Corners::from_xywh(coco).to_xywh(), coco);
        let px = Corners::from_cxcywh(b).scale(96.0, 96.0).to_xywh();
        assert!(close(px[0], 14.4) && close(px[3], 38.4));
    }

    #[test]
    fn iou_and_giou_by_hand() {
        let a = Corners::from_xywh([0.0, 0.0, 2.0, 2.0]);
        let b = Corners::from_xywh([1.0, 1.0, 2.0, 2.0]);
        // Intersection 1, union 7, hull 9.
        assert!(close(iou(a, b), 1.0 / 7.0));
        assert!(close(giou(a, b), 1.0 / 7.0 - 2.0 / 9.0));
        assert!(close(iou(a, a), 1.0) && close(giou(a, a), 1.0));
        // Disjoint: IoU 0, GIoU negative and worse when farther apart.
        let near = Corners::from_xywh([3.0, 0.0, 2.0, 2.0]);
        let far = Corners::from_xywh([10.0, 0.0, 2.0, 2.0]);
        assert_eq!(iou(a, near), 0.0);
        assert!(close(giou(a, near), -2.0 / 10.0));
        assert!(giou(a, far) < giou(a, near));
        assert!(giou(a, far) > -1.0);
    }
}
