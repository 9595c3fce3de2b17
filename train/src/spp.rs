//! Chapter 9's SPP-net detector on candle, for training. Sizes, tensor
//! names, windows and the pyramid's bins are compute's
//! (`compute::models::spp`), so the trainer pools exactly as both runtime
//! pipelines do.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor, Var};
use compute::{
    inputs::uniform_signed,
    kernels::spp::bin_bounds,
    models::spp::config::{specs, CONVS, LEVELS, OUTPUTS},
    weights::Tensor as Stored,
};

pub struct SppTrainer {
    vars: BTreeMap<String, Var>,
}

/// Cells [y0, y1) × [x0, x1) of a feature map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub y0: usize,
    pub y1: usize,
    pub x0: usize,
    pub x1: usize,
}

impl SppTrainer {
    /// Seeded initial weights: He-uniform matrices (variance 2/fan_in, for
    /// ReLU), zero biases; the output layer ten times smaller.
    pub fn new(seed: u64) -> Result<SppTrainer> {
        let dev = &Device::Cpu;
        let mut vars = BTreeMap::new();
        for (k, spec) in specs().iter().enumerate() {
            let n: usize = spec.shape.iter().product();
            let value = if spec.shape.len() == 1 {
                Tensor::zeros(n, DType::F32, dev)?
            } else {
                let mut scale = (6.0 / spec.shape[1] as f32).sqrt();
                if spec.name == "out.w" {
                    scale *= 0.1;
                }
                let v: Vec<f32> = uniform_signed(seed * 1000 + k as u64, n)
                    .into_iter()
                    .map(|v| v * scale)
                    .collect();
                Tensor::from_vec(v, spec.shape.as_slice(), dev)?
            };
            vars.insert(spec.name.clone(), Var::from_tensor(&value)?);
        }
        Ok(SppTrainer { vars })
    }

    pub fn vars(&self) -> Vec<Var> {
        self.vars.values().cloned().collect()
    }

    pub fn params(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }

    fn w(&self, name: &str) -> &Tensor {
        self.vars[name].as_tensor()
    }

    /// [B, 1, H, W] → the last convolution's ReLU, [B, C, ⌈H/4⌉, ⌈W/4⌉].
    pub fn features(&self, images: &Tensor) -> Result<Tensor> {
        let mut x = images.clone();
        for (i, (cin, cout, stride)) in CONVS.iter().enumerate() {
            let w = self.w(&format!("conv{i}.w")).reshape((*cout, *cin, 3, 3))?;
            let b = self.w(&format!("conv{i}.b")).reshape((1, *cout, 1, 1))?;
            x = x.conv2d(&w, 1, *stride, 1, 1)?.broadcast_add(&b)?.relu()?;
        }
        Ok(x)
    }

    /// Spatial pyramid max pooling of one region of every map of a batch,
    /// [B, C, h, w] → [B, BINS·C], bin by bin (level by level, row-major)
    /// with the channels innermost: compute's `spp_max` layout.
    pub fn pool(features: &Tensor, r: Region) -> Result<Tensor> {
        let mut bins = Vec::new();
        for &n in LEVELS {
            for by in 0..n {
                let (ya, yb) = bin_bounds(by, n, r.y1 - r.y0);
                for bx in 0..n {
                    let (xa, xb) = bin_bounds(bx, n, r.x1 - r.x0);
                    bins.push(
                        features
                            .narrow(2, r.y0 + ya, yb - ya)?
                            .narrow(3, r.x0 + xa, xb - xa)?
                            .flatten_from(2)?
                            .max(2)?,
                    );
                }
            }
        }
        Tensor::stack(&bins, 1)?.flatten_from(1)
    }

    /// [m, BINS·C] → [m, OUTPUTS]: the face logit and (dx, dy, dw, dh).
    pub fn head(&self, pooled: &Tensor) -> Result<Tensor> {
        let h = pooled
            .matmul(&self.w("fc.w").t()?)?
            .broadcast_add(self.w("fc.b"))?
            .relu()?;
        let out = h
            .matmul(&self.w("out.w").t()?)?
            .broadcast_add(self.w("out.b"))?;
        debug_assert_eq!(out.dim(1)?, OUTPUTS);
        Ok(out)
    }

    /// The tensors as shipped: matrices in Q8_0, the rest in f32.
    pub fn export(&self) -> Result<BTreeMap<String, Stored>> {
        crate::shipped::export(&specs(), &self.vars)
    }

    /// The model with the shipped values (Q8_0 dequantized).
    pub fn from_export(tensors: &BTreeMap<String, Stored>) -> Result<SppTrainer> {
        Ok(SppTrainer {
            vars: crate::shipped::vars_from_export(&specs(), tensors)?,
        })
    }
}

/// Binary cross-entropy on logits, averaged: the stable form
/// max(z, 0) − z·y + log(1 + e^−|z|).
pub fn bce_with_logits(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let stable = (logits.relu()? - (logits * labels)?)?;
    let tail = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    (stable + tail)?.mean_all()
}

/// Smooth L1 (Huber with δ = 1) summed over the last axis, averaged over rows.
pub fn smooth_l1(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    let d = (pred - target)?.abs()?;
    let quad = (d.sqr()? * 0.5)?;
    let lin = (&d - 0.5)?;
    let small = d.lt(1.0)?;
    small.where_cond(&quad, &lin)?.sum(1)?.mean_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use compute::{
        kernels::spp::Window,
        models::spp::{
            config::{spp_shape, POOLED},
            model::SppNet,
        },
        reference::spp::spp_max_ref,
        weights::{load, to_safetensors},
    };

    /// The trainer and the runtime compute one function: the same shipped
    /// weights give the same features, pooled vectors and outputs.
    #[test]
    fn the_trainer_matches_the_runtime() {
        let t = SppTrainer::new(3).unwrap();
        let bytes = to_safetensors(&t.export().unwrap()).unwrap();
        let runtime = SppNet::load(&bytes).unwrap();
        let shipped = load("spp", &bytes, &specs()).unwrap();
        let t = SppTrainer::from_export(&shipped.tensors).unwrap();
        let (h, w) = (37, 29);
        let img: Vec<f32> = (0..h * w).map(|i| ((i * 31) % 17) as f32 / 17.0).collect();
        let x = Tensor::from_slice(&img, (1, 1, h, w), &Device::Cpu).unwrap();
        let f = t.features(&x).unwrap();
        let (fh, fw) = (f.dim(2).unwrap(), f.dim(3).unwrap());
        let r = Region {
            y0: 1,
            y1: fh,
            x0: 2,
            x1: fw - 1,
        };
        let pooled = SppTrainer::pool(&f, r).unwrap();
        assert_eq!(pooled.dims(), [1, POOLED]);
        let out = t
            .head(&pooled)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();

        let rf = runtime.features_ref(&img, 1, h, w).unwrap();
        let window = [Window {
            x0: r.x0,
            y0: r.y0,
            x1: r.x1,
            y1: r.y1,
        }];
        let rp = spp_max_ref(&rf, &window, spp_shape(fh, fw)).unwrap();
        let tp = pooled.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for (a, b) in rp.iter().zip(&tp) {
            assert!((a - b).abs() < 1e-4, "{a} {b}");
        }
        let ro = runtime.head_ref(&rp, 1).unwrap();
        for (a, b) in ro.iter().zip(&out) {
            assert!((a - b).abs() < 1e-3, "{a} {b}");
        }
    }

    #[test]
    fn losses() {
        let dev = &Device::Cpu;
        let z = Tensor::new(&[0.0f32, 2.0, -3.0], dev).unwrap();
        let y = Tensor::new(&[1.0f32, 0.0, 0.0], dev).unwrap();
        let l = bce_with_logits(&z, &y).unwrap().to_scalar::<f32>().unwrap();
        let want = ((2f32).ln() + (1.0 + 2f32.exp()).ln() + (1.0 + (-3f32).exp()).ln()) / 3.0;
        assert!((l - want).abs() < 1e-5);
        let p = Tensor::new(&[[0.5f32, 3.0]], dev).unwrap();
        let t = Tensor::new(&[[0.0f32, 0.0]], dev).unwrap();
        let l = smooth_l1(&p, &t).unwrap().to_scalar::<f32>().unwrap();
        assert!((l - (0.125 + 2.5)).abs() < 1e-6);
    }
}
