//! MADE (Germain et al. 2015): an autoencoder made autoregressive by masks.
//! Hidden unit k gets a degree m(k) in 1..n−1; input j (1-based) feeds k only
//! if m(k) ≥ j, and k feeds output i (1-based) only if i > m(k). So output i
//! depends only on inputs j < i, and one pass gives all n conditionals.
//!
//! With raster order, the pixel just left of i feeds only the hidden units
//! whose degree is exactly i − 1: about d/n of them. A direct, strictly
//! lower-triangular input→output matrix `A` (as in the MADE authors' code)
//! gives every pixel its neighbours.
//!
//! Tensors: `made.W1` [d, n], `made.W2` [n, d] and `made.A` [n, n] (Q8_0),
//! `made.b1` [d], `made.b2` [n], `made.degrees` [1, d] (f32, the mask).
//! The loader zeroes masked weights, so the kernels need no masks.

use super::PIXELS;
use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        elementwise::{activation, add_scaled_row, binary, Activation, Binary},
        q8::{gemv_q8_rows, linear_q8, GpuQ8},
    },
    weights::{padded_cols, Q8Matrix, TensorSpec, WeightFile},
};

pub const HIDDEN: usize = 300;

#[derive(Debug, Clone, PartialEq)]
pub struct Made {
    /// Masked: W1[k, j] = 0 unless degree[k] ≥ j + 1.
    pub w1: Q8Matrix,
    pub b1: Vec<f32>,
    /// Masked: W2[i, k] = 0 unless i + 1 > degree[k].
    pub w2: Q8Matrix,
    pub b2: Vec<f32>,
    pub a: Q8Matrix,
    pub degrees: Vec<u32>,
    w1_t: Vec<f32>,
    w2_f32: Vec<f32>,
    a_f32: Vec<f32>,
}

/// Input j → hidden k is allowed.
pub fn input_mask(degree: u32, j: usize) -> bool {
    degree as usize > j
}

/// Hidden k → output i is allowed.
pub fn output_mask(degree: u32, i: usize) -> bool {
    i + 1 > degree as usize
}

/// Zeroes the entries of `m` where `keep(row, col)` is false.
fn masked(m: &Q8Matrix, keep: impl Fn(usize, usize) -> bool) -> Q8Matrix {
    let mut out = m.clone();
    let cp = padded_cols(m.cols);
    for r in 0..m.rows {
        for c in 0..m.cols {
            if !keep(r, c) {
                out.quants[r * cp + c] = 0;
            }
        }
    }
    out
}

impl Made {
    pub fn specs() -> Vec<TensorSpec> {
        vec![
            TensorSpec::q8_0("made.W1", HIDDEN, PIXELS),
            TensorSpec::f32("made.b1", &[HIDDEN]),
            TensorSpec::q8_0("made.W2", PIXELS, HIDDEN),
            TensorSpec::f32("made.b2", &[PIXELS]),
            TensorSpec::q8_0("made.A", PIXELS, PIXELS),
            TensorSpec::f32("made.degrees", &[1, HIDDEN]),
        ]
    }

    pub fn from_weights(f: &WeightFile) -> Result<Made, ComputeError> {
        let bad = |what: &str| ComputeError::Cpu(format!("{}: {what}", f.file));
        let get = |name: &str| f.q8_0(name).ok_or_else(|| bad("a tensor is missing"));
        let degrees: Vec<u32> = f
            .f32("made.degrees")
            .ok_or_else(|| bad("made.degrees is missing"))?
            .iter()
            .map(|&d| {
                (d.fract() == 0.0 && d >= 1.0 && d < PIXELS as f32)
                    .then_some(d as u32)
                    .ok_or_else(|| bad("a MADE degree is not an integer in 1..783"))
            })
            .collect::<Result<_, _>>()?;
        let w1 = masked(get("made.W1")?, |k, j| input_mask(degrees[k], j));
        let w2 = masked(get("made.W2")?, |i, k| output_mask(degrees[k], i));
        let a = masked(get("made.A")?, |i, j| j < i);
        let w1_t = crate::models::transpose(&w1.dequantize(), HIDDEN, PIXELS);
        Ok(Made {
            w2_f32: w2.dequantize(),
            a_f32: a.dequantize(),
            w1_t,
            w1,
            b1: f
                .f32("made.b1")
                .ok_or_else(|| bad("made.b1 is missing"))?
                .to_vec(),
            w2,
            b2: f
                .f32("made.b2")
                .ok_or_else(|| bad("made.b2 is missing"))?
                .to_vec(),
            a,
            degrees,
        })
    }

    /// Weights the masks leave in use.
    pub fn params(&self) -> usize {
        let w1: usize = self.degrees.iter().map(|&d| d as usize).sum();
        let w2: usize = self.degrees.iter().map(|&d| PIXELS - d as usize).sum();
        w1 + w2 + HIDDEN + PIXELS + PIXELS * (PIXELS - 1) / 2
    }

    /// The hidden pre-activations b1 + W1 · x (scaled by x_j, which changes
    /// nothing for a binary image).
    pub fn preactivation(&self, x: &[f32]) -> Vec<f32> {
        let mut h = self.b1.clone();
        for (j, &v) in x.iter().enumerate().filter(|(_, &v)| v != 0.0) {
            for (hk, wk) in h.iter_mut().zip(&self.w1_t[j * HIDDEN..(j + 1) * HIDDEN]) {
                *hk += wk * v;
            }
        }
        h
    }

    /// ∂ logit_i / ∂ x_j for every j (zero from i on): through the hidden
    /// units that are on, Σ_k W2[i, k] [pre_k > 0] W1[k, j], plus A[i, j].
    pub fn logit_gradient(&self, x: &[f32], i: usize) -> Vec<f32> {
        let pre = self.preactivation(x);
        let g: Vec<f32> = pre
            .iter()
            .zip(&self.w2_f32[i * HIDDEN..(i + 1) * HIDDEN])
            .map(|(&p, &w)| if p > 0.0 { w } else { 0.0 })
            .collect();
        (0..PIXELS)
            .map(|j| match j < i {
                true => {
                    let hidden: f32 = g
                        .iter()
                        .zip(&self.w1_t[j * HIDDEN..(j + 1) * HIDDEN])
                        .map(|(a, b)| a * b)
                        .sum();
                    hidden + self.a_f32[i * PIXELS + j]
                }
                false => 0.0,
            })
            .collect()
    }

    /// Adds input j (set to 1) to the pre-activations.
    pub fn observe(&self, h: &mut [f32], j: usize) {
        for (hk, wk) in h.iter_mut().zip(&self.w1_t[j * HIDDEN..(j + 1) * HIDDEN]) {
            *hk += wk;
        }
    }

    /// b2[i] + W2[i, :] · relu(pre) + A[i, <i] · x_<i.
    pub fn logit_from(&self, pre: &[f32], x: &[f32], i: usize) -> f32 {
        let hidden: f32 = self.w2_f32[i * HIDDEN..(i + 1) * HIDDEN]
            .iter()
            .zip(pre)
            .map(|(w, &p)| w * p.max(0.0))
            .sum();
        let direct: f32 = self.a_f32[i * PIXELS..i * PIXELS + i]
            .iter()
            .zip(x)
            .map(|(a, v)| a * v)
            .sum();
        self.b2[i] + hidden + direct
    }

    pub fn logits_ref(&self, x: &[f32]) -> Vec<f32> {
        let pre = self.preactivation(x);
        (0..PIXELS).map(|i| self.logit_from(&pre, x, i)).collect()
    }
}

pub struct MadeGpu {
    w1: GpuQ8,
    /// Masked W1 transposed and dequantized, f32 [n, d].
    w1_t: GpuTensor,
    b1: GpuTensor,
    w2: GpuQ8,
    b2: GpuTensor,
    a: GpuQ8,
}

impl MadeGpu {
    pub fn upload(exec: &Executor, m: &Made) -> MadeGpu {
        MadeGpu {
            w1: GpuQ8::upload(exec, &m.w1),
            w1_t: exec.upload(&m.w1_t),
            b1: exec.upload(&m.b1),
            w2: GpuQ8::upload(exec, &m.w2),
            b2: exec.upload(&m.b2),
            a: GpuQ8::upload(exec, &m.a),
        }
    }

    /// All n logits in one pass: W2 · relu(W1 · x + b1) + b2 + A · x.
    pub fn record_logits(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
    ) -> Result<GpuTensor, ComputeError> {
        let pre = linear_q8(rec, image, &self.w1, 1)?;
        let pre = binary(rec, &pre, &self.b1, Binary::Add)?;
        let h = activation(rec, &pre, Activation::Relu);
        let z = linear_q8(rec, &h, &self.w2, 1)?;
        let z = binary(rec, &z, &self.b2, Binary::Add)?;
        let direct = linear_q8(rec, image, &self.a, 1)?;
        binary(rec, &z, &direct, Binary::Add)
    }

    /// The running hidden pre-activations b1 + W1 · image for a prefix.
    pub fn record_state(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
    ) -> Result<GpuTensor, ComputeError> {
        let pre = linear_q8(rec, image, &self.w1, 1)?;
        binary(rec, &pre, &self.b1, Binary::Add)
    }

    /// Pixel i's logit: W2[i, :] · relu(pre) + A[i, :] · x + b2[i], O(d + n).
    pub fn record_step_logit(
        &self,
        rec: &mut Recording<'_>,
        pre: &GpuTensor,
        image: &GpuTensor,
        i: usize,
    ) -> Result<GpuTensor, ComputeError> {
        let h = activation(rec, pre, Activation::Relu);
        let z = gemv_q8_rows(rec, &h, &self.w2, i, 1)?;
        let direct = gemv_q8_rows(rec, image, &self.a, i, 1)?;
        let z = binary(rec, &z, &direct, Binary::Add)?;
        super::fvsbn::add_entry(rec, &z, &self.b2, i)
    }

    /// Adds input i, once drawn, to the pre-activations.
    pub fn record_observe(
        &self,
        rec: &mut Recording<'_>,
        pre: &GpuTensor,
        image: &GpuTensor,
        i: usize,
    ) -> Result<(), ComputeError> {
        add_scaled_row(rec, pre, &self.w1_t, image, i)
    }
}
