//! The autoregressive models on the GPU. A [`GpuChain`] keeps the image on
//! the GPU and records `count` pixel steps (logits → sigmoid → Philox draw,
//! or a copy of the true pixel when replaying) into one command buffer; the
//! only readback is of the trace, once per `advance`.

use super::{
    fvsbn::FvsbnGpu,
    made::MadeGpu,
    nade::NadeGpu,
    pixelcnn::{GpuColumns, PixelCnnGpu},
    ArKind, ArModel, Mode, Trace, PIXELS, SIDE,
};
use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        elementwise::{activation, Activation},
        sample::{sample, SampleTarget, Sampler},
    },
};

pub enum ArGpu {
    Fvsbn(FvsbnGpu),
    Nade(NadeGpu),
    Made(MadeGpu),
    PixelCnn(PixelCnnGpu),
}

impl ArGpu {
    pub fn upload(exec: &Executor, model: &ArModel) -> ArGpu {
        match model {
            ArModel::Fvsbn(m) => ArGpu::Fvsbn(FvsbnGpu::upload(exec, m)),
            ArModel::Nade(m) => ArGpu::Nade(NadeGpu::upload(exec, m)),
            ArModel::Made(m) => ArGpu::Made(MadeGpu::upload(exec, m)),
            ArModel::PixelCnn(m) => ArGpu::PixelCnn(PixelCnnGpu::upload(exec, m)),
        }
    }

    pub fn kind(&self) -> ArKind {
        match self {
            ArGpu::Fvsbn(_) => ArKind::Fvsbn,
            ArGpu::Nade(_) => ArKind::Nade,
            ArGpu::Made(_) => ArKind::Made,
            ArGpu::PixelCnn(_) => ArKind::PixelCnn,
        }
    }

    /// The running state a chain carries from pixel to pixel, computed
    /// from its prefix.
    fn record_state(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
    ) -> Result<ChainState, ComputeError> {
        Ok(match self {
            ArGpu::Nade(m) => ChainState::Hidden(m.record_state(rec, image)?),
            ArGpu::Made(m) => ChainState::Hidden(m.record_state(rec, image)?),
            ArGpu::PixelCnn(m) => ChainState::Columns(m.record_columns(rec, image)?),
            ArGpu::Fvsbn(_) => ChainState::None,
        })
    }

    /// Records pixel i's logit given `image`'s pixels before i; returns the
    /// tensor holding it and its index there. Each model computes only
    /// what pixel i needs: one row of a matrix, or one position per layer.
    fn record_step_logit(
        &self,
        rec: &mut Recording<'_>,
        state: &ChainState,
        image: &GpuTensor,
        i: usize,
    ) -> Result<(GpuTensor, usize), ComputeError> {
        Ok(match (self, state) {
            (ArGpu::Fvsbn(m), _) => (m.record_step_logit(rec, image, i)?, 0),
            (ArGpu::Nade(m), ChainState::Hidden(a)) => (m.record_step_logit(rec, a, i)?, 0),
            (ArGpu::Made(m), ChainState::Hidden(pre)) => {
                (m.record_step_logit(rec, pre, image, i)?, 0)
            }
            (ArGpu::PixelCnn(m), ChainState::Columns(c)) => {
                (m.record_next_logit(rec, c, image, i)?, 0)
            }
            _ => {
                return Err(ComputeError::Cpu(
                    "this chain's state is not its model's".into(),
                ))
            }
        })
    }

    /// Updates the running state once pixel i is in `image`.
    fn record_observe(
        &self,
        rec: &mut Recording<'_>,
        state: &ChainState,
        image: &GpuTensor,
        i: usize,
    ) -> Result<(), ComputeError> {
        match (self, state) {
            (ArGpu::Nade(m), ChainState::Hidden(a)) => m.record_observe(rec, a, image, i),
            (ArGpu::Made(m), ChainState::Hidden(pre)) => m.record_observe(rec, pre, image, i),
            _ => Ok(()),
        }
    }

    /// Teacher-forced logits of every pixel. FVSBN, MADE and PixelCNN get
    /// them all in one parallel pass over the true image; NADE's
    /// conditionals each need their own prefix, so it replays the 784
    /// steps on the GPU (still one readback).
    pub async fn logits(&self, exec: &Executor, x: &[f32]) -> Result<Vec<f32>, ComputeError> {
        super::check_image(x)?;
        let image = pooled(exec, x)?;
        let mut rec = exec.begin();
        let z = match self {
            ArGpu::Fvsbn(m) => m.record_logits(&mut rec, &image)?,
            ArGpu::Made(m) => m.record_logits(&mut rec, &image)?,
            ArGpu::PixelCnn(m) => m.record_logits_rows(&mut rec, &image, SIDE)?,
            ArGpu::Nade(_) => {
                drop(rec);
                let zeros = vec![0.0; PIXELS];
                let mut chain =
                    GpuChain::new(exec, self, &zeros, 0, Mode::Replay { image: x.to_vec() })?;
                return Ok(chain.advance(exec, PIXELS).await?.logits.clone());
            }
        };
        exec.submit(rec)?;
        exec.read(&z).await
    }
}

/// `values` in a pooled buffer, written in place rather than uploaded: a
/// warm page's next chain or scored digit creates no buffers or bind groups.
fn pooled(exec: &Executor, values: &[f32]) -> Result<GpuTensor, ComputeError> {
    let tensor = exec.empty(values.len());
    exec.write(&tensor, values)?;
    Ok(tensor)
}

/// What a chain carries from pixel to pixel.
enum ChainState {
    /// FVSBN reads the image directly.
    None,
    /// NADE's pre-activation a_i; MADE's hidden pre-activations.
    Hidden(GpuTensor),
    /// PixelCNN's layer outputs at the positions decided so far.
    Columns(GpuColumns),
}

/// Records the draw of pixel i from its logit (`z` at `at`) into `image`:
/// σ, then the seed's Philox Bernoulli draw, all on the GPU.
fn record_draw(
    rec: &mut Recording<'_>,
    z: &GpuTensor,
    at: usize,
    seed: u64,
    i: usize,
    image: &GpuTensor,
) -> Result<(), ComputeError> {
    let one = rec.exec().empty(1);
    rec.copy(z, at, &one, 0, 1);
    let p = activation(rec, &one, Activation::Sigmoid);
    sample(
        rec,
        Sampler::Bernoulli,
        &p,
        1,
        1,
        seed,
        i as u32,
        image,
        SampleTarget {
            offset: i,
            as_index: false,
        },
    )
}

/// A seeded PixelCNN sample the old way, recomputing each pixel's whole
/// window of rows: the baseline the column chain is benchmarked and tested
/// against. One submission, one readback of the image.
pub async fn pixelcnn_sample_recomputing(
    exec: &Executor,
    m: &PixelCnnGpu,
    seed: u64,
) -> Result<Vec<f32>, ComputeError> {
    let image = exec.zeros(PIXELS);
    let mut rec = exec.begin();
    for i in 0..PIXELS {
        let (z, at) = m.record_pixel_logit(&mut rec, &image, i)?;
        record_draw(&mut rec, &z, at, seed, i, &image)?;
    }
    exec.submit(rec)?;
    exec.read(&image).await
}

/// A chain on the GPU. Its trace buffer holds [image | logits], so one
/// readback shows both the pixels drawn so far and what they were drawn from.
pub struct GpuChain<'m> {
    model: &'m ArGpu,
    mode: Mode,
    image: GpuTensor,
    trace_buf: GpuTensor,
    truth: Option<GpuTensor>,
    state: ChainState,
    trace: Trace,
}

impl<'m> GpuChain<'m> {
    pub fn new(
        exec: &Executor,
        model: &'m ArGpu,
        prefix: &[f32],
        start: usize,
        mode: Mode,
    ) -> Result<Self, ComputeError> {
        let trace = Trace::start(prefix, start)?;
        let truth = match &mode {
            Mode::Replay { image } => {
                super::check_image(image)?;
                Some(pooled(exec, image)?)
            }
            Mode::Sample { .. } => None,
        };
        let image = pooled(exec, &trace.image)?;
        let trace_buf = pooled(exec, &[trace.image.as_slice(), &trace.logits].concat())?;
        let mut rec = exec.begin();
        let state = model.record_state(&mut rec, &image)?;
        exec.submit(rec)?;
        Ok(GpuChain {
            model,
            mode,
            image,
            trace_buf,
            truth,
            state,
            trace,
        })
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Decides the next `count` pixels on the GPU in one submission, then
    /// reads the trace back once.
    pub async fn advance(&mut self, exec: &Executor, count: usize) -> Result<&Trace, ComputeError> {
        let start = self.trace.done;
        let end = (start + count).min(PIXELS);
        if end == start {
            return Ok(&self.trace);
        }
        let mut rec = exec.begin();
        for i in start..end {
            let state = &self.state;
            let (z, at) = self
                .model
                .record_step_logit(&mut rec, state, &self.image, i)?;
            rec.copy(&z, at, &self.trace_buf, PIXELS + i, 1);
            match (&self.mode, &self.truth) {
                (Mode::Sample { seed }, _) => {
                    record_draw(&mut rec, &z, at, *seed, i, &self.image)?;
                }
                (Mode::Replay { .. }, Some(truth)) => rec.copy(truth, i, &self.image, i, 1),
                (Mode::Replay { .. }, None) => unreachable!("replay chains upload their image"),
            }
            self.model.record_observe(&mut rec, state, &self.image, i)?;
            rec.copy(&self.image, i, &self.trace_buf, i, 1);
        }
        exec.submit(rec)?;
        let values = exec.read(&self.trace_buf).await?;
        self.trace.image.copy_from_slice(&values[..PIXELS]);
        self.trace.logits.copy_from_slice(&values[PIXELS..]);
        self.trace.done = end;
        Ok(&self.trace)
    }
}
