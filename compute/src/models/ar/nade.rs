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
        elementwise::{activation, binary, Activation, Binary},
        q8::{linear_q8, GpuQ8},
    },
    weights::{Q8Matrix, TensorSpec, WeightFile},
};

pub const HIDDEN: usize = 500;

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
        let wd = w.dequantize();
        let mut w_t = vec![0.0; HIDDEN * PIXELS];
        for k in 0..HIDDEN {
            for i in 0..PIXELS {
                w_t[i * HIDDEN + k] = wd[k * PIXELS + i];
            }
        }
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

    /// a = c + W · x over the pixels set so far.
    pub fn preactivation(&self, x: &[f32]) -> Vec<f32> {
        let mut a = self.c.clone();
        for (i, _) in x.iter().enumerate().filter(|(_, &v)| v != 0.0) {
            self.observe(&mut a, i);
        }
        a
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
    c: GpuTensor,
    v: GpuQ8,
    b: GpuTensor,
}

impl NadeGpu {
    pub fn upload(exec: &Executor, m: &Nade) -> NadeGpu {
        NadeGpu {
            w: GpuQ8::upload(exec, &m.w),
            c: exec.upload(&m.c),
            v: GpuQ8::upload(exec, &m.v),
            b: exec.upload(&m.b),
        }
    }

    /// Logits for an image whose pixels from i on are still 0: then
    /// a = c + W · image is exactly a_i, and entry i of the result is pixel
    /// i's logit. (Later entries are not conditionals of anything.)
    pub fn record_logits(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
    ) -> Result<GpuTensor, ComputeError> {
        let a = linear_q8(rec, image, &self.w, 1)?;
        let a = binary(rec, &a, &self.c, Binary::Add)?;
        let h = activation(rec, &a, Activation::Sigmoid);
        let z = linear_q8(rec, &h, &self.v, 1)?;
        binary(rec, &z, &self.b, Binary::Add)
    }
}
