//! Reading the detector's raw outputs: per query, the class distribution
//! over 10 digits and ∅, and the box in pixels. DETR needs no NMS: each
//! query is one detection, scored by its most likely digit.

use super::{
    boxes::Corners,
    coco_eval::Detection,
    scenes::{Scene, CANVAS},
    set_loss::{softmax, Prediction, Target, CLASSES, NO_OBJECT},
};

/// One query's reading.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    pub probs: [f64; CLASSES],
    /// The most likely digit (∅ excluded) and its probability: the score.
    pub label: usize,
    pub score: f64,
    /// COCO [x, y, w, h] in pixels of the 96×96 canvas.
    pub bbox: [f64; 4],
    /// The raw prediction: logits and the normalized (cx, cy, w, h).
    pub prediction: Prediction,
}

impl QueryOutput {
    /// Whether ∅ is this query's most likely class.
    pub fn is_empty(&self) -> bool {
        self.probs[NO_OBJECT] >= self.score
    }
}

/// `logits` [N, 11] and `boxes` [N, 4] (sigmoid cx, cy, w, h) as read back.
pub fn read_queries(logits: &[f32], boxes: &[f32]) -> Vec<QueryOutput> {
    logits
        .chunks(CLASSES)
        .zip(boxes.chunks(4))
        .map(|(l, b)| {
            let logits: [f64; CLASSES] = std::array::from_fn(|k| l[k] as f64);
            let cxcywh: [f64; 4] = std::array::from_fn(|k| b[k] as f64);
            let probs = softmax(&logits);
            let (label, score) =
                probs[..NO_OBJECT]
                    .iter()
                    .enumerate()
                    .fold(
                        (0, f64::MIN),
                        |best, (k, &p)| if p > best.1 { (k, p) } else { best },
                    );
            let side = CANVAS as f64;
            QueryOutput {
                probs,
                label,
                score,
                bbox: Corners::from_cxcywh(cxcywh).scale(side, side).to_xywh(),
                prediction: Prediction {
                    logits,
                    bbox: cxcywh,
                },
            }
        })
        .collect()
}

/// Every query as a COCO detection of `image_id` (COCO keeps up to 100 per
/// image, so all N count; low scores cost nothing at high recall).
pub fn detections(image_id: u64, queries: &[QueryOutput]) -> Vec<Detection> {
    queries
        .iter()
        .map(|q| Detection {
            image_id,
            category_id: q.label as u32,
            bbox: q.bbox,
            score: q.score,
        })
        .collect()
}

/// A scene's objects as the loss's targets: normalized (cx, cy, w, h).
pub fn targets(scene: &Scene) -> Vec<Target> {
    let side = CANVAS as f64;
    scene
        .objects
        .iter()
        .map(|o| Target {
            label: o.label as usize,
            bbox: Corners::from_xywh(o.bbox)
                .scale(1.0 / side, 1.0 / side)
                .to_cxcywh(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_reads_as_its_best_digit_and_its_box_in_pixels() {
        let mut logits = [0f32; CLASSES];
        logits[3] = 2.0;
        logits[NO_OBJECT] = 1.0;
        let q = &read_queries(&logits, &[0.5, 0.25, 0.25, 0.5])[0];
        assert_eq!(q.label, 3);
        let z = 2f64.exp() + 1f64.exp() + 9.0;
        assert!((q.score - 2f64.exp() / z).abs() < 1e-12);
        assert!(!q.is_empty());
        assert_eq!(q.bbox, [36.0, 0.0, 24.0, 48.0]);
        let mut quiet = [0f32; CLASSES];
        quiet[NO_OBJECT] = 5.0;
        assert!(read_queries(&quiet, &[0.5; 4])[0].is_empty());
    }
}
