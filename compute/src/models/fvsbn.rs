//! FVSBN (fully visible sigmoid belief network) over binary pixels in raster
//! order: p(x_i = 1 | x_<i) = σ(bias[i] + Σ_{j<i} alpha[i, j] · x_j).
//!
//! Tensors: `fvsbn.alpha` [n, n] (Q8_0; only j < i is used) and `fvsbn.bias` [n].
//! While sampling, pixels not yet drawn are 0, so the full matrix-vector
//! product alpha · x gives the masked sum for the pixel being drawn: one
//! Q8 GEMV per step, and the loop never leaves the GPU.

use crate::{
    error::ComputeError,
    executor::{sampling_loop, Executor, GpuTensor},
    kernels::{
        elementwise::{activation, binary, Activation, Binary},
        q8::{linear_q8, GpuQ8},
        sample::{sample, SampleTarget, Sampler},
    },
    reference::{elementwise::activation_ref, sample::sample_ref},
    weights::{Q8Matrix, TensorSpec, WeightFile},
};

#[derive(Debug, Clone, PartialEq)]
pub struct Fvsbn {
    pub alpha: Q8Matrix,
    pub bias: Vec<f32>,
}

impl Fvsbn {
    pub fn specs(pixels: usize) -> Vec<TensorSpec> {
        vec![
            TensorSpec::q8_0("fvsbn.alpha", pixels, pixels),
            TensorSpec::f32("fvsbn.bias", &[pixels]),
        ]
    }

    pub fn from_weights(w: &WeightFile) -> Option<Fvsbn> {
        Some(Fvsbn {
            alpha: w.q8_0("fvsbn.alpha")?.clone(),
            bias: w.f32("fvsbn.bias")?.to_vec(),
        })
    }

    pub fn pixels(&self) -> usize {
        self.bias.len()
    }

    /// Draws one image on the CPU, drawing the same random numbers as the GPU.
    pub fn sample_ref(&self, seed: u64) -> Result<Vec<f32>, ComputeError> {
        let n = self.pixels();
        let alpha = self.alpha.dequantize();
        let mut x = vec![0.0f32; n];
        for i in 0..n {
            let logit = self.bias[i]
                + alpha[i * n..i * n + i]
                    .iter()
                    .zip(&x)
                    .map(|(a, v)| a * v)
                    .sum::<f32>();
            let p = activation_ref(&[logit], Activation::Sigmoid)?;
            x[i] = sample_ref(Sampler::Bernoulli, &p, 1, 1, seed, i as u32)[0] as f32;
        }
        Ok(x)
    }
}

/// The model's tensors on the GPU.
pub struct FvsbnGpu {
    pixels: usize,
    alpha: GpuQ8,
    bias: GpuTensor,
}

impl FvsbnGpu {
    pub fn upload(exec: &Executor, model: &Fvsbn) -> FvsbnGpu {
        FvsbnGpu {
            pixels: model.pixels(),
            alpha: GpuQ8::upload(exec, &model.alpha),
            bias: exec.upload(&model.bias),
        }
    }

    /// Draws one image pixel by pixel on the GPU. `on_progress(done, image)`
    /// sees the partial image every `progress_every` pixels.
    pub async fn sample(
        &self,
        exec: &Executor,
        seed: u64,
        progress_every: usize,
        on_progress: impl FnMut(usize, &[f32]),
    ) -> Result<Vec<f32>, ComputeError> {
        let image = exec.zeros(self.pixels);
        let one = exec.empty(1);
        sampling_loop(
            exec,
            self.pixels,
            progress_every,
            &image,
            |rec, i| {
                let logits = linear_q8(rec, &image, &self.alpha, 1)?;
                let shifted = binary(rec, &logits, &self.bias, Binary::Add)?;
                let probs = activation(rec, &shifted, Activation::Sigmoid);
                rec.copy(&probs, i, &one, 0, 1);
                sample(
                    rec,
                    Sampler::Bernoulli,
                    &one,
                    1,
                    1,
                    seed,
                    i as u32,
                    &image,
                    SampleTarget {
                        offset: i,
                        as_index: false,
                    },
                )
            },
            on_progress,
        )
        .await
    }
}
