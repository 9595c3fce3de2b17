//! `filter_probs` on the CPU: the same thresholds, found by sorting.

use crate::{
    kernels::{filter::FilterShape, reduce::Rows},
    reference::reduce::softmax_ref,
};

/// softmax(logits / temperature).
pub fn tempered_probs(logits: &[f32], temperature: f32) -> Vec<f32> {
    let inv = 1.0 / temperature;
    let scaled: Vec<f32> = logits.iter().map(|&l| l * inv).collect();
    softmax_ref(
        &scaled,
        Rows {
            rows: 1,
            cols: logits.len(),
        },
    )
}

/// The survivors' threshold as f32 bits (0 keeps everything): the k-th
/// largest probability, and the one at which the mass from the top first
/// reaches top_p, whichever is larger.
pub fn threshold_bits(probs: &[f32], top_k: usize, top_p: f32) -> u32 {
    let mut bits: Vec<u32> = probs.iter().map(|p| p.max(0.0).to_bits()).collect();
    bits.sort_unstable_by(|a, b| b.cmp(a));
    let t_k = if top_k == 0 || top_k >= bits.len() {
        0
    } else {
        bits[top_k - 1]
    };
    let t_p = if top_p >= 1.0 {
        0
    } else {
        let total: f64 = probs.iter().map(|&p| p.max(0.0) as f64).sum();
        let goal = top_p.max(0.0) as f64 * total;
        let mut cum = 0.0;
        let mut t = 0;
        for &b in &bits {
            cum += f32::from_bits(b) as f64;
            if cum >= goal {
                t = b;
                break;
            }
        }
        t
    };
    t_k.max(t_p)
}

/// `probs` with every value under the threshold set to 0.
pub fn threshold_ref(probs: &[f32], top_k: usize, top_p: f32) -> Vec<f32> {
    let t = threshold_bits(probs, top_k, top_p);
    probs
        .iter()
        .map(|&p| if p.max(0.0).to_bits() >= t { p } else { 0.0 })
        .collect()
}

pub fn filter_probs_ref(logits: &[f32], shape: FilterShape) -> Vec<f32> {
    let mut probs = tempered_probs(logits, shape.temperature);
    let skipped = shape.skip_first.min(probs.len());
    probs[..skipped].fill(0.0);
    threshold_ref(&probs, shape.top_k, shape.top_p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_keep_the_top_k_and_the_top_p_mass() {
        let probs = [0.1, 0.4, 0.2, 0.2, 0.05, 0.05];
        let kept = |k, p| {
            threshold_ref(&probs, k, p)
                .iter()
                .map(|&v| (v > 0.0) as u8)
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(0, 1.0), vec![1; 6]);
        assert_eq!(kept(1, 1.0), vec![0, 1, 0, 0, 0, 0]);
        // The 2nd largest is tied: both 0.2s survive.
        assert_eq!(kept(2, 1.0), vec![0, 1, 1, 1, 0, 0]);
        // 0.4 alone holds less than half; with the 0.2s, 0.8.
        assert_eq!(kept(0, 0.5), vec![0, 1, 1, 1, 0, 0]);
        assert_eq!(kept(0, 0.39), vec![0, 1, 0, 0, 0, 0]);
        assert_eq!(kept(1, 0.9), vec![0, 1, 0, 0, 0, 0]);
        assert_eq!(kept(0, 0.95), vec![1; 6]);
    }

    #[test]
    fn temperature_sharpens_and_flattens() {
        let logits = [1.0, 2.0, 3.0];
        let cold = tempered_probs(&logits, 0.5);
        let hot = tempered_probs(&logits, 2.0);
        assert!(cold[2] > tempered_probs(&logits, 1.0)[2] && hot[2] < cold[2]);
        assert!((cold.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
