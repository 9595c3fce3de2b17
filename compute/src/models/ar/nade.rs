//! NADE (Larochelle & Murray 2011): one hidden layer shared by all the
//! conditionals. h_i = σ(c + W[:, <i] · x_<i), p(x_i = 1 | x_<i) =
//! σ(b[i] + V[i, :] · h_i). The pre-activation obeys a_{i+1} = a_i +
//! W[:, i] · x_i, so all n conditionals cost O(nd), not O(n²d).
//!
//! Tensors: `nade.W` [d, n] and `nade.V` [n, d] (Q8_0), `nade.c` [d], `nade.b` [n].

use super::{sigmoid, PIXELS};
use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        elementwise::{activation, add_scaled_row, binary, Activation, Binary},
        q8::{gemv_q8_rows, linear_q8, GpuQ8},
    },
    weights::{Q8Matrix, TensorSpec, WeightFile},
};

pub const HIDDEN: usize = 500;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Nade {
    pub w: Q8Matrix,
    pub c: Vec<f32>,
    pub v: Q8Matrix,
    pub b: Vec<f32>,
    /// W transposed and dequantized: row i is column W[:, i].
    w_t: Vec<f32>,
    v_f32: Vec<f32>,
}

impl Nade {
    pub fn specs() -> Vec<TensorSpec> {
        vec![
            TensorSpec::q8_0("nade.W", HIDDEN, PIXELS),
            TensorSpec::f32("nade.c", &[HIDDEN]),
            TensorSpec::q8_0("nade.V", PIXELS, HIDDEN),
            TensorSpec::f32("nade.b", &[PIXELS]),
        ]
    }

    pub fn from_weights(f: &WeightFile) -> Option<Nade> {
        let w = f.q8_0("nade.W")?.clone();
        let v = f.q8_0("nade.V")?.clone();
        let w_t = crate::models::transpose(&w.dequantize(), HIDDEN, PIXELS);
        Some(Nade {
            v_f32: v.dequantize(),
            w,
            c: f.f32("nade.c")?.to_vec(),
            v,
            b: f.f32("nade.b")?.to_vec(),
            w_t,
        })
    }

    pub fn params(&self) -> usize {
        2 * HIDDEN * PIXELS + HIDDEN + PIXELS
    }

    /// a = c + W · x over the pixels set so far. Scaling by x_i changes
    /// nothing for a binary image, and makes a real-valued x (a gradient
    /// check) mean what it says.
    pub fn preactivation(&self, x: &[f32]) -> Vec<f32> {
        let mut a = self.c.clone();
        for (i, &v) in x.iter().enumerate().filter(|(_, &v)| v != 0.0) {
            for (ak, wk) in a.iter_mut().zip(&self.w_t[i * HIDDEN..(i + 1) * HIDDEN]) {
                *ak += wk * v;
            }
        }
        a
    }

    /// ∂ logit_i / ∂ x_j for every j (zero from i on): Σ_k V[i, k] σ'(a_k) W[k, j],
    /// with a the pre-activation of x_<i.
    pub fn logit_gradient(&self, x: &[f32], i: usize) -> Vec<f32> {
        let mut prefix = x[..i].to_vec();
        prefix.resize(PIXELS, 0.0);
        let a = self.preactivation(&prefix);
        let g: Vec<f32> = a
            .iter()
            .zip(&self.v_f32[i * HIDDEN..(i + 1) * HIDDEN])
            .map(|(&ak, v)| v * sigmoid(ak) * (1.0 - sigmoid(ak)))
            .collect();
        (0..PIXELS)
            .map(|j| match j < i {
                true => dot(&g, &self.w_t[j * HIDDEN..(j + 1) * HIDDEN]),
                false => 0.0,
            })
            .collect()
    }

    /// How strongly each input reaches the hidden layer: ‖W[:, j]‖.
    pub fn input_strength(&self) -> Vec<f32> {
        self.w_t
            .chunks(HIDDEN)
            .map(|column| dot(column, column).sqrt())
            .collect()
    }

    /// The recursion a ← a + W[:, i] for x_i = 1.
    pub fn observe(&self, a: &mut [f32], i: usize) {
        for (ak, wk) in a.iter_mut().zip(&self.w_t[i * HIDDEN..(i + 1) * HIDDEN]) {
            *ak += wk;
        }
    }

    /// b[i] + V[i, :] · σ(a).
    pub fn logit_from(&self, a: &[f32], i: usize) -> f32 {
        self.b[i]
            + self.v_f32[i * HIDDEN..(i + 1) * HIDDEN]
                .iter()
                .zip(a)
                .map(|(v, &ak)| v * sigmoid(ak))
                .sum::<f32>()
    }

    /// Teacher forcing through the recursion: O(nd).
    pub fn logits_ref(&self, x: &[f32]) -> Vec<f32> {
        let mut a = self.c.clone();
        (0..PIXELS)
            .map(|i| {
                let z = self.logit_from(&a, i);
                if x[i] != 0.0 {
                    self.observe(&mut a, i);
                }
                z
            })
            .collect()
    }
}

pub struct NadeGpu {
    w: GpuQ8,
    /// W transposed and dequantized, f32 [n, d]: row i is column W[:, i],
    /// the same numbers the CPU's recursion adds.
    w_t: GpuTensor,
    c: GpuTensor,
    v: GpuQ8,
    b: GpuTensor,
}

impl NadeGpu {
    pub fn upload(exec: &Executor, m: &Nade) -> NadeGpu {
        NadeGpu {
            w: GpuQ8::upload(exec, &m.w),
            w_t: exec.upload(&m.w_t),
            c: exec.upload(&m.c),
            v: GpuQ8::upload(exec, &m.v),
            b: exec.upload(&m.b),
        }
    }

    /// The running pre-activation a = c + W · image for a chain's prefix.
    pub fn record_state(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
    ) -> Result<GpuTensor, ComputeError> {
        let a = linear_q8(rec, image, &self.w, 1)?;
        binary(rec, &a, &self.c, Binary::Add)
    }

    /// Pixel i's logit from a = a_i: b[i] + V[i, :] · σ(a), O(d).
    pub fn record_step_logit(
        &self,
        rec: &mut Recording<'_>,
        a: &GpuTensor,
        i: usize,
    ) -> Result<GpuTensor, ComputeError> {
        let h = activation(rec, a, Activation::Sigmoid);
        let z = gemv_q8_rows(rec, &h, &self.v, i, 1)?;
        super::fvsbn::add_entry(rec, &z, &self.b, i)
    }

    /// The recursion a_{i+1} = a_i + W[:, i] · x_i, with x_i read on the GPU.
    pub fn record_observe(
        &self,
        rec: &mut Recording<'_>,
        a: &GpuTensor,
        image: &GpuTensor,
        i: usize,
    ) -> Result<(), ComputeError> {
        add_scaled_row(rec, a, &self.w_t, image, i)
    }
}
