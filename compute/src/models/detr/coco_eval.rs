//! COCO-style average precision for boxes, following pycocotools' `COCOeval`
//! (iouType "bbox", area "all", 100 detections per image): per image and
//! category, detections in score order greedily take the unmatched ground
//! truth of highest IoU at or above the threshold; per category, precision
//! is made monotone and read at 101 recall points; AP averages over the
//! categories that have ground truth and the IoU thresholds .50:.05:.95.

use std::collections::BTreeMap;

use super::boxes::{iou, Corners};

/// A ground-truth box, COCO [x, y, w, h] in pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    pub image_id: u64,
    pub category_id: u32,
    pub bbox: [f64; 4],
}

/// A detection in COCO results format.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub image_id: u64,
    pub category_id: u32,
    pub bbox: [f64; 4],
    pub score: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApSummary {
    /// AP@[.50:.95]
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
}

pub const MAX_DETECTIONS: usize = 100;
const RECALL_POINTS: usize = 101;

/// numpy's `linspace(start, stop, n)` bit for bit, as pycocotools builds its
/// thresholds: a recall of exactly 0.56 must compare as numpy's 0.56 does.
fn linspace<const N: usize>(start: f64, stop: f64) -> [f64; N] {
    let step = (stop - start) / (N - 1) as f64;
    std::array::from_fn(|i| {
        if i == N - 1 {
            stop
        } else {
            i as f64 * step + start
        }
    })
}

fn iou_thresholds() -> [f64; 10] {
    linspace(0.5, 0.95)
}

/// Precision at the 101 recall points for one category and threshold, or
/// None when the category has no ground truth.
fn category_precision(
    gts: &BTreeMap<u64, Vec<[f64; 4]>>,
    dets: &BTreeMap<u64, Vec<(f64, [f64; 4])>>,
    threshold: f64,
) -> Option<[f64; RECALL_POINTS]> {
    let positives: usize = gts.values().map(Vec::len).sum();
    if positives == 0 {
        return None;
    }
    // (score, is true positive) for every kept detection, image by image.
    let mut scored: Vec<(f64, bool)> = Vec::new();
    for (image, image_dets) in dets {
        let mut order: Vec<&(f64, [f64; 4])> = image_dets.iter().collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0)); // stable: ties keep input order
        order.truncate(MAX_DETECTIONS);
        let truths = gts.get(image).map_or(&[][..], Vec::as_slice);
        let mut taken = vec![false; truths.len()];
        for (score, bbox) in order {
            let mut best = threshold.min(1.0 - 1e-10);
            let mut matched = None;
            for (g, truth) in truths.iter().enumerate() {
                if taken[g] {
                    continue;
                }
                let overlap = iou(Corners::from_xywh(*bbox), Corners::from_xywh(*truth));
                if overlap < best {
                    continue;
                }
                best = overlap;
                matched = Some(g);
            }
            if let Some(g) = matched {
                taken[g] = true;
            }
            scored.push((*score, matched.is_some()));
        }
    }
    // pycocotools sorts all of a category's detections with a stable sort.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut recall = Vec::with_capacity(scored.len());
    let mut precision = Vec::with_capacity(scored.len());
    for &(_, hit) in &scored {
        if hit {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        recall.push(tp / positives as f64);
        precision.push(tp / (tp + fp + f64::EPSILON));
    }
    for i in (1..precision.len()).rev() {
        if precision[i] > precision[i - 1] {
            precision[i - 1] = precision[i];
        }
    }
    let mut out = [0.0; RECALL_POINTS];
    for (q, r) in out.iter_mut().zip(linspace::<RECALL_POINTS>(0.0, 1.0)) {
        // First detection whose recall reaches r (numpy's searchsorted, left).
        if let Some(i) = recall.iter().position(|&rc| rc >= r) {
            *q = precision[i];
        }
    }
    Some(out)
}

/// AP@[.50:.95], AP50 and AP75 of `detections` against `truths`.
pub fn evaluate(truths: &[GroundTruth], detections: &[Detection]) -> ApSummary {
    type PerImage<T> = BTreeMap<u64, Vec<T>>;
    let mut gts: BTreeMap<u32, PerImage<[f64; 4]>> = BTreeMap::new();
    for t in truths {
        gts.entry(t.category_id)
            .or_default()
            .entry(t.image_id)
            .or_default()
            .push(t.bbox);
    }
    let mut dets: BTreeMap<u32, PerImage<(f64, [f64; 4])>> = BTreeMap::new();
    for d in detections {
        dets.entry(d.category_id)
            .or_default()
            .entry(d.image_id)
            .or_default()
            .push((d.score, d.bbox));
    }
    let empty = BTreeMap::new();
    let at = |threshold: f64| -> Vec<f64> {
        gts.iter()
            .filter_map(|(cat, g)| {
                category_precision(g, dets.get(cat).unwrap_or(&empty), threshold)
            })
            .flat_map(|p| p.into_iter())
            .collect()
    };
    let mean = |v: &[f64]| {
        if v.is_empty() {
            -1.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let all: Vec<f64> = iou_thresholds().into_iter().flat_map(at).collect();
    ApSummary {
        ap: mean(&all),
        ap50: mean(&at(0.5)),
        ap75: mean(&at(0.75)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gt(image_id: u64, category_id: u32, bbox: [f64; 4]) -> GroundTruth {
        GroundTruth {
            image_id,
            category_id,
            bbox,
        }
    }

    fn det(image_id: u64, category_id: u32, bbox: [f64; 4], score: f64) -> Detection {
        Detection {
            image_id,
            category_id,
            bbox,
            score,
        }
    }

    #[test]
    fn perfect_detections_score_one_and_misses_lower_it() {
        let truths = vec![
            gt(1, 3, [10.0, 10.0, 20.0, 20.0]),
            gt(2, 5, [0.0, 0.0, 5.0, 8.0]),
        ];
        let exact: Vec<Detection> = truths
            .iter()
            .map(|t| det(t.image_id, t.category_id, t.bbox, 0.9))
            .collect();
        let s = evaluate(&truths, &exact);
        assert!((s.ap - 1.0).abs() < 1e-12 && s.ap50 == s.ap && s.ap75 == s.ap);
        // The wrong class counts for nothing.
        let wrong = vec![det(1, 4, truths[0].bbox, 0.9), exact[1].clone()];
        assert!((evaluate(&truths, &wrong).ap - 0.5).abs() < 1e-12);
        // Shifted by 4 px of 20: IoU 16·20/(2·400 − 320) = 2/3, a hit at .50
        // and .65 but not from .70.
        let shifted = vec![det(1, 3, [14.0, 10.0, 20.0, 20.0], 0.9), exact[1].clone()];
        let s = evaluate(&truths, &shifted);
        assert!((s.ap50 - 1.0).abs() < 1e-12 && (s.ap75 - 0.5).abs() < 1e-12);
        assert!(
            (s.ap - (4.0 * 1.0 + 6.0 * 0.5) / 10.0).abs() < 1e-12,
            "{s:?}"
        );
    }

    #[test]
    fn a_high_scoring_false_positive_costs_precision() {
        // One ground truth; a false positive ranked above the true one:
        // at recall 1 the precision is 1/2, so AP = 0.5 at every threshold.
        let truths = vec![gt(1, 0, [0.0, 0.0, 10.0, 10.0])];
        let dets = vec![
            det(1, 0, [50.0, 50.0, 10.0, 10.0], 0.95),
            det(1, 0, [0.0, 0.0, 10.0, 10.0], 0.9),
        ];
        let s = evaluate(&truths, &dets);
        assert!((s.ap - 0.5).abs() < 1e-9, "{s:?}");
        // Ranked below, it costs nothing.
        let dets = vec![
            det(1, 0, [50.0, 50.0, 10.0, 10.0], 0.5),
            det(1, 0, [0.0, 0.0, 10.0, 10.0], 0.9),
        ];
        assert!((evaluate(&truths, &dets).ap - 1.0).abs() < 1e-9);
        // A duplicate of a matched box is a false positive, not a second hit.
        let dets = vec![
            det(1, 0, [0.0, 0.0, 10.0, 10.0], 0.9),
            det(1, 0, [0.0, 0.0, 10.0, 10.0], 0.8),
        ];
        assert!((evaluate(&truths, &dets).ap - 1.0).abs() < 1e-9);
    }
}
