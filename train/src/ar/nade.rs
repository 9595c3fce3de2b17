//! NADE (Larochelle & Murray 2011) with H hidden units:
//!   h_i = σ(c + W[:, <i] · x_<i),  p(x_i = 1 | x_<i) = σ(b[i] + V[i, :] · h_i).
//! All 784 conditionals at once: a_i = c + Σ_{j<i} x_j W[:, j] is an
//! exclusive prefix sum over pixels, the O(nd) recursion a_{i+1} = a_i + W[:, i] x_i.
//! Shipped as `nade.W` (Q8_0 [H, 784]), `nade.c` [H], `nade.V` (Q8_0 [784, H]), `nade.b` [784].

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor, Var, D};
use compute::{
    inputs::uniform_signed,
    weights::{Q8Matrix, Tensor as Stored, TensorSpec},
};

use super::ArModel;
use crate::data::PIXELS;

pub struct Nade {
    hidden: usize,
    w: Var,
    c: Var,
    v: Var,
    b: Var,
}

fn init(seed: u64, rows: usize, cols: usize, scale: f32) -> Result<Var> {
    let values = uniform_signed(seed, rows * cols)
        .into_iter()
        .map(|x| scale * x)
        .collect::<Vec<_>>();
    Var::from_tensor(&Tensor::from_vec(values, (rows, cols), &Device::Cpu)?)
}

impl Nade {
    pub fn new(hidden: usize, seed: u64) -> Result<Nade> {
        let dev = &Device::Cpu;
        Ok(Nade {
            hidden,
            w: init(seed, hidden, PIXELS, (1.0 / PIXELS as f32).sqrt())?,
            c: Var::zeros(hidden, DType::F32, dev)?,
            v: init(seed + 1, PIXELS, hidden, (1.0 / hidden as f32).sqrt())?,
            b: Var::zeros(PIXELS, DType::F32, dev)?,
        })
    }
}

/// Inclusive prefix sum over dim 1 (the 784 pixels) of [batch, 784, h].
/// candle's `cumsum` multiplies by an n × n triangle (O(n²) per column);
/// summing within each image row of 28, then across the 28 rows, costs
/// about 28 operations per element instead of 784.
pub fn prefix_sum_over_pixels(t: &Tensor) -> Result<Tensor> {
    let (b, n, h) = t.dims3()?;
    let side = 28;
    if n != side * side {
        return t.cumsum(1);
    }
    let blocks = t.reshape((b, side, side, h))?;
    let within = blocks.cumsum(2)?;
    let row_totals = within.narrow(2, side - 1, 1)?.squeeze(2)?; // [b, 28, h]
    let before_row = (row_totals.cumsum(1)? - &row_totals)?;
    within
        .broadcast_add(&before_row.unsqueeze(2)?)?
        .reshape((b, n, h))
}

impl Nade {
    /// The same parameters as flat arrays, for the hand-written gradient.
    pub fn to_params(&self) -> Result<super::nade_grad::NadeParams> {
        let flat = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
        Ok(super::nade_grad::NadeParams {
            hidden: self.hidden,
            wt: flat(&self.w.as_tensor().t()?.contiguous()?)?,
            c: flat(self.c.as_tensor())?,
            v: flat(self.v.as_tensor())?,
            b: flat(self.b.as_tensor())?,
        })
    }

    /// Loads flat parameters back into the candle model (for export and checks).
    pub fn set_params(&self, p: &super::nade_grad::NadeParams) -> Result<()> {
        let dev = &Device::Cpu;
        let wt = Tensor::from_slice(&p.wt, (PIXELS, p.hidden), dev)?;
        self.w.set(&wt.t()?.contiguous()?)?;
        self.c.set(&Tensor::from_slice(&p.c, p.hidden, dev)?)?;
        self.v
            .set(&Tensor::from_slice(&p.v, (PIXELS, p.hidden), dev)?)?;
        self.b.set(&Tensor::from_slice(&p.b, PIXELS, dev)?)
    }

    /// The tensors the shipped file must hold.
    pub fn specs(hidden: usize) -> Vec<TensorSpec> {
        vec![
            TensorSpec::q8_0("nade.W", hidden, PIXELS),
            TensorSpec::f32("nade.c", &[hidden]),
            TensorSpec::q8_0("nade.V", PIXELS, hidden),
            TensorSpec::f32("nade.b", &[PIXELS]),
        ]
    }
}

impl ArModel for Nade {
    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        // contributions[b, j, :] = x[b, j] · W[:, j]; a_i sums those with j < i.
        let contributions = x
            .unsqueeze(2)?
            .broadcast_mul(&self.w.as_tensor().t()?.unsqueeze(0)?)?;
        let inclusive = prefix_sum_over_pixels(&contributions)?;
        let a = (inclusive - &contributions)?.broadcast_add(self.c.as_tensor())?;
        let h = candle_nn::ops::sigmoid(&a)?;
        h.broadcast_mul(&self.v.as_tensor().unsqueeze(0)?)?
            .sum(D::Minus1)?
            .broadcast_add(self.b.as_tensor())
    }

    fn vars(&self) -> Vec<Var> {
        vec![
            self.w.clone(),
            self.c.clone(),
            self.v.clone(),
            self.b.clone(),
        ]
    }

    fn export(&self) -> Result<BTreeMap<String, Stored>> {
        let h = self.hidden;
        let flat = |v: &Var| v.as_tensor().flatten_all()?.to_vec1::<f32>();
        Ok(BTreeMap::from([
            (
                "nade.W".to_string(),
                Stored::Q8_0(Q8Matrix::quantize(&flat(&self.w)?, h, PIXELS)),
            ),
            (
                "nade.c".to_string(),
                Stored::F32 {
                    shape: vec![h],
                    data: flat(&self.c)?,
                },
            ),
            (
                "nade.V".to_string(),
                Stored::Q8_0(Q8Matrix::quantize(&flat(&self.v)?, PIXELS, h)),
            ),
            (
                "nade.b".to_string(),
                Stored::F32 {
                    shape: vec![PIXELS],
                    data: flat(&self.b)?,
                },
            ),
        ]))
    }

    fn from_export(t: &BTreeMap<String, Stored>) -> Result<Nade> {
        let dev = &Device::Cpu;
        let (
            Some(Stored::Q8_0(w)),
            Some(Stored::F32 { data: c, .. }),
            Some(Stored::Q8_0(v)),
            Some(Stored::F32 { data: b, .. }),
        ) = (
            t.get("nade.W"),
            t.get("nade.c"),
            t.get("nade.V"),
            t.get("nade.b"),
        )
        else {
            candle_core::bail!("nade export is missing a tensor")
        };
        let var = |values: Vec<f32>, shape: (usize, usize)| {
            Var::from_tensor(&Tensor::from_vec(values, shape, dev)?)
        };
        Ok(Nade {
            hidden: w.rows,
            w: var(w.dequantize(), (w.rows, PIXELS))?,
            c: Var::from_tensor(&Tensor::from_slice(c, c.len(), dev)?)?,
            v: var(v.dequantize(), (PIXELS, v.cols))?,
            b: Var::from_tensor(&Tensor::from_slice(b, PIXELS, dev)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_level_prefix_sum_equals_cumsum() {
        let values = uniform_signed(5, 2 * PIXELS * 3);
        let t = Tensor::from_vec(values, (2, PIXELS, 3), &Device::Cpu).unwrap();
        let fast = prefix_sum_over_pixels(&t)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let slow = t
            .cumsum(1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let worst = fast
            .iter()
            .zip(&slow)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{worst}");
    }
}
