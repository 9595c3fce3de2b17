//! MADE (Germain et al. 2015): an autoencoder whose weights are masked so
//! output i depends only on inputs j < i (raster order). Hidden unit k gets
//! a degree m(k) ∈ [1, 783]; input j (1-based d = j + 1) feeds k iff
//! m(k) ≥ d, and k feeds output i (1-based i + 1) iff i + 1 > m(k).
//! Training samples one of K fixed connectivity masks per minibatch; the
//! model's likelihood is the exact mixture p(x) = (1/K) Σ_k p_k(x).
//!
//! A direct, strictly lower-triangular input→output matrix gives each pixel
//! its neighbours (see compute's `models::ar::made`). The shipped model uses
//! one mask (K = 1): with 8k training digits, more masks trained each one
//! too little (105.7 nats with K = 8).
//!
//! Shipped tensors: compute's `made::Made::specs()`.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor, Var, D};
use compute::{
    inputs::{uniform_signed, SplitMix64},
    models::ar::made::{input_mask, output_mask},
    weights::{Q8Matrix, Tensor as Stored},
};

use super::{nll_per_image, ArModel};
use crate::data::PIXELS;

pub struct Made {
    hidden: usize,
    w1: Var,
    b1: Var,
    w2: Var,
    b2: Var,
    /// Direct input→output weights [784, 784], used strictly below the
    /// diagonal: an FVSBN inside the MADE, so each pixel sees its immediate
    /// neighbours, which only a handful of hidden units can.
    direct: Var,
    lower: Tensor,
    degrees: Vec<Vec<f32>>,
    /// Per mask: (input→hidden [H, 784], hidden→output [784, H]) as 0/1.
    masks: Vec<(Tensor, Tensor)>,
    /// The mask the next `logits` call uses while training.
    current: std::cell::Cell<usize>,
}

fn masks_for(degrees: &[f32], hidden: usize) -> Result<(Tensor, Tensor)> {
    let dev = &Device::Cpu;
    // The same rules the app's loader applies (compute's `made`).
    let m1: Vec<f32> = (0..hidden * PIXELS)
        .map(|e| input_mask(degrees[e / PIXELS] as u32, e % PIXELS) as u8 as f32)
        .collect();
    let m2: Vec<f32> = (0..PIXELS * hidden)
        .map(|e| output_mask(degrees[e % hidden] as u32, e / hidden) as u8 as f32)
        .collect();
    Ok((
        Tensor::from_vec(m1, (hidden, PIXELS), dev)?,
        Tensor::from_vec(m2, (PIXELS, hidden), dev)?,
    ))
}

impl Made {
    pub fn new(hidden: usize, masks: usize, seed: u64) -> Result<Made> {
        let dev = &Device::Cpu;
        let mut rng = SplitMix64::new(seed ^ 0x4D41_4445);
        let degrees: Vec<Vec<f32>> = (0..masks)
            .map(|_| {
                (0..hidden)
                    .map(|_| (1 + rng.next_u64() % (PIXELS as u64 - 1)) as f32)
                    .collect()
            })
            .collect();
        let init = |s, rows, cols, scale: f32| {
            let v = uniform_signed(s, rows * cols)
                .into_iter()
                .map(|x| x * scale)
                .collect::<Vec<_>>();
            Var::from_tensor(&Tensor::from_vec(v, (rows, cols), dev)?)
        };
        Made::assemble(
            hidden,
            init(seed, hidden, PIXELS, (3.0 / PIXELS as f32).sqrt())?,
            Var::zeros(hidden, DType::F32, dev)?,
            init(seed + 1, PIXELS, hidden, (3.0 / hidden as f32).sqrt())?,
            Var::zeros(PIXELS, DType::F32, dev)?,
            Var::zeros((PIXELS, PIXELS), DType::F32, dev)?,
            degrees,
        )
    }

    fn assemble(
        hidden: usize,
        w1: Var,
        b1: Var,
        w2: Var,
        b2: Var,
        direct: Var,
        degrees: Vec<Vec<f32>>,
    ) -> Result<Made> {
        let masks = degrees
            .iter()
            .map(|d| masks_for(d, hidden))
            .collect::<Result<_>>()?;
        Ok(Made {
            hidden,
            w1,
            b1,
            w2,
            b2,
            direct,
            lower: super::fvsbn::strictly_lower(PIXELS, &Device::Cpu)?,
            degrees,
            masks,
            current: std::cell::Cell::new(0),
        })
    }

    /// Picks the mask for the next training step.
    pub fn use_mask(&self, k: usize) {
        self.current.set(k % self.masks.len());
    }

    pub fn mask_count(&self) -> usize {
        self.masks.len()
    }

    fn logits_with(&self, x: &Tensor, k: usize) -> Result<Tensor> {
        let (m1, m2) = &self.masks[k];
        let w1 = (self.w1.as_tensor() * m1)?;
        let w2 = (self.w2.as_tensor() * m2)?;
        let h = x
            .matmul(&w1.t()?)?
            .broadcast_add(self.b1.as_tensor())?
            .relu()?;
        let direct = (self.direct.as_tensor() * &self.lower)?;
        h.matmul(&w2.t()?)?.broadcast_add(self.b2.as_tensor())? + x.matmul(&direct.t()?)?
    }

    /// Exact −log p(x) under the mixture over all K masks, [batch].
    pub fn mixture_nll(&self, x: &Tensor) -> Result<Tensor> {
        let per_mask = (0..self.masks.len())
            .map(|k| nll_per_image(&self.logits_with(x, k)?, x)?.neg())
            .collect::<Result<Vec<_>>>()?;
        let log_p = Tensor::stack(&per_mask, 1)?; // [batch, K]
        let m = log_p.max_keepdim(D::Minus1)?;
        let lse = (log_p
            .broadcast_sub(&m)?
            .exp()?
            .sum_keepdim(D::Minus1)?
            .log()?
            + m)?
            .squeeze(D::Minus1)?;
        (lse - (self.masks.len() as f64).ln())?.neg()
    }
}

impl ArModel for Made {
    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        self.logits_with(x, self.current.get())
    }

    fn vars(&self) -> Vec<Var> {
        vec![
            self.w1.clone(),
            self.b1.clone(),
            self.w2.clone(),
            self.b2.clone(),
            self.direct.clone(),
        ]
    }

    /// Weights the masks leave in use (mask 0, the one shipped) and the
    /// strictly lower triangle of the direct matrix.
    fn params(&self) -> usize {
        let d = &self.degrees[0];
        let w1: usize = d.iter().map(|&m| m as usize).sum();
        let w2: usize = d.iter().map(|&m| PIXELS - m as usize).sum();
        w1 + w2 + self.hidden + PIXELS + PIXELS * (PIXELS - 1) / 2
    }

    fn nll(&self, x: &Tensor) -> Result<Tensor> {
        self.mixture_nll(x)
    }

    fn before_step(&self, step: usize) {
        self.use_mask(SplitMix64::new(step as u64).next_u64() as usize);
    }

    fn export(&self) -> Result<BTreeMap<String, Stored>> {
        let h = self.hidden;
        let flat = |v: &Var| v.as_tensor().flatten_all()?.to_vec1::<f32>();
        // Mask 0 applied: the shipped file holds only weights in use (the
        // loader masks again, whatever the file holds).
        let (m1, m2) = &self.masks[0];
        let masked = |v: &Var, m: &Tensor| (v.as_tensor() * m)?.flatten_all()?.to_vec1::<f32>();
        let k = self.degrees.len();
        Ok(BTreeMap::from([
            (
                "made.W1".to_string(),
                Stored::Q8_0(Q8Matrix::quantize(&masked(&self.w1, m1)?, h, PIXELS)),
            ),
            (
                "made.b1".to_string(),
                Stored::F32 {
                    shape: vec![h],
                    data: flat(&self.b1)?,
                },
            ),
            (
                "made.W2".to_string(),
                Stored::Q8_0(Q8Matrix::quantize(&masked(&self.w2, m2)?, PIXELS, h)),
            ),
            (
                "made.b2".to_string(),
                Stored::F32 {
                    shape: vec![PIXELS],
                    data: flat(&self.b2)?,
                },
            ),
            (
                "made.A".to_string(),
                Stored::Q8_0(Q8Matrix::quantize(
                    &(self.direct.as_tensor() * &self.lower)?
                        .flatten_all()?
                        .to_vec1::<f32>()?,
                    PIXELS,
                    PIXELS,
                )),
            ),
            (
                "made.degrees".to_string(),
                Stored::F32 {
                    shape: vec![k, h],
                    data: self.degrees.concat(),
                },
            ),
        ]))
    }

    fn from_export(t: &BTreeMap<String, Stored>) -> Result<Made> {
        let dev = &Device::Cpu;
        let (
            Some(Stored::Q8_0(w1)),
            Some(Stored::F32 { data: b1, .. }),
            Some(Stored::Q8_0(w2)),
            Some(Stored::F32 { data: b2, .. }),
            Some(Stored::F32 { data: deg, shape }),
            Some(Stored::Q8_0(a)),
        ) = (
            t.get("made.W1"),
            t.get("made.b1"),
            t.get("made.W2"),
            t.get("made.b2"),
            t.get("made.degrees"),
            t.get("made.A"),
        )
        else {
            candle_core::bail!("made export is missing a tensor")
        };
        let h = w1.rows;
        let var = |v: Vec<f32>, s: (usize, usize)| Var::from_tensor(&Tensor::from_vec(v, s, dev)?);
        Made::assemble(
            h,
            var(w1.dequantize(), (h, PIXELS))?,
            Var::from_tensor(&Tensor::from_slice(b1, h, dev)?)?,
            var(w2.dequantize(), (PIXELS, h))?,
            Var::from_tensor(&Tensor::from_slice(b2, PIXELS, dev)?)?,
            var(a.dequantize(), (PIXELS, PIXELS))?,
            deg.chunks(h).take(shape[0]).map(<[f32]>::to_vec).collect(),
        )
    }
}
