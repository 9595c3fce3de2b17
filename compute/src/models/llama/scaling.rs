//! LLaMA's premise in miniature: test NLL as a function of parameters N and
//! training tokens D, fitted as L(N, D) = E + A/N^α + B/D^β (Hoffmann et
//! al. 2022, "Training Compute-Optimal Large Language Models", eq. 2).
//!
//! N here counts the parameters every token multiplies by: all matrices,
//! the output head included, but not the token embedding, which is a table
//! lookup. A training run then costs C ≈ 6·N·D floating-point operations.

use serde::{Deserialize, Serialize};

/// One training run of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScalingPoint {
    pub params: f64,
    pub tokens: f64,
    pub test_nll: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScalingFit {
    pub e: f64,
    pub a: f64,
    pub alpha: f64,
    pub b: f64,
    pub beta: f64,
    /// Root-mean-square residual over the points, in nats.
    pub rms: f64,
}

impl ScalingFit {
    pub fn loss(&self, params: f64, tokens: f64) -> f64 {
        self.e + self.a / params.powf(self.alpha) + self.b / tokens.powf(self.beta)
    }

    /// The N that minimises the fitted loss at compute `flops` (D = C / 6N),
    /// searched over `lo..=hi` parameters on a log grid.
    pub fn best_params(&self, flops: f64, lo: f64, hi: f64) -> f64 {
        let steps = 400;
        (0..=steps)
            .map(|i| lo * (hi / lo).powf(i as f64 / steps as f64))
            .min_by(|&x, &y| {
                self.loss(x, flops / (6.0 * x))
                    .total_cmp(&self.loss(y, flops / (6.0 * y)))
            })
            .unwrap_or(lo)
    }
}

/// Least squares over the points: for each (α, β) on a grid of step 0.01 in
/// [0.01, 1.5], E, A and B (all ≥ 0) solve a linear least-squares problem;
/// the pair with the smallest residual wins.
pub fn fit(points: &[ScalingPoint]) -> Option<ScalingFit> {
    if points.len() < 5 {
        return None;
    }
    let mut best: Option<ScalingFit> = None;
    for ai in 1..=150 {
        for bi in 1..=150 {
            let (alpha, beta) = (ai as f64 / 100.0, bi as f64 / 100.0);
            let rows: Vec<[f64; 3]> = points
                .iter()
                .map(|p| [1.0, p.params.powf(-alpha), p.tokens.powf(-beta)])
                .collect();
            let y: Vec<f64> = points.iter().map(|p| p.test_nll).collect();
            let Some([e, a, b]) = nonnegative_least_squares(&rows, &y) else {
                continue;
            };
            let sse: f64 = rows
                .iter()
                .zip(&y)
                .map(|(r, y)| (r[0] * e + r[1] * a + r[2] * b - y).powi(2))
                .sum();
            let rms = (sse / points.len() as f64).sqrt();
            if best.as_ref().is_none_or(|f| rms < f.rms) {
                best = Some(ScalingFit {
                    e,
                    a,
                    alpha,
                    b,
                    beta,
                    rms,
                });
            }
        }
    }
    best
}

/// min ‖X·w − y‖² over w ≥ 0 for three columns: the unconstrained solution
/// if it is non-negative, else the best over the solutions with some
/// coefficients fixed at 0 (exact for three unknowns).
fn nonnegative_least_squares(x: &[[f64; 3]], y: &[f64]) -> Option<[f64; 3]> {
    let mut best: Option<([f64; 3], f64)> = None;
    for mask in 1u8..8 {
        let cols: Vec<usize> = (0..3).filter(|c| mask & (1 << c) != 0).collect();
        let Some(w) = solve_subset(x, y, &cols) else {
            continue;
        };
        if w.iter().any(|&v| v < 0.0) {
            continue;
        }
        let sse: f64 = x
            .iter()
            .zip(y)
            .map(|(r, y)| (r[0] * w[0] + r[1] * w[1] + r[2] * w[2] - y).powi(2))
            .sum();
        if best.as_ref().is_none_or(|b| sse < b.1) {
            best = Some((w, sse));
        }
    }
    best.map(|b| b.0)
}

/// Normal equations over the columns `cols`, by Gaussian elimination.
fn solve_subset(x: &[[f64; 3]], y: &[f64], cols: &[usize]) -> Option<[f64; 3]> {
    let k = cols.len();
    let mut m = vec![vec![0.0; k + 1]; k];
    for (r, yv) in x.iter().zip(y) {
        for i in 0..k {
            for j in 0..k {
                m[i][j] += r[cols[i]] * r[cols[j]];
            }
            m[i][k] += r[cols[i]] * yv;
        }
    }
    for i in 0..k {
        let pivot = (i..k).max_by(|&a, &b| m[a][i].abs().total_cmp(&m[b][i].abs()))?;
        m.swap(i, pivot);
        if m[i][i].abs() < 1e-300 {
            return None;
        }
        let pivot_row = m[i].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != i {
                let f = row[i] / pivot_row[i];
                for (cell, p) in row.iter_mut().zip(&pivot_row).skip(i) {
                    *cell -= f * p;
                }
            }
        }
    }
    let mut w = [0.0; 3];
    for i in 0..k {
        w[cols[i]] = m[i][k] / m[i][i];
    }
    Some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_a_known_law() {
        let law = ScalingFit {
            e: 3.0,
            a: 40.0,
            alpha: 0.35,
            b: 200.0,
            beta: 0.4,
            rms: 0.0,
        };
        let points: Vec<ScalingPoint> = [1e5, 3e5, 1e6]
            .iter()
            .flat_map(|&n| {
                [2e5, 6e5, 2e6].map(|d| ScalingPoint {
                    params: n,
                    tokens: d,
                    test_nll: law.loss(n, d),
                })
            })
            .collect();
        let f = fit(&points).unwrap();
        assert!(f.rms < 1e-6, "{f:?}");
        assert!(
            (f.alpha - 0.35).abs() < 1e-9 && (f.beta - 0.4).abs() < 1e-9,
            "{f:?}"
        );
        assert!((f.e - 3.0).abs() < 1e-6, "{f:?}");
        // More compute, a larger best model.
        let small = f.best_params(1e11, 1e4, 1e8);
        let large = f.best_params(1e13, 1e4, 1e8);
        assert!(large > small * 2.0, "{small} {large}");
        assert!(fit(&points[..4]).is_none());
    }
}
