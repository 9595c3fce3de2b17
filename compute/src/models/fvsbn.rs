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
    reference::{
        elementwise::{activation_ref, binary_ref},
        q8::linear_q8_ref,
        sample::sample_ref,
    },
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

    /// Exact −log p(x) in nats of one binary image, on the CPU:
    /// Σ_i softplus(z_i) − x_i·z_i with z = bias + alpha·x (alpha is zero on
    /// and above the diagonal, so z_i sees only x_<i).
    pub fn nll_ref(&self, x: &[f32]) -> Result<f32, ComputeError> {
        let z = binary_ref(&linear_q8_ref(x, &self.alpha, 1)?, &self.bias, Binary::Add)?;
        Ok(bernoulli_nll(&z, x))
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

/// Σ_i softplus(z_i) − x_i·z_i, accumulated in f64.
pub fn bernoulli_nll(logits: &[f32], x: &[f32]) -> f32 {
    logits
        .iter()
        .zip(x)
        .map(|(&z, &v)| {
            let z = z as f64;
            z.max(0.0) + (-z.abs()).exp().ln_1p() - v as f64 * z
        })
        .sum::<f64>() as f32
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

    /// Exact −log p(x) of one image: all 784 logits in one GPU pass (teacher
    /// forcing), one readback, and the sum on the CPU.
    pub async fn nll(&self, exec: &Executor, x: &[f32]) -> Result<f32, ComputeError> {
        let image = exec.upload(x);
        let mut rec = exec.begin();
        let logits = linear_q8(&mut rec, &image, &self.alpha, 1)?;
        let z = binary(&mut rec, &logits, &self.bias, Binary::Add)?;
        exec.submit(rec)?;
        Ok(bernoulli_nll(&exec.read(&z).await?, x))
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
