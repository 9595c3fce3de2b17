//! FVSBN (fully visible sigmoid belief network):
//! p(x_i = 1 | x_<i) = σ(bias[i] + Σ_{j<i} alpha[i, j] · x_j), one logistic
//! regression per pixel, n(n−1)/2 + n parameters.
//!
//! Tensors: `fvsbn.alpha` [n, n] (Q8_0; zero on and above the diagonal) and
//! `fvsbn.bias` [n]. Because alpha is strictly lower-triangular, one
//! matrix-vector product gives every pixel's logit from its prefix at once.

use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        elementwise::{binary, Binary},
        q8::{gemv_q8_rows, linear_q8, GpuQ8},
    },
    reference::{elementwise::binary_ref, q8::linear_q8_ref},
    weights::{Q8Matrix, TensorSpec, WeightFile},
};

#[derive(Debug, Clone, PartialEq)]
pub struct Fvsbn {
    pub alpha: Q8Matrix,
    pub bias: Vec<f32>,
    /// `alpha` dequantized, for the CPU's per-pixel dot products.
    alpha_f32: Vec<f32>,
}

impl Fvsbn {
    pub fn specs(pixels: usize) -> Vec<TensorSpec> {
        vec![
            TensorSpec::q8_0("fvsbn.alpha", pixels, pixels),
            TensorSpec::f32("fvsbn.bias", &[pixels]),
        ]
    }

    pub fn new(alpha: Q8Matrix, bias: Vec<f32>) -> Fvsbn {
        let alpha_f32 = alpha.dequantize();
        Fvsbn {
            alpha,
            bias,
            alpha_f32,
        }
    }

    pub fn from_weights(w: &WeightFile) -> Option<Fvsbn> {
        Some(Fvsbn::new(
            w.q8_0("fvsbn.alpha")?.clone(),
            w.f32("fvsbn.bias")?.to_vec(),
        ))
    }

    pub fn pixels(&self) -> usize {
        self.bias.len()
    }

    pub fn params(&self) -> usize {
        let n = self.pixels();
        n * (n - 1) / 2 + n
    }

    /// Every pixel's logit from the true prefix: bias + alpha · x.
    pub fn logits_ref(&self, x: &[f32]) -> Result<Vec<f32>, ComputeError> {
        binary_ref(&linear_q8_ref(x, &self.alpha, 1)?, &self.bias, Binary::Add)
    }

    /// Row i of alpha over the prefix: the weight of each x_j, j < i, in
    /// pixel i's logit.
    pub fn alpha_row(&self, i: usize) -> &[f32] {
        let n = self.pixels();
        &self.alpha_f32[i * n..i * n + i]
    }

    /// Pixel i's logit from x_<i alone.
    pub fn logit_at(&self, x: &[f32], i: usize) -> f32 {
        let n = self.pixels();
        self.bias[i]
            + self.alpha_f32[i * n..i * n + i]
                .iter()
                .zip(x)
                .map(|(a, v)| a * v)
                .sum::<f32>()
    }
}

/// The model's tensors on the GPU.
pub struct FvsbnGpu {
    alpha: GpuQ8,
    bias: GpuTensor,
}

impl FvsbnGpu {
    pub fn upload(exec: &Executor, model: &Fvsbn) -> FvsbnGpu {
        FvsbnGpu {
            alpha: GpuQ8::upload(exec, &model.alpha),
            bias: exec.upload(&model.bias),
        }
    }

    /// All logits, each from its prefix of `image`: one Q8 GEMV and an add.
    pub fn record_logits(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
    ) -> Result<GpuTensor, ComputeError> {
        let z = linear_q8(rec, image, &self.alpha, 1)?;
        binary(rec, &z, &self.bias, Binary::Add)
    }

    /// Pixel i's logit alone: row i of alpha · image, plus bias[i]: O(i)
    /// work where the full product is O(n²).
    pub fn record_step_logit(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
        i: usize,
    ) -> Result<GpuTensor, ComputeError> {
        let z = gemv_q8_rows(rec, image, &self.alpha, i, 1)?;
        add_entry(rec, &z, &self.bias, i)
    }
}

/// `z + v[i]` for a one-value `z`.
pub(crate) fn add_entry(
    rec: &mut Recording<'_>,
    z: &GpuTensor,
    v: &GpuTensor,
    i: usize,
) -> Result<GpuTensor, ComputeError> {
    let vi = rec.exec().empty(1);
    rec.copy(v, i, &vi, 0, 1);
    binary(rec, z, &vi, Binary::Add)
}
