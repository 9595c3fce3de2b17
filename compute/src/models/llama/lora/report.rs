//! The page's numbers about an adapter: what trains against what is
//! frozen, optimizer memory here and at LLaMA-2-7B's size, the singular
//! values of each update, and how much each matrix moved.

use serde::Serialize;

use super::{Adapter, Linear, LoraConfig, LoraPair, Targets};
use crate::models::llama::{Llama, LlamaConfig};

/// The sizes that decide parameter counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shape {
    pub dim: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub hidden: usize,
    pub vocab: usize,
}

/// LLaMA-2-7B, from meta-llama/Llama-2-7b-hf's config.json (hidden_size
/// 4096, num_hidden_layers 32, num_attention_heads 32,
/// num_key_value_heads 32, intermediate_size 11008, vocab_size 32000) and
/// Touvron et al. 2023, Table 1; its 6,738,415,616 parameters follow.
pub const LLAMA2_7B: Shape = Shape {
    dim: 4096,
    layers: 32,
    heads: 32,
    kv_heads: 32,
    hidden: 11008,
    vocab: 32000,
};

pub const LLAMA2_7B_SOURCE: &str =
    "meta-llama/Llama-2-7b-hf config.json; Touvron et al. 2023 (Llama 2), Table 1";

/// AdamW keeps two f32 moments per trained number.
pub const ADAM_BYTES_PER_PARAM: usize = 8;

impl Shape {
    pub fn of(c: &LlamaConfig) -> Shape {
        Shape {
            dim: c.dim,
            layers: c.n_layers,
            heads: c.n_heads,
            kv_heads: c.n_kv_heads,
            hidden: c.hidden_dim,
            vocab: c.vocab_size,
        }
    }

    /// [out, in] of a block's matrix.
    pub fn matrix(&self, l: Linear) -> (usize, usize) {
        let hd = self.dim / self.heads;
        match l {
            Linear::Wq => (self.heads * hd, self.dim),
            Linear::Wk | Linear::Wv => (self.kv_heads * hd, self.dim),
            Linear::Wo => (self.dim, self.heads * hd),
            Linear::W1 | Linear::W3 => (self.hidden, self.dim),
            Linear::W2 => (self.dim, self.hidden),
        }
    }

    /// Every parameter: embedding and output head (untied), each block's
    /// seven matrices and two norms, the final norm.
    pub fn params(&self) -> usize {
        let block: usize = Linear::ALL
            .iter()
            .map(|&l| {
                let (o, i) = self.matrix(l);
                o * i
            })
            .sum::<usize>()
            + 2 * self.dim;
        2 * self.vocab * self.dim + self.layers * block + self.dim
    }

    /// r·(in + out) for each adapted matrix of each block.
    pub fn lora_params(&self, rank: usize, targets: Targets) -> usize {
        let per_layer: usize = targets
            .linears()
            .iter()
            .map(|&l| {
                let (o, i) = self.matrix(l);
                rank * (o + i)
            })
            .sum();
        self.layers * per_layer
    }
}

/// Trainable numbers and optimizer memory, LoRA against full fine-tuning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sizes {
    pub lora_params: usize,
    pub full_params: usize,
    pub lora_optimizer_bytes: usize,
    pub full_optimizer_bytes: usize,
}

pub fn sizes(shape: &Shape, lora: &LoraConfig) -> Sizes {
    let lora_params = shape.lora_params(lora.rank, lora.targets);
    let full_params = shape.params();
    Sizes {
        lora_params,
        full_params,
        lora_optimizer_bytes: lora_params * ADAM_BYTES_PER_PARAM,
        full_optimizer_bytes: full_params * ADAM_BYTES_PER_PARAM,
    }
}

/// The singular values of ΔW = scale·B·A, largest first (at most r are
/// non-zero). With Aᵀ = Q·R (Gram–Schmidt), B·A = (B·Rᵀ)·Qᵀ and Q has
/// orthonormal columns, so the values are those of the [out, r] matrix
/// C = scale·B·Rᵀ: the square roots of CᵀC's eigenvalues (Jacobi).
pub fn singular_values(p: &LoraPair, rank: usize, scale: f32) -> Vec<f32> {
    let (r, n) = (rank, p.cols);
    // Rows of A are Aᵀ's columns.
    let mut q: Vec<Vec<f64>> = (0..r)
        .map(|k| p.a[k * n..(k + 1) * n].iter().map(|&v| v as f64).collect())
        .collect();
    let mut big_r = vec![vec![0f64; r]; r];
    for j in 0..r {
        for i in 0..j {
            let d: f64 = q[i].iter().zip(&q[j]).map(|(a, b)| a * b).sum();
            big_r[i][j] = d;
            let qi = q[i].clone();
            for (x, y) in q[j].iter_mut().zip(&qi) {
                *x -= d * y;
            }
        }
        let norm = q[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        big_r[j][j] = norm;
        if norm > 1e-30 {
            for x in &mut q[j] {
                *x /= norm;
            }
        }
    }
    // C = scale·B·Rᵀ, [out, r]; then CᵀC, r × r.
    let c: Vec<Vec<f64>> = (0..p.rows)
        .map(|o| {
            (0..r)
                .map(|j| {
                    scale as f64
                        * (0..r)
                            .map(|k| p.b[o * r + k] as f64 * big_r[j][k])
                            .sum::<f64>()
                })
                .collect()
        })
        .collect();
    let mut g = vec![vec![0f64; r]; r];
    for i in 0..r {
        for j in 0..r {
            g[i][j] = c.iter().map(|row| row[i] * row[j]).sum();
        }
    }
    let mut values: Vec<f32> = jacobi_eigenvalues(g)
        .into_iter()
        .map(|e| e.max(0.0).sqrt() as f32)
        .collect();
    values.sort_by(|a, b| b.total_cmp(a));
    values
}

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations.
#[allow(clippy::needless_range_loop)] // rows p and q change together
fn jacobi_eigenvalues(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    let n = a.len();
    for _sweep in 0..60 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum::<f64>().max(1e-300);
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i][i]).collect()
}

/// How far one adapted matrix moved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixChange {
    pub layer: usize,
    pub linear: Linear,
    pub singular_values: Vec<f32>,
    /// ‖ΔW‖_F / ‖W‖_F.
    pub relative: f32,
}

/// Every adapted matrix's singular values and relative change.
pub fn changes(model: &Llama, adapter: &Adapter) -> Vec<MatrixChange> {
    let (r, s) = (adapter.config.rank, adapter.config.scale());
    adapter
        .pairs
        .iter()
        .map(|p| {
            let l = &model.layers[p.layer];
            let w = match p.linear {
                Linear::Wq => &l.wq,
                Linear::Wk => &l.wk,
                Linear::Wv => &l.wv,
                Linear::Wo => &l.wo,
                Linear::W1 => &l.w1,
                Linear::W2 => &l.w2,
                Linear::W3 => &l.w3,
            };
            let w_norm = w.dequantize().iter().map(|v| v * v).sum::<f32>().sqrt();
            let singular_values = singular_values(p, r, s);
            let d_norm = singular_values.iter().map(|v| v * v).sum::<f32>().sqrt();
            MatrixChange {
                layer: p.layer,
                linear: p.linear,
                singular_values,
                relative: d_norm / w_norm.max(f32::MIN_POSITIVE),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::uniform_signed;

    #[test]
    fn llama2_7b_has_its_published_parameter_count() {
        assert_eq!(LLAMA2_7B.params(), 6_738_415_616);
        // The LoRA paper's setting on it: r = 8 on W_q and W_v.
        assert_eq!(
            LLAMA2_7B.lora_params(8, Targets::Qv),
            32 * 2 * 8 * (4096 + 4096)
        );
    }

    #[test]
    fn shape_counts_match_the_config() {
        let c = LlamaConfig {
            dim: 128,
            n_layers: 4,
            n_heads: 4,
            n_kv_heads: 2,
            hidden_dim: 384,
            vocab_size: 4467,
            norm_eps: 1e-5,
            rope_theta: 1e4,
            max_seq_len: 66,
        };
        assert_eq!(Shape::of(&c).params(), c.params());
        for t in Targets::ALL {
            let l = LoraConfig {
                rank: 4,
                alpha: 8.0,
                targets: t,
            };
            assert_eq!(Shape::of(&c).lora_params(4, t), l.trainable_params(&c));
        }
    }

    #[test]
    fn singular_values_match_the_frobenius_norm_and_a_rank_one_case() {
        let (rows, cols, r) = (24, 40, 4);
        let p = LoraPair {
            layer: 0,
            linear: Linear::Wq,
            rows,
            cols,
            a: uniform_signed(1, r * cols),
            b: uniform_signed(2, rows * r),
        };
        let sv = singular_values(&p, r, 0.5);
        assert_eq!(sv.len(), r);
        assert!(sv.windows(2).all(|w| w[0] >= w[1]));
        let fro: f32 = p.delta(r, 0.5).iter().map(|v| v * v).sum();
        let sum: f32 = sv.iter().map(|v| v * v).sum();
        assert!((fro - sum).abs() < 1e-3 * fro, "{fro} vs {sum}");
        // Rank one: σ = scale·|b|·|a|, the rest zero.
        let mut one = p.clone();
        for k in 1..r {
            for o in 0..rows {
                one.b[o * r + k] = 0.0;
            }
        }
        let sv = singular_values(&one, r, 2.0);
        let na = one.a[..cols].iter().map(|v| v * v).sum::<f32>().sqrt();
        let nb = (0..rows)
            .map(|o| one.b[o * r] * one.b[o * r])
            .sum::<f32>()
            .sqrt();
        assert!((sv[0] - 2.0 * na * nb).abs() < 1e-4 * sv[0]);
        assert!(sv[1..].iter().all(|&v| v < 1e-4 * sv[0]));
    }
}

/// One row of the LoRA paper's Table 6: validation accuracy (%) of GPT-3
/// 175B adapted at ranks 1, 2, 4, 8 and 64.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PaperRow {
    pub task: &'static str,
    pub weights: &'static str,
    pub accuracy: [f32; 5],
}

pub const PAPER_RANKS: [usize; 5] = [1, 2, 4, 8, 64];

pub const PAPER_SOURCE: &str =
    "Hu et al. 2021, LoRA: Low-Rank Adaptation of Large Language Models (arXiv:2106.09685), Table 6";

/// Hu et al.'s Table 6, as published.
pub const PAPER_TABLE6: [PaperRow; 6] = [
    PaperRow {
        task: "WikiSQL (±0.5%)",
        weights: "W_q",
        accuracy: [68.8, 69.6, 70.5, 70.4, 70.0],
    },
    PaperRow {
        task: "WikiSQL (±0.5%)",
        weights: "W_q, W_v",
        accuracy: [73.4, 73.3, 73.7, 73.8, 73.5],
    },
    PaperRow {
        task: "WikiSQL (±0.5%)",
        weights: "W_q, W_k, W_v, W_o",
        accuracy: [74.1, 73.7, 74.0, 74.0, 73.9],
    },
    PaperRow {
        task: "MultiNLI (±0.1%)",
        weights: "W_q",
        accuracy: [90.7, 90.9, 91.1, 90.7, 90.7],
    },
    PaperRow {
        task: "MultiNLI (±0.1%)",
        weights: "W_q, W_v",
        accuracy: [91.3, 91.4, 91.3, 91.6, 91.4],
    },
    PaperRow {
        task: "MultiNLI (±0.1%)",
        weights: "W_q, W_k, W_v, W_o",
        accuracy: [91.2, 91.7, 91.7, 91.5, 91.4],
    },
];

/// A row of `assets/models/lora/table.json`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TableRow {
    pub poet: String,
    pub rank: usize,
    pub targets: String,
    pub trainable_params: usize,
    pub poet_nll_before: f64,
    pub poet_nll_after: f64,
    pub others_nll_before: f64,
    pub others_nll_after: f64,
}

/// Full fine-tuning's row: every parameter trained on the same batches.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FullRow {
    pub poet: String,
    pub trainable_params: usize,
    pub poet_nll_before: f64,
    pub poet_nll_after: f64,
    pub others_nll_before: f64,
    pub others_nll_after: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RankTable {
    pub about: String,
    pub runs: Vec<TableRow>,
    pub full_fine_tune: Vec<FullRow>,
}
