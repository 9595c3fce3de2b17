//! DETR's set prediction loss (Carion et al., 2020, §3.1), on the CPU: the
//! matching cost between N predictions and M objects, the one-to-one
//! assignment, and the loss terms given that assignment. Weights as in the
//! paper's code: class 1, L1 5, GIoU 2, and "no object" weighted 0.1 in the
//! cross-entropy.

use super::{
    boxes::{giou, Corners},
    matching::hungarian,
};

/// Digits 0–9, then "no object" (∅).
pub const CLASSES: usize = 11;
pub const NO_OBJECT: usize = 10;
pub const COST_CLASS: f64 = 1.0;
pub const COST_L1: f64 = 5.0;
pub const COST_GIOU: f64 = 2.0;
pub const NO_OBJECT_WEIGHT: f64 = 0.1;

/// One query's output: class logits and a box (cx, cy, w, h) in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub logits: [f64; CLASSES],
    pub bbox: [f64; 4],
}

/// One object: its digit and its box (cx, cy, w, h) in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub label: usize,
    pub bbox: [f64; 4],
}

pub fn softmax(logits: &[f64; CLASSES]) -> [f64; CLASSES] {
    let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e = logits.map(|l| (l - m).exp());
    let z: f64 = e.iter().sum();
    e.map(|v| v / z)
}

fn l1(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

/// The N × M matching cost, kept in its three weighted parts so the page
/// can show them: −p(class), L1 between boxes, and −GIoU.
#[derive(Debug, Clone, PartialEq)]
pub struct CostMatrix {
    pub queries: usize,
    pub objects: usize,
    pub class: Vec<f64>,
    pub l1: Vec<f64>,
    pub giou: Vec<f64>,
}

impl CostMatrix {
    pub fn new(predictions: &[Prediction], targets: &[Target]) -> CostMatrix {
        let (n, m) = (predictions.len(), targets.len());
        let mut c = CostMatrix {
            queries: n,
            objects: m,
            class: Vec::with_capacity(n * m),
            l1: Vec::with_capacity(n * m),
            giou: Vec::with_capacity(n * m),
        };
        for p in predictions {
            let probs = softmax(&p.logits);
            for t in targets {
                c.class.push(-COST_CLASS * probs[t.label]);
                c.l1.push(COST_L1 * l1(&p.bbox, &t.bbox));
                let g = giou(Corners::from_cxcywh(p.bbox), Corners::from_cxcywh(t.bbox));
                c.giou.push(-COST_GIOU * g);
            }
        }
        c
    }

    pub fn total(&self) -> Vec<f64> {
        (0..self.class.len())
            .map(|k| self.class[k] + self.l1[k] + self.giou[k])
            .collect()
    }

    /// (query, object) pairs of least total cost, one per object.
    pub fn assignment(&self) -> Vec<(usize, usize)> {
        hungarian(&self.total(), self.queries, self.objects)
    }
}

/// The loss for one image, given the assignment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossTerms {
    /// Weighted mean cross-entropy over all N queries (unmatched ones
    /// target ∅ with weight 0.1).
    pub class: f64,
    /// Σ L1 over matched boxes, per object.
    pub l1: f64,
    /// Σ (1 − GIoU) over matched boxes, per object.
    pub giou: f64,
}

impl LossTerms {
    pub fn total(&self) -> f64 {
        COST_CLASS * self.class + COST_L1 * self.l1 + COST_GIOU * self.giou
    }
}

pub fn set_loss(
    predictions: &[Prediction],
    targets: &[Target],
    assignment: &[(usize, usize)],
) -> LossTerms {
    let mut target_class = vec![NO_OBJECT; predictions.len()];
    for &(q, o) in assignment {
        target_class[q] = targets[o].label;
    }
    let (mut weighted, mut weights) = (0.0, 0.0);
    for (p, &c) in predictions.iter().zip(&target_class) {
        let w = if c == NO_OBJECT {
            NO_OBJECT_WEIGHT
        } else {
            1.0
        };
        weighted -= w * softmax(&p.logits)[c].ln();
        weights += w;
    }
    let objects = targets.len().max(1) as f64;
    let (mut l1_sum, mut giou_sum) = (0.0, 0.0);
    for &(q, o) in assignment {
        let (p, t) = (&predictions[q].bbox, &targets[o].bbox);
        l1_sum += l1(p, t);
        giou_sum += 1.0 - giou(Corners::from_cxcywh(*p), Corners::from_cxcywh(*t));
    }
    LossTerms {
        class: if weights > 0.0 {
            weighted / weights
        } else {
            0.0
        },
        l1: l1_sum / objects,
        giou: giou_sum / objects,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confident(class: usize, bbox: [f64; 4]) -> Prediction {
        let mut logits = [0.0; CLASSES];
        logits[class] = 10.0;
        Prediction { logits, bbox }
    }

    #[test]
    fn matching_pairs_each_object_with_its_query() {
        let targets = vec![
            Target {
                label: 3,
                bbox: [0.2, 0.2, 0.1, 0.2],
            },
            Target {
                label: 7,
                bbox: [0.7, 0.6, 0.2, 0.3],
            },
        ];
        // Query 0 says "∅", query 1 found the 7, query 2 found the 3.
        let predictions = vec![
            confident(NO_OBJECT, [0.5, 0.5, 0.1, 0.1]),
            confident(7, [0.71, 0.6, 0.2, 0.3]),
            confident(3, [0.2, 0.21, 0.1, 0.2]),
        ];
        let cost = CostMatrix::new(&predictions, &targets);
        assert_eq!((cost.queries, cost.objects, cost.total().len()), (3, 2, 6));
        // Cost parts by hand for (query 1, object 1): L1 = 0.01, GIoU < 1.
        assert!((cost.l1[3] - 5.0 * 0.01).abs() < 1e-12);
        assert!(cost.class[3] < -0.99);
        let pairs = cost.assignment();
        assert_eq!(pairs, vec![(1, 1), (2, 0)]);
        let loss = set_loss(&predictions, &targets, &pairs);
        assert!(loss.class < 1e-3, "{loss:?}");
        assert!((loss.l1 - (0.01 + 0.01) / 2.0).abs() < 1e-12);
        assert!(loss.giou > 0.0 && loss.giou < 0.2);
        // Swapping the assignment must cost more: that is what matching avoids.
        let swapped = set_loss(&predictions, &targets, &[(1, 0), (2, 1)]);
        assert!(swapped.total() > loss.total() + 5.0);
    }

    #[test]
    fn no_object_is_down_weighted_in_the_cross_entropy() {
        // Two uniform queries, no objects: CE = ln 11 whatever the weights.
        let uniform = Prediction {
            logits: [0.0; CLASSES],
            bbox: [0.5; 4],
        };
        let loss = set_loss(&[uniform.clone(), uniform.clone()], &[], &[]);
        assert!((loss.class - (CLASSES as f64).ln()).abs() < 1e-12);
        assert_eq!((loss.l1, loss.giou), (0.0, 0.0));
        // One matched query with CE a, one ∅ query with CE b:
        // (1·a + 0.1·b) / 1.1.
        let target = Target {
            label: 2,
            bbox: [0.5; 4],
        };
        let sharp = confident(2, [0.5; 4]);
        let loss = set_loss(&[sharp.clone(), uniform], &[target], &[(0, 0)]);
        let a = -softmax(&sharp.logits)[2].ln();
        let b = (CLASSES as f64).ln();
        assert!((loss.class - (a + 0.1 * b) / 1.1).abs() < 1e-12);
        assert!(loss.l1.abs() < 1e-12 && loss.giou.abs() < 1e-12);
    }
}
