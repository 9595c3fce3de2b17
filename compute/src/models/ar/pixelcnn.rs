//! PixelCNN (van den Oord et al. 2016) for one binary channel: a 7×7 type-A
//! masked convolution (a pixel never sees itself), `LAYERS` residual 3×3
//! type-B convolutions, then 1×1 convolutions down to one logit per pixel.
//! Masked convolutions look only at rows above and pixels to the left, so
//! one pass over the true image gives all 784 conditionals. Sampling needs
//! 784 steps, but not 784 passes: at every layer, position p depends only on
//! pixels before p, so a chain computes each position of each layer once,
//! when it reaches it ([`Columns`]). Stacked 3×3 masks leave a blind spot:
//! pixels up and to the right that no path reaches.
//!
//! Tensors, per layer `<name>` of [`layers`]: `<name>.w` (Q8_0 [cout, cin·k·k],
//! the kernel's [cout, cin, k, k] order, masked taps stored as zeros) and
//! `<name>.b` [cout].

use super::{PIXELS, SIDE};
use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        conv2d::{conv2d, conv2d_at, Conv2dShape, ConvAt, ConvMask},
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

    /// Pixel i's logit from `columns`, which must hold positions 0..i: this
    /// computes position i of every layer (one column, about 33k
    /// multiply-adds) and keeps it. Call for i = 0, 1, 2, … in order.
    pub fn logit_next(
        &self,
        columns: &mut Columns,
        x: &[f32],
        i: usize,
    ) -> Result<f32, ComputeError> {
        if i != columns.filled || i >= PIXELS || x.len() != PIXELS {
            return Err(ComputeError::Shape {
                op: "PixelCNN column",
                detail: format!(
                    "position {i} asked for with {} positions cached (image of {})",
                    columns.filled,
                    x.len()
                ),
            });
        }
        for (n, (l, (_, w, b))) in layers().iter().zip(&self.weights).enumerate() {
            let (below, rest) = columns.outputs.split_at_mut(n);
            let input = below.last().map_or(x, Vec::as_slice);
            let out = &mut rest[0];
            let relu_in = matches!(l.role, Role::Residual | Role::Head);
            let y = conv_at(input, relu_in, w, b, l, i);
            for (o, v) in y.into_iter().enumerate() {
                out[o * PIXELS + i] = match l.role {
                    Role::Input | Role::Output => v,
                    Role::Residual => input[o * PIXELS + i] + v,
                    Role::Head => v.max(0.0),
                };
            }
        }
        columns.filled = i + 1;
        Ok(columns.outputs.last().expect("PixelCNN has layers")[i])
    }

    /// A seeded sample the old way, recomputing each pixel's whole window
    /// of rows ([`PixelCnn::logit_at`]): the reference a chain over
    /// [`Columns`] must reproduce exactly, and the benchmark's baseline.
    /// Returns the image and each pixel's logit.
    pub fn sample_recomputing(&self, seed: u64) -> Result<(Vec<f32>, Vec<f32>), ComputeError> {
        let mut x = vec![0.0; PIXELS];
        let mut logits = vec![0.0; PIXELS];
        for i in 0..PIXELS {
            logits[i] = self.logit_at(&x, i)?;
            x[i] = super::draw_bernoulli(seed, i, logits[i]);
        }
        Ok((x, logits))
    }

    /// ∂ logit_i / ∂ x_j for every pixel j, backpropagated by hand through
    /// the same layers on pixel i's window of rows (zero elsewhere). By
    /// hand rather than with candle's autodiff, whose `backward` matches
    /// every op of every dtype and added about 1 MB to the wasm.
    pub fn logit_gradient(&self, x: &[f32], i: usize) -> Result<Vec<f32>, ComputeError> {
        let (r0, rows) = window(i);
        let relu = |v: &[f32]| v.iter().map(|a| a.max(0.0)).collect::<Vec<_>>();
        // Forward over the window, keeping what the backward pass needs:
        // each layer's input and, for the head, its pre-activation.
        let mut inputs = Vec::new();
        let mut head_pre = Vec::new();
        let mut h = x[r0 * SIDE..(r0 + rows) * SIDE].to_vec();
        for (l, (_, w, b)) in layers().iter().zip(&self.weights) {
            inputs.push(h.clone());
            h = match l.role {
                Role::Input | Role::Output => conv2d_ref(&h, w, b, l.shape(rows))?,
                Role::Residual => {
                    let y = conv2d_ref(&relu(&h), w, b, l.shape(rows))?;
                    h.iter().zip(y).map(|(a, b)| a + b).collect()
                }
                Role::Head => {
                    head_pre = conv2d_ref(&relu(&h), w, b, l.shape(rows))?;
                    relu(&head_pre)
                }
            };
        }
        // Backward from the one logit, layer by layer: a convolution's
        // input gradient is its transpose applied to the output's.
        let n = rows * SIDE;
        let mut g = vec![0.0; n];
        g[i - r0 * SIDE] = 1.0;
        for ((l, (_, w, _)), input) in layers().iter().zip(&self.weights).zip(&inputs).rev() {
            let alive = |v: &mut Vec<f32>| {
                for (gv, a) in v.iter_mut().zip(input) {
                    if *a <= 0.0 {
                        *gv = 0.0;
                    }
                }
            };
            g = match l.role {
                Role::Input | Role::Output => conv_transpose(&g, w, l, rows),
                Role::Residual => {
                    let mut through = conv_transpose(&g, w, l, rows);
                    alive(&mut through);
                    g.iter().zip(through).map(|(a, b)| a + b).collect()
                }
                Role::Head => {
                    for (gv, p) in g.iter_mut().zip(&head_pre) {
                        if *p <= 0.0 {
                            *gv = 0.0;
                        }
                    }
                    let mut through = conv_transpose(&g, w, l, rows);
                    alive(&mut through);
                    through
                }
            };
        }
        let mut grad = vec![0.0; PIXELS];
        grad[r0 * SIDE..(r0 + rows) * SIDE].copy_from_slice(&g);
        Ok(grad)
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

/// Every layer's output at every position ([cout, 784] per layer), filled
/// in raster order by [`PixelCnn::logit_next`].
#[derive(Debug, Clone)]
pub struct Columns {
    outputs: Vec<Vec<f32>>,
    /// Positions computed so far: 0..filled.
    filled: usize,
}

impl Columns {
    pub fn new() -> Columns {
        Columns {
            outputs: layers()
                .iter()
                .map(|l| vec![0.0; l.cout * PIXELS])
                .collect(),
            filled: 0,
        }
    }
}

impl Default for Columns {
    fn default() -> Self {
        Columns::new()
    }
}

/// Layer `l` at one position: every output channel, summed over input
/// channels, then taps in raster order (the GPU's `conv2d_at` order). Taps
/// outside the image or masked out are skipped; so are zero inputs, which
/// add nothing.
fn conv_at(input: &[f32], relu_in: bool, w: &[f32], b: &[f32], l: &Layer, pos: usize) -> Vec<f32> {
    let (r, c, pad) = (pos / SIDE, pos % SIDE, l.k / 2);
    let mut acc = b.to_vec();
    for ci in 0..l.cin {
        for ky in 0..l.k {
            let Some(iy) = (r + ky).checked_sub(pad).filter(|&y| y < SIDE) else {
                continue;
            };
            for kx in 0..l.k {
                let Some(ix) = (c + kx).checked_sub(pad).filter(|&x| x < SIDE) else {
                    continue;
                };
                if !l.mask.allows(l.k, ky, kx) {
                    continue;
                }
                let v = input[ci * PIXELS + iy * SIDE + ix];
                let v = if relu_in { v.max(0.0) } else { v };
                if v == 0.0 {
                    continue;
                }
                let tap = (ci * l.k + ky) * l.k + kx;
                let stride = l.cin * l.k * l.k;
                for (o, a) in acc.iter_mut().enumerate() {
                    *a += w[o * stride + tap] * v;
                }
            }
        }
    }
    acc
}

/// The first row and the row count of pixel i's window.
/// The transpose of `l`'s masked, same-size convolution over `rows` full
/// rows: the gradient reaching its input [cin, rows·28] from the gradient
/// `g` at its output [cout, rows·28]. Only positions with a gradient are
/// visited; near the chosen pixel that is a few.
fn conv_transpose(g: &[f32], w: &[f32], l: &Layer, rows: usize) -> Vec<f32> {
    let (k, c, n) = (l.k, (l.k / 2) as isize, rows * SIDE);
    let mut out = vec![0.0; l.cin * n];
    for p in 0..n {
        let (y, x) = ((p / SIDE) as isize, (p % SIDE) as isize);
        for co in (0..l.cout).filter(|&co| g[co * n + p] != 0.0) {
            let gv = g[co * n + p];
            for ky in 0..k {
                for kx in (0..k).filter(|&kx| l.mask.allows(k, ky, kx)) {
                    let (yi, xi) = (y + ky as isize - c, x + kx as isize - c);
                    if !(0..rows as isize).contains(&yi) || !(0..SIDE as isize).contains(&xi) {
                        continue;
                    }
                    let q = yi as usize * SIDE + xi as usize;
                    for ci in 0..l.cin {
                        out[ci * n + q] += w[((co * l.cin + ci) * k + ky) * k + kx] * gv;
                    }
                }
            }
        }
    }
    out
}

pub fn window(i: usize) -> (usize, usize) {
    let r = i / SIDE;
    let r0 = r.saturating_sub(REACH_ROWS);
    debug_assert!(i < PIXELS);
    (r0, r - r0 + 1)
}

/// [`Columns`] on the GPU: each layer's output, [cout, 784].
pub struct GpuColumns {
    outputs: Vec<GpuTensor>,
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

    /// Every layer's output for `rows` full-width rows held in `x`.
    fn record_layers(
        &self,
        rec: &mut Recording<'_>,
        x: &GpuTensor,
        rows: usize,
    ) -> Result<Vec<GpuTensor>, ComputeError> {
        let mut outputs: Vec<GpuTensor> = Vec::with_capacity(self.layers.len());
        for (l, w, b) in &self.layers {
            let s = l.shape(rows);
            let h = outputs.last().unwrap_or(x);
            let out = match l.role {
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
            };
            outputs.push(out);
        }
        Ok(outputs)
    }

    /// Logits for `rows` full-width rows held in `x`.
    pub fn record_logits_rows(
        &self,
        rec: &mut Recording<'_>,
        x: &GpuTensor,
        rows: usize,
    ) -> Result<GpuTensor, ComputeError> {
        self.record_layers(rec, x, rows)?
            .pop()
            .ok_or_else(|| ComputeError::Cpu("PixelCNN has no layers".into()))
    }

    /// [`Columns`] for a chain whose `image` holds its prefix: one full
    /// pass, exact at the prefix's positions; later positions are
    /// recomputed by [`PixelCnnGpu::record_next_logit`] before anything
    /// reads them.
    pub fn record_columns(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
    ) -> Result<GpuColumns, ComputeError> {
        Ok(GpuColumns {
            outputs: self.record_layers(rec, image, SIDE)?,
        })
    }

    /// Pixel i's logit: position i of every layer, computed into `columns`
    /// (which must hold positions 0..i); returns a one-word tensor.
    pub fn record_next_logit(
        &self,
        rec: &mut Recording<'_>,
        columns: &GpuColumns,
        image: &GpuTensor,
        i: usize,
    ) -> Result<GpuTensor, ComputeError> {
        for (n, (l, w, b)) in self.layers.iter().enumerate() {
            let input = if n == 0 {
                image
            } else {
                &columns.outputs[n - 1]
            };
            let at = ConvAt {
                pos: i,
                relu_in: matches!(l.role, Role::Residual | Role::Head),
                residual: l.role == Role::Residual,
                relu_out: l.role == Role::Head,
            };
            conv2d_at(rec, input, w, b, &columns.outputs[n], l.shape(SIDE), at)?;
        }
        let logit = rec.exec().empty(1);
        let logits = columns
            .outputs
            .last()
            .ok_or_else(|| ComputeError::Cpu("PixelCNN has no layers".into()))?;
        rec.copy(logits, i, &logit, 0, 1);
        Ok(logit)
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
