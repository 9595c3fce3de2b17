//! PixelCNN (van den Oord et al. 2016) for one binary channel: a 7×7 type-A
//! masked convolution (a pixel never sees itself), `LAYERS` residual 3×3
//! type-B convolutions, then 1×1 convolutions down to one logit per pixel.
//! Masked convolutions look only at rows above and pixels to the left, so
//! one pass over the true image gives all 784 conditionals; sampling still
//! takes 784 passes. Stacked 3×3 masks leave a blind spot: pixels up and to
//! the right that no path reaches.
//!
//! Tensors, per layer `<name>` of [`layers`]: `<name>.w` (Q8_0 [cout, cin·k·k],
//! the kernel's [cout, cin, k, k] order, masked taps stored as zeros) and
//! `<name>.b` [cout].

use super::{PIXELS, SIDE};
use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        conv2d::{conv2d, Conv2dShape, ConvMask},
        elementwise::{activation, binary, Activation, Binary},
    },
    reference::conv2d::conv2d_ref,
    weights::{Q8Matrix, TensorSpec, WeightFile},
};

pub const CHANNELS: usize = 32;
pub const LAYERS: usize = 6;
/// Rows above a pixel that can reach its logit: 3 from the 7×7 type-A
/// layer, one per 3×3 layer.
pub const REACH_ROWS: usize = 3 + LAYERS;

/// What each layer does to the running activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// h = conv(x)
    Input,
    /// h = h + conv(relu(h))
    Residual,
    /// h = relu(conv(relu(h)))
    Head,
    /// logits = conv(h)
    Output,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    pub k: usize,
    pub cin: usize,
    pub cout: usize,
    pub mask: ConvMask,
    pub role: Role,
}

pub fn layers() -> Vec<Layer> {
    let layer = |name: String, k, cin, cout, mask, role| Layer {
        name,
        k,
        cin,
        cout,
        mask,
        role,
    };
    let c = CHANNELS;
    let mut v = vec![layer(
        "pixelcnn.in".into(),
        7,
        1,
        c,
        ConvMask::TypeA,
        Role::Input,
    )];
    for l in 0..LAYERS {
        v.push(layer(
            format!("pixelcnn.res{l}"),
            3,
            c,
            c,
            ConvMask::TypeB,
            Role::Residual,
        ));
    }
    v.push(layer(
        "pixelcnn.head".into(),
        1,
        c,
        c,
        ConvMask::None,
        Role::Head,
    ));
    v.push(layer(
        "pixelcnn.out".into(),
        1,
        c,
        1,
        ConvMask::None,
        Role::Output,
    ));
    v
}

impl Layer {
    fn shape(&self, rows: usize) -> Conv2dShape {
        Conv2dShape {
            batch: 1,
            cin: self.cin,
            h: rows,
            w: SIDE,
            cout: self.cout,
            k: self.k,
            stride: 1,
            pad: self.k / 2,
            mask: self.mask,
        }
    }

    /// Weights the mask leaves in use, plus biases.
    fn params(&self) -> usize {
        let taps = (0..self.k * self.k)
            .filter(|t| self.mask.allows(self.k, t / self.k, t % self.k))
            .count();
        taps * self.cin * self.cout + self.cout
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PixelCnn {
    /// Per layer: Q8 weights as shipped, dequantized, and the bias.
    pub weights: Vec<(Q8Matrix, Vec<f32>, Vec<f32>)>,
}

impl PixelCnn {
    pub fn specs() -> Vec<TensorSpec> {
        layers()
            .into_iter()
            .flat_map(|l| {
                [
                    TensorSpec::q8_0(format!("{}.w", l.name), l.cout, l.cin * l.k * l.k),
                    TensorSpec::f32(format!("{}.b", l.name), &[l.cout]),
                ]
            })
            .collect()
    }

    pub fn from_weights(f: &WeightFile) -> Option<PixelCnn> {
        let weights = layers()
            .iter()
            .map(|l| {
                let w = f.q8_0(&format!("{}.w", l.name))?.clone();
                let dense = w.dequantize();
                Some((w, dense, f.f32(&format!("{}.b", l.name))?.to_vec()))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(PixelCnn { weights })
    }

    pub fn params(&self) -> usize {
        layers().iter().map(Layer::params).sum()
    }

    /// Logits for every pixel of `rows` full-width rows, from those rows alone.
    fn logits_rows(&self, x: &[f32], rows: usize) -> Result<Vec<f32>, ComputeError> {
        let mut h = x.to_vec();
        for (l, (_, w, b)) in layers().iter().zip(&self.weights) {
            let relu = |v: &[f32]| v.iter().map(|a| a.max(0.0)).collect::<Vec<_>>();
            h = match l.role {
                Role::Input => conv2d_ref(&h, w, b, l.shape(rows))?,
                Role::Residual => {
                    let y = conv2d_ref(&relu(&h), w, b, l.shape(rows))?;
                    h.iter().zip(y).map(|(a, b)| a + b).collect()
                }
                Role::Head => relu(&conv2d_ref(&relu(&h), w, b, l.shape(rows))?),
                Role::Output => conv2d_ref(&h, w, b, l.shape(rows))?,
            };
        }
        Ok(h)
    }

    pub fn logits_ref(&self, x: &[f32]) -> Result<Vec<f32>, ComputeError> {
        self.logits_rows(x, SIDE)
    }

    /// Pixel i's logit, computed on the rows that can reach it. Rows below
    /// are never read by a masked convolution, and rows more than
    /// `REACH_ROWS` above are out of reach.
    pub fn logit_at(&self, x: &[f32], i: usize) -> Result<f32, ComputeError> {
        let (r0, rows) = window(i);
        let z = self.logits_rows(&x[r0 * SIDE..(r0 + rows) * SIDE], rows)?;
        Ok(z[i - r0 * SIDE])
    }
}

/// The first row and the row count of pixel i's window.
pub fn window(i: usize) -> (usize, usize) {
    let r = i / SIDE;
    let r0 = r.saturating_sub(REACH_ROWS);
    debug_assert!(i < PIXELS);
    (r0, r - r0 + 1)
}

pub struct PixelCnnGpu {
    layers: Vec<(Layer, GpuTensor, GpuTensor)>,
}

impl PixelCnnGpu {
    pub fn upload(exec: &Executor, m: &PixelCnn) -> PixelCnnGpu {
        PixelCnnGpu {
            layers: layers()
                .into_iter()
                .zip(&m.weights)
                .map(|(l, (_, w, b))| (l, exec.upload(w), exec.upload(b)))
                .collect(),
        }
    }

    /// Logits for `rows` full-width rows held in `x`.
    pub fn record_logits_rows(
        &self,
        rec: &mut Recording<'_>,
        x: &GpuTensor,
        rows: usize,
    ) -> Result<GpuTensor, ComputeError> {
        let mut out: Option<GpuTensor> = None;
        for (l, w, b) in &self.layers {
            let s = l.shape(rows);
            let h = out.as_ref().unwrap_or(x);
            out = Some(match l.role {
                Role::Input => conv2d(rec, h, w, b, s)?,
                Role::Residual => {
                    let r = activation(rec, h, Activation::Relu);
                    let y = conv2d(rec, &r, w, b, s)?;
                    binary(rec, h, &y, Binary::Add)?
                }
                Role::Head => {
                    let r = activation(rec, h, Activation::Relu);
                    let y = conv2d(rec, &r, w, b, s)?;
                    activation(rec, &y, Activation::Relu)
                }
                Role::Output => conv2d(rec, h, w, b, s)?,
            });
        }
        out.ok_or_else(|| ComputeError::Cpu("PixelCNN has no layers".into()))
    }

    /// Pixel i's logit from the window of rows that reach it: returns the
    /// window's logits and i's index in them.
    pub fn record_pixel_logit(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
        i: usize,
    ) -> Result<(GpuTensor, usize), ComputeError> {
        let (r0, rows) = window(i);
        let x = rec.exec().empty(rows * SIDE);
        rec.copy(image, r0 * SIDE, &x, 0, rows * SIDE);
        Ok((self.record_logits_rows(rec, &x, rows)?, i - r0 * SIDE))
    }
}
