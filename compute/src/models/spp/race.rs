//! The race: R-CNN and SPP-net on the same windows of one image on one
//! backend, timed. `cargo xtask bench` runs it natively (CPU and GPU) and
//! the page's race widget on the visitor's backend.

use web_time::Instant;

use crate::{error::ComputeError, executor::Executor, faces::scenes::SIDE};

use super::{
    config::{RCNN_HEIGHT, RCNN_WIDTH},
    gpu::SppNetGpu,
    model::{conv_flops, head_flops, SppNet},
    windows::PixelWindow,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// Crop, warp and convolve every window.
    Rcnn,
    /// Convolve the image once; pool every window from the shared map.
    Spp,
}

impl Pipeline {
    pub fn name(self) -> &'static str {
        match self {
            Pipeline::Rcnn => "R-CNN",
            Pipeline::Spp => "SPP-net",
        }
    }

    /// FLOPs of the convolutions for `windows` windows of a scene.
    pub fn conv_flops(self, windows: usize) -> f64 {
        match self {
            Pipeline::Rcnn => windows as f64 * conv_flops(RCNN_HEIGHT, RCNN_WIDTH),
            Pipeline::Spp => conv_flops(SIDE, SIDE),
        }
    }

    /// FLOPs of the fully connected layers, the same for both.
    pub fn head_flops(windows: usize) -> f64 {
        windows as f64 * head_flops()
    }
}

/// Where the detector runs.
pub enum Runner<'a> {
    Gpu(&'a Executor, &'a SppNetGpu),
    Cpu(&'a SppNet),
}

/// One pipeline's run: its outputs [windows, 5] and its milliseconds from
/// the image in memory to the outputs in memory (upload and readback
/// included on the GPU).
#[derive(Debug, Clone, PartialEq)]
pub struct Lap {
    pub pipeline: Pipeline,
    pub windows: usize,
    pub ms: f64,
    pub outputs: Vec<f32>,
}

pub async fn run(
    runner: &Runner<'_>,
    pipeline: Pipeline,
    image: &[f32],
    windows: &[PixelWindow],
) -> Result<Lap, ComputeError> {
    let start = Instant::now();
    let outputs = match (runner, pipeline) {
        (Runner::Gpu(exec, g), Pipeline::Rcnn) => {
            g.rcnn_pipeline(exec, image, SIDE, SIDE, windows).await?
        }
        (Runner::Gpu(exec, g), Pipeline::Spp) => {
            g.spp_pipeline(exec, image, SIDE, SIDE, windows).await?
        }
        (Runner::Cpu(net), Pipeline::Rcnn) => net.rcnn_pipeline_ref(image, SIDE, SIDE, windows)?,
        (Runner::Cpu(net), Pipeline::Spp) => net.spp_pipeline_ref(image, SIDE, SIDE, windows)?,
    };
    Ok(Lap {
        pipeline,
        windows: windows.len(),
        ms: start.elapsed().as_secs_f64() * 1e3,
        outputs,
    })
}
