//! Chapter 1's autoregressive pixel models over a 28×28 binary image in
//! raster order: p(x) = Π_i p(x_i | x_<i). Each model gives the logit of
//! p(x_i = 1 | x_<i) for every pixel; everything else (likelihood, the
//! per-pixel map, sampling, completion) is shared here.
//!
//! Two backends run the same weights: [`CpuChain`] (the reference, and the
//! fallback without WebGPU) and [`gpu::GpuChain`] (WGSL kernels; the loop
//! stays on the GPU and reads back only to show progress). Both draw their
//! random numbers from the same Philox stream, so a seed gives the same digit.

pub mod fvsbn;
pub mod gpu;
pub mod made;
pub mod nade;
pub mod pixelcnn;
pub mod receptive;

use crate::{
    error::ComputeError,
    reference::sample::uniform01,
    weights::{load, TensorSpec, WeightFile},
};

pub const SIDE: usize = 28;
pub const PIXELS: usize = SIDE * SIDE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArKind {
    Fvsbn,
    Nade,
    Made,
    PixelCnn,
}

impl ArKind {
    pub const ALL: [ArKind; 4] = [ArKind::Fvsbn, ArKind::Nade, ArKind::Made, ArKind::PixelCnn];

    pub fn slug(self) -> &'static str {
        match self {
            ArKind::Fvsbn => "fvsbn",
            ArKind::Nade => "nade",
            ArKind::Made => "made",
            ArKind::PixelCnn => "pixelcnn",
        }
    }

    pub fn from_slug(s: &str) -> Option<ArKind> {
        ArKind::ALL.into_iter().find(|k| k.slug() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            ArKind::Fvsbn => "FVSBN",
            ArKind::Nade => "NADE",
            ArKind::Made => "MADE",
            ArKind::PixelCnn => "PixelCNN",
        }
    }

    /// The weights file, relative to `assets/`.
    pub fn weights_path(self) -> String {
        format!("models/ar/{}.safetensors", self.slug())
    }

    /// The trainer's metrics file, relative to `assets/`.
    pub fn metrics_path(self) -> String {
        format!("models/ar/{}.json", self.slug())
    }

    pub fn specs(self) -> Vec<TensorSpec> {
        match self {
            ArKind::Fvsbn => fvsbn::Fvsbn::specs(PIXELS),
            ArKind::Nade => nade::Nade::specs(),
            ArKind::Made => made::Made::specs(),
            ArKind::PixelCnn => pixelcnn::PixelCnn::specs(),
        }
    }
}

/// One loaded model, its weights dequantized where the CPU needs them.
#[derive(Debug, Clone)]
pub enum ArModel {
    Fvsbn(fvsbn::Fvsbn),
    Nade(nade::Nade),
    Made(made::Made),
    PixelCnn(pixelcnn::PixelCnn),
}

impl ArModel {
    /// Parses and checks a weights file (names, shapes, dtypes, finiteness).
    pub fn load(kind: ArKind, bytes: &[u8]) -> Result<ArModel, ComputeError> {
        let file = load(&kind.weights_path(), bytes, &kind.specs())?;
        ArModel::from_weights(kind, &file)
    }

    pub fn from_weights(kind: ArKind, w: &WeightFile) -> Result<ArModel, ComputeError> {
        let missing = || ComputeError::Cpu(format!("{}: a tensor is missing", w.file));
        Ok(match kind {
            ArKind::Fvsbn => ArModel::Fvsbn(fvsbn::Fvsbn::from_weights(w).ok_or_else(missing)?),
            ArKind::Nade => ArModel::Nade(nade::Nade::from_weights(w).ok_or_else(missing)?),
            ArKind::Made => ArModel::Made(made::Made::from_weights(w)?),
            ArKind::PixelCnn => {
                ArModel::PixelCnn(pixelcnn::PixelCnn::from_weights(w).ok_or_else(missing)?)
            }
        })
    }

    pub fn kind(&self) -> ArKind {
        match self {
            ArModel::Fvsbn(_) => ArKind::Fvsbn,
            ArModel::Nade(_) => ArKind::Nade,
            ArModel::Made(_) => ArKind::Made,
            ArModel::PixelCnn(_) => ArKind::PixelCnn,
        }
    }

    /// Parameters the model uses (masked-out weights not counted).
    pub fn params(&self) -> usize {
        match self {
            ArModel::Fvsbn(m) => m.params(),
            ArModel::Nade(m) => m.params(),
            ArModel::Made(m) => m.params(),
            ArModel::PixelCnn(m) => m.params(),
        }
    }

    /// Teacher forcing: the logit of p(x_i = 1 | x_<i) for every i, each
    /// conditioned on the true prefix of `x`.
    pub fn logits_ref(&self, x: &[f32]) -> Result<Vec<f32>, ComputeError> {
        check_image(x)?;
        match self {
            ArModel::Fvsbn(m) => m.logits_ref(x),
            ArModel::Nade(m) => Ok(m.logits_ref(x)),
            ArModel::Made(m) => Ok(m.logits_ref(x)),
            ArModel::PixelCnn(m) => m.logits_ref(x),
        }
    }

    /// Exact −log p(x) in nats.
    pub fn nll_ref(&self, x: &[f32]) -> Result<f32, ComputeError> {
        Ok(bernoulli_nll(&self.logits_ref(x)?, x))
    }
}

pub(crate) fn check_image(x: &[f32]) -> Result<(), ComputeError> {
    if x.len() != PIXELS || x.iter().any(|&v| v != 0.0 && v != 1.0) {
        return Err(ComputeError::Shape {
            op: "autoregressive model",
            detail: format!("expected {PIXELS} binary pixels, got {} values", x.len()),
        });
    }
    Ok(())
}

/// −log p(x_i | x_<i) for each pixel, from its logit z: softplus(z) − x·z.
pub fn pixel_nll(logits: &[f32], x: &[f32]) -> Vec<f32> {
    logits
        .iter()
        .zip(x)
        .map(|(&z, &v)| {
            let z = z as f64;
            (z.max(0.0) + (-z.abs()).exp().ln_1p() - v as f64 * z) as f32
        })
        .collect()
}

/// Σ_i −log p(x_i | x_<i) in nats, accumulated in f64.
pub fn bernoulli_nll(logits: &[f32], x: &[f32]) -> f32 {
    pixel_nll(logits, x).iter().map(|&v| v as f64).sum::<f64>() as f32
}

pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Pixel i of the seed's sample: 1 when the Philox draw falls below σ(z),
/// as the GPU's bernoulli sampler decides it.
pub fn draw_bernoulli(seed: u64, i: usize, z: f32) -> f32 {
    (uniform01(seed, i as u32, 0) < sigmoid(z)) as u8 as f32
}

/// What a chain does at each pixel.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Draw x_i ~ Bernoulli(σ(z_i)) with the seed's Philox stream.
    Sample { seed: u64 },
    /// Teacher forcing: set x_i to the given image's pixel.
    Replay { image: Vec<f32> },
}

/// A chain's state after some pixels: the image so far and the logit each
/// decided pixel was drawn from (NaN where none was computed).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub image: Vec<f32>,
    pub logits: Vec<f32>,
    /// Pixels decided so far; the next one is `done`.
    pub done: usize,
}

impl Trace {
    fn start(prefix: &[f32], start: usize) -> Result<Trace, ComputeError> {
        check_image(prefix)?;
        if start > PIXELS {
            return Err(ComputeError::Shape {
                op: "autoregressive chain",
                detail: format!("start pixel {start} is past {PIXELS}"),
            });
        }
        let mut image = prefix.to_vec();
        image[start..].fill(0.0);
        Ok(Trace {
            image,
            logits: vec![f32::NAN; PIXELS],
            done: start,
        })
    }
}

/// The CPU's pixel-by-pixel chain: `advance(k)` decides the next k pixels.
pub struct CpuChain<'m> {
    model: &'m ArModel,
    mode: Mode,
    trace: Trace,
    /// Running pre-activations for NADE (a_i) and MADE's hidden layer.
    hidden: Vec<f32>,
    /// PixelCNN's layer outputs at the positions decided so far.
    columns: Option<pixelcnn::Columns>,
}

impl<'m> CpuChain<'m> {
    /// Starts at pixel `start`, keeping `prefix[..start]` (the rest is ignored).
    pub fn new(
        model: &'m ArModel,
        prefix: &[f32],
        start: usize,
        mode: Mode,
    ) -> Result<Self, ComputeError> {
        if let Mode::Replay { image } = &mode {
            check_image(image)?;
        }
        let trace = Trace::start(prefix, start)?;
        let hidden = match model {
            ArModel::Nade(m) => m.preactivation(&trace.image),
            ArModel::Made(m) => m.preactivation(&trace.image),
            _ => Vec::new(),
        };
        let columns = match model {
            ArModel::PixelCnn(m) => {
                let mut columns = pixelcnn::Columns::new();
                for i in 0..start {
                    m.logit_next(&mut columns, &trace.image, i)?;
                }
                Some(columns)
            }
            _ => None,
        };
        Ok(CpuChain {
            model,
            mode,
            trace,
            hidden,
            columns,
        })
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    pub fn advance(&mut self, count: usize) -> Result<&Trace, ComputeError> {
        let end = (self.trace.done + count).min(PIXELS);
        for i in self.trace.done..end {
            let x = &self.trace.image;
            let z = match self.model {
                ArModel::Fvsbn(m) => m.logit_at(x, i),
                ArModel::Nade(m) => m.logit_from(&self.hidden, i),
                ArModel::Made(m) => m.logit_from(&self.hidden, x, i),
                ArModel::PixelCnn(m) => {
                    let columns = self.columns.as_mut().expect("PixelCNN chains keep columns");
                    m.logit_next(columns, x, i)?
                }
            };
            let v = match &self.mode {
                Mode::Sample { seed } => draw_bernoulli(*seed, i, z),
                Mode::Replay { image } => image[i],
            };
            self.trace.logits[i] = z;
            self.trace.image[i] = v;
            if v != 0.0 {
                match self.model {
                    ArModel::Nade(m) => m.observe(&mut self.hidden, i),
                    ArModel::Made(m) => m.observe(&mut self.hidden, i),
                    _ => {}
                }
            }
        }
        self.trace.done = end;
        Ok(&self.trace)
    }
}

/// How many times `advance` reads back while a chain of `pixels` runs `every`
/// pixels at a time: the bound the sampling widget and its test rely on.
pub fn readbacks_for(pixels: usize, every: usize) -> usize {
    pixels.div_ceil(every.max(1))
}

/// A model on whichever backend the page has: the GPU when there is one,
/// the CPU reference otherwise. Same weights, same seeds, same digits.
pub struct ArRunner {
    pub model: ArModel,
    gpu: Option<(std::rc::Rc<crate::Executor>, gpu::ArGpu)>,
}

impl ArRunner {
    pub fn new(model: ArModel, backend: &crate::Backend) -> ArRunner {
        let gpu = match backend {
            crate::Backend::Gpu(exec) => Some((exec.clone(), gpu::ArGpu::upload(exec, &model))),
            crate::Backend::Cpu(_) => None,
        };
        ArRunner { model, gpu }
    }

    pub fn on_gpu(&self) -> bool {
        self.gpu.is_some()
    }

    /// Teacher-forced logits of every pixel of `x`.
    pub async fn logits(&self, x: &[f32]) -> Result<Vec<f32>, ComputeError> {
        match &self.gpu {
            Some((exec, m)) => m.logits(exec, x).await,
            None => self.model.logits_ref(x),
        }
    }

    /// A chain from pixel `start`, keeping `prefix[..start]`.
    pub fn chain(
        &self,
        prefix: &[f32],
        start: usize,
        mode: Mode,
    ) -> Result<Chain<'_>, ComputeError> {
        Ok(match &self.gpu {
            Some((exec, m)) => Chain::Gpu(
                exec,
                Box::new(gpu::GpuChain::new(exec, m, prefix, start, mode)?),
            ),
            None => Chain::Cpu(CpuChain::new(&self.model, prefix, start, mode)?),
        })
    }
}

pub enum Chain<'m> {
    Gpu(&'m crate::Executor, Box<gpu::GpuChain<'m>>),
    Cpu(CpuChain<'m>),
}

impl Chain<'_> {
    pub fn trace(&self) -> &Trace {
        match self {
            Chain::Gpu(_, c) => c.trace(),
            Chain::Cpu(c) => c.trace(),
        }
    }

    /// Decides the next `count` pixels (one GPU readback).
    pub async fn advance(&mut self, count: usize) -> Result<&Trace, ComputeError> {
        match self {
            Chain::Gpu(exec, c) => c.advance(exec, count).await,
            Chain::Cpu(c) => c.advance(count),
        }
    }
}

/// Packs a binary image into base64url (784 bits → 131 characters), the
/// form a drawing takes in a URL.
pub fn image_to_code(x: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    x.chunks(6)
        .map(|bits| {
            let v = bits.iter().enumerate().fold(0usize, |acc, (k, &b)| {
                acc | (((b != 0.0) as usize) << (5 - k))
            });
            ALPHABET[v] as char
        })
        .collect()
}

/// The inverse of [`image_to_code`]; `None` unless it is exactly a code.
pub fn image_from_code(code: &str) -> Option<Vec<f32>> {
    if code.len() != PIXELS.div_ceil(6) {
        return None;
    }
    let mut x = Vec::with_capacity(PIXELS + 5);
    for c in code.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        x.extend((0..6).map(|k| ((v >> (5 - k)) & 1) as f32));
    }
    if x[PIXELS..].iter().any(|&b| b != 0.0) {
        return None;
    }
    x.truncate(PIXELS);
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_codes_round_trip_and_reject_garbage() {
        let x: Vec<f32> = (0..PIXELS)
            .map(|i| ((i * 7 + i / 5) % 3 == 0) as u8 as f32)
            .collect();
        let code = image_to_code(&x);
        assert_eq!(code.len(), 131);
        assert_eq!(image_from_code(&code), Some(x));
        assert_eq!(image_from_code(&code[1..]), None);
        assert_eq!(image_from_code(&format!("{}!", &code[1..])), None);
        // The 2 padding bits of the last character must be zero.
        assert_eq!(image_from_code(&format!("{}_", &code[..130])), None);
    }

    #[test]
    fn pixel_nll_is_stable_at_extreme_logits() {
        let v = pixel_nll(&[100.0, -100.0, 0.0], &[1.0, 0.0, 1.0]);
        assert!(v[0] < 1e-30 && v[1] < 1e-30);
        assert!((v[2] - std::f32::consts::LN_2).abs() < 1e-6);
    }
}
