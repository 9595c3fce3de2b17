//! PixelCNN (van den Oord et al. 2016), one colour channel: a 7×7 type-A
//! masked convolution (a pixel never sees itself), `LAYERS` residual 3×3
//! type-B convolutions, then two 1×1 convolutions to one logit per pixel.
//!
//! Training runs channel-last, [batch, 28, 28, C]. A masked k×k convolution
//! is one matmul: the input is shifted once per allowed tap, the shifts are
//! concatenated along channels, and [B·784, taps·Cin] × [taps·Cin, Cout]
//! gives the output. Shifts are pads and narrows, whose gradients are cheap,
//! where candle's conv2d backward on the CPU is not.
//!
//! The architecture and the shipped tensor names are compute's
//! (`compute::models::ar::pixelcnn`), so trainer and app cannot drift apart.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor, Var};
use compute::{
    inputs::uniform_signed,
    kernels::conv2d::ConvMask,
    models::ar::pixelcnn::{layers, Role},
    weights::{Q8Matrix, Tensor as Stored},
};

use super::ArModel;
use crate::data::PIXELS;

pub use compute::models::ar::SIDE;

/// One masked convolution: the taps it uses and its weights over them.
struct MaskedConv {
    k: usize,
    cin: usize,
    cout: usize,
    /// (ky, kx) in kernel coordinates, in the order of `w`'s row blocks.
    taps: Vec<(usize, usize)>,
    /// [taps·cin, cout]
    w: Var,
    b: Var,
}

impl MaskedConv {
    fn new(k: usize, cin: usize, cout: usize, mask: ConvMask, seed: u64) -> Result<Self> {
        let taps: Vec<(usize, usize)> = (0..k * k)
            .map(|t| (t / k, t % k))
            .filter(|&(ky, kx)| mask.allows(k, ky, kx))
            .collect();
        let fan_in = taps.len() * cin;
        let scale = (3.0 / fan_in as f32).sqrt();
        let w: Vec<f32> = uniform_signed(seed, fan_in * cout)
            .into_iter()
            .map(|v| v * scale)
            .collect();
        let dev = &Device::Cpu;
        Ok(MaskedConv {
            k,
            cin,
            cout,
            taps,
            w: Var::from_tensor(&Tensor::from_vec(w, (fan_in, cout), dev)?)?,
            b: Var::zeros(cout, DType::F32, dev)?,
        })
    }

    /// x: [B, 28, 28, cin] → [B, 28, 28, cout].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let batch = x.dim(0)?;
        let (taps, rows) = (self.taps.len(), batch * PIXELS);
        let cols = if taps == 1 {
            x.reshape((1, rows, self.cin))?
        } else {
            // Masked taps never look below the centre row: pad above, left and right only.
            let p = self.k / 2;
            let padded = x.pad_with_zeros(1, p, 0)?.pad_with_zeros(2, p, p)?;
            let shifts = self
                .taps
                .iter()
                .map(|&(ky, kx)| padded.narrow(1, ky, SIDE)?.narrow(2, kx, SIDE))
                .collect::<Result<Vec<_>>>()?;
            // Stacked on a new leading axis (a plain copy per tap, where a
            // concatenation along channels is a slow strided one in candle).
            Tensor::stack(&shifts, 0)?.reshape((taps, rows, self.cin))?
        };
        let w = self.w.as_tensor().reshape((taps, self.cin, self.cout))?;
        cols.matmul(&w)?
            .sum(0)?
            .broadcast_add(self.b.as_tensor())?
            .reshape((batch, SIDE, SIDE, self.cout))
    }

    /// Weights in [cout, cin, k, k] order with masked taps as zeros.
    fn dense(&self) -> Result<Vec<f32>> {
        let w = self.w.as_tensor().to_vec2::<f32>()?;
        let (k, cin) = (self.k, self.cin);
        let mut out = vec![0.0; self.cout * cin * k * k];
        for (t, &(ky, kx)) in self.taps.iter().enumerate() {
            for i in 0..cin {
                for (o, v) in w[t * cin + i].iter().enumerate() {
                    out[((o * cin + i) * k + ky) * k + kx] = *v;
                }
            }
        }
        Ok(out)
    }

    fn set_dense(&self, dense: &[f32], bias: &[f32]) -> Result<()> {
        let (k, cin) = (self.k, self.cin);
        let mut w = vec![0.0; self.taps.len() * cin * self.cout];
        for (t, &(ky, kx)) in self.taps.iter().enumerate() {
            for i in 0..cin {
                for o in 0..self.cout {
                    w[(t * cin + i) * self.cout + o] = dense[((o * cin + i) * k + ky) * k + kx];
                }
            }
        }
        let dev = &Device::Cpu;
        self.w.set(&Tensor::from_vec(
            w,
            (self.taps.len() * cin, self.cout),
            dev,
        )?)?;
        self.b.set(&Tensor::from_slice(bias, self.cout, dev)?)
    }
}

pub struct PixelCnn {
    /// One per layer of compute's [`layers`], in order.
    convs: Vec<MaskedConv>,
}

impl PixelCnn {
    pub fn new(seed: u64) -> Result<PixelCnn> {
        let convs = layers()
            .into_iter()
            .enumerate()
            .map(|(i, l)| MaskedConv::new(l.k, l.cin, l.cout, l.mask, seed + i as u64))
            .collect::<Result<Vec<_>>>()?;
        Ok(PixelCnn { convs })
    }
}

impl ArModel for PixelCnn {
    /// The same network as compute's `PixelCnn::logits_ref`, channel-last.
    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        let batch = x.dim(0)?;
        let mut h = x.reshape((batch, SIDE, SIDE, 1))?;
        for (l, conv) in layers().iter().zip(&self.convs) {
            h = match l.role {
                Role::Input | Role::Output => conv.forward(&h)?,
                Role::Residual => (&h + conv.forward(&h.relu()?)?)?,
                Role::Head => conv.forward(&h.relu()?)?.relu()?,
            };
        }
        h.reshape((batch, PIXELS))
    }

    fn vars(&self) -> Vec<Var> {
        self.convs
            .iter()
            .flat_map(|c| [c.w.clone(), c.b.clone()])
            .collect()
    }

    fn export(&self) -> Result<BTreeMap<String, Stored>> {
        let mut t = BTreeMap::new();
        for (l, conv) in layers().into_iter().zip(&self.convs) {
            let dense = conv.dense()?;
            t.insert(
                format!("{}.w", l.name),
                Stored::Q8_0(Q8Matrix::quantize(&dense, l.cout, l.cin * l.k * l.k)),
            );
            t.insert(
                format!("{}.b", l.name),
                Stored::F32 {
                    shape: vec![l.cout],
                    data: conv.b.as_tensor().to_vec1()?,
                },
            );
        }
        Ok(t)
    }

    fn from_export(t: &BTreeMap<String, Stored>) -> Result<PixelCnn> {
        let model = PixelCnn::new(0)?;
        for (l, conv) in layers().into_iter().zip(&model.convs) {
            let (Some(Stored::Q8_0(w)), Some(Stored::F32 { data: b, .. })) = (
                t.get(&format!("{}.w", l.name)),
                t.get(&format!("{}.b", l.name)),
            ) else {
                candle_core::bail!("pixelcnn export is missing {}.w or {}.b", l.name, l.name)
            };
            conv.set_dense(&w.dequantize(), b)?;
        }
        Ok(model)
    }
}
