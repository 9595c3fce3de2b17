//! FVSBN: p(x_i = 1 | x_<i) = σ(bias[i] + Σ_{j<i} alpha[i, j] · x_j).
//! Shipped as `fvsbn.alpha` (Q8_0 [784, 784], zero on and above the
//! diagonal) and `fvsbn.bias` (f32 [784]).

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor, Var};
use compute::{
    inputs::uniform_signed,
    weights::{Q8Matrix, Tensor as Stored, TensorSpec},
};

use super::ArModel;
use crate::data::PIXELS;

pub struct Fvsbn {
    alpha: Var,
    bias: Var,
    mask: Tensor,
}

/// Strictly lower-triangular ones: pixel i sees only pixels j < i.
pub fn strictly_lower(n: usize, dev: &Device) -> Result<Tensor> {
    let m: Vec<f32> = (0..n * n)
        .map(|k| if k % n < k / n { 1.0 } else { 0.0 })
        .collect();
    Tensor::from_vec(m, (n, n), dev)
}

impl Fvsbn {
    pub fn new(seed: u64) -> Result<Fvsbn> {
        let dev = &Device::Cpu;
        let alpha = uniform_signed(seed, PIXELS * PIXELS)
            .into_iter()
            .map(|v| 0.01 * v)
            .collect::<Vec<_>>();
        Ok(Fvsbn {
            alpha: Var::from_tensor(&Tensor::from_vec(alpha, (PIXELS, PIXELS), dev)?)?,
            bias: Var::zeros(PIXELS, DType::F32, dev)?,
            mask: strictly_lower(PIXELS, dev)?,
        })
    }

    /// The tensors the shipped file must hold.
    pub fn specs() -> Vec<TensorSpec> {
        vec![
            TensorSpec::q8_0("fvsbn.alpha", PIXELS, PIXELS),
            TensorSpec::f32("fvsbn.bias", &[PIXELS]),
        ]
    }

    fn masked_alpha(&self) -> Result<Tensor> {
        self.alpha.as_tensor() * &self.mask
    }
}

impl ArModel for Fvsbn {
    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.masked_alpha()?.t()?)?
            .broadcast_add(self.bias.as_tensor())
    }

    fn vars(&self) -> Vec<Var> {
        vec![self.alpha.clone(), self.bias.clone()]
    }

    /// Parameters in use: the strictly lower triangle of alpha, n(n−1)/2,
    /// plus n biases. The masked upper half is stored but never used.
    fn params(&self) -> usize {
        PIXELS * (PIXELS - 1) / 2 + PIXELS
    }

    fn export(&self) -> Result<BTreeMap<String, Stored>> {
        let alpha = self.masked_alpha()?.flatten_all()?.to_vec1::<f32>()?;
        Ok(BTreeMap::from([
            (
                "fvsbn.alpha".to_string(),
                Stored::Q8_0(Q8Matrix::quantize(&alpha, PIXELS, PIXELS)),
            ),
            (
                "fvsbn.bias".to_string(),
                Stored::F32 {
                    shape: vec![PIXELS],
                    data: self.bias.as_tensor().to_vec1()?,
                },
            ),
        ]))
    }

    fn from_export(t: &BTreeMap<String, Stored>) -> Result<Fvsbn> {
        let dev = &Device::Cpu;
        let (Some(Stored::Q8_0(alpha)), Some(Stored::F32 { data: bias, .. })) =
            (t.get("fvsbn.alpha"), t.get("fvsbn.bias"))
        else {
            candle_core::bail!("fvsbn export is missing fvsbn.alpha or fvsbn.bias")
        };
        Ok(Fvsbn {
            alpha: Var::from_tensor(&Tensor::from_vec(
                alpha.dequantize(),
                (PIXELS, PIXELS),
                dev,
            )?)?,
            bias: Var::from_tensor(&Tensor::from_slice(bias, PIXELS, dev)?)?,
            mask: strictly_lower(PIXELS, dev)?,
        })
    }
}
