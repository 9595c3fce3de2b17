//! The detector's two pipelines on the GPU, each one submission and one
//! readback. SPP-net: the four convolutions over the whole image, one
//! `spp_max` dispatch for every window, then the two fully connected
//! layers. R-CNN: per batch of [`RCNN_BATCH`] windows, one `crop_resize`
//! dispatch, the four convolutions over the warped crops, the pyramid of
//! each crop's whole map, and the same two layers. The CPU references
//! (`SppNet::spp_pipeline_ref`, `rcnn_pipeline_ref`) run the same ops;
//! the tests hold the two within 1e-3.

use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        conv2d::{conv2d_relu_cout8, ConvLayout},
        fused_linear::{linear_q8_fused, Fused, FusedActivation, GpuFusedLinear, Out},
        spp::{crop_resize, spp_max, Window},
    },
};

use super::{
    config::{feature_side, spp_shape, OUTPUTS, RCNN_HEIGHT, RCNN_WIDTH},
    model::{check_image, check_windows, conv_shapes, stacked_windows, SppNet, RCNN_BATCH},
    windows::PixelWindow,
};

pub struct SppNetGpu {
    /// Dense f32 kernels and biases.
    convs: Vec<(GpuTensor, GpuTensor)>,
    fc: GpuFusedLinear,
    out: GpuFusedLinear,
}

impl SppNetGpu {
    pub fn upload(exec: &Executor, net: &SppNet) -> Result<SppNetGpu, ComputeError> {
        Ok(SppNetGpu {
            convs: net
                .convs
                .iter()
                .map(|c| (exec.upload(&c.dense), exec.upload(&c.bias)))
                .collect(),
            fc: GpuFusedLinear::upload(exec, &net.fc)?,
            out: GpuFusedLinear::upload(exec, &net.out)?,
        })
    }

    /// The convolutions over `batch` images, the last map channels last.
    fn features(
        &self,
        rec: &mut Recording<'_>,
        images: &GpuTensor,
        batch: usize,
        height: usize,
        width: usize,
    ) -> Result<GpuTensor, ComputeError> {
        let shapes = conv_shapes(batch, height, width);
        let mut x: Option<GpuTensor> = None;
        for (n, ((w, b), shape)) in self.convs.iter().zip(&shapes).enumerate() {
            let layout = if n + 1 == shapes.len() {
                ConvLayout::ChannelsLast
            } else {
                ConvLayout::ChannelsFirst
            };
            x = Some(conv2d_relu_cout8(
                rec,
                x.as_ref().unwrap_or(images),
                w,
                b,
                *shape,
                layout,
            )?);
        }
        Ok(x.expect("the network has convolutions"))
    }

    /// The fully connected layers over `m` pooled vectors, the outputs
    /// written into `into` from word `at`.
    fn head(
        &self,
        rec: &mut Recording<'_>,
        pooled: &GpuTensor,
        m: usize,
        into: &GpuTensor,
        at: usize,
    ) -> Result<(), ComputeError> {
        let relu = Fused {
            activation: FusedActivation::Relu,
            ..Fused::default()
        };
        let hidden = linear_q8_fused(rec, pooled, &self.fc, m, relu)?
            .y
            .expect("a new tensor");
        let to = Fused {
            y: Out::At(into, at),
            ..Fused::default()
        };
        linear_q8_fused(rec, &hidden, &self.out, m, to)?;
        Ok(())
    }

    /// The last convolution's map of one image, channels last
    /// [⌈h/4⌉, ⌈w/4⌉, CHANNELS], and the pyramid of each window (in cells):
    /// [windows, BINS, CHANNELS]. The "any size in" widget's view.
    pub async fn features_and_pyramids(
        &self,
        exec: &Executor,
        image: &[f32],
        width: usize,
        height: usize,
        cells: &[Window],
    ) -> Result<(Vec<f32>, Vec<f32>), ComputeError> {
        check_image(image, width, height)?;
        let input = exec.upload(image);
        let mut rec = exec.begin();
        let features = self.features(&mut rec, &input, 1, height, width)?;
        let shape = spp_shape(feature_side(height), feature_side(width));
        let pooled = spp_max(&mut rec, &features, cells, shape)?;
        exec.submit(rec)?;
        Ok((exec.read(&features).await?, exec.read(&pooled).await?))
    }

    /// SPP-net style: [windows, OUTPUTS], as `SppNet::spp_pipeline_ref`.
    pub async fn spp_pipeline(
        &self,
        exec: &Executor,
        image: &[f32],
        width: usize,
        height: usize,
        windows: &[PixelWindow],
    ) -> Result<Vec<f32>, ComputeError> {
        check_image(image, width, height)?;
        check_windows(windows, width, height)?;
        let input = exec.upload(image);
        let outputs = exec.empty(windows.len() * OUTPUTS);
        let mut rec = exec.begin();
        let features = self.features(&mut rec, &input, 1, height, width)?;
        let cells: Vec<Window> = windows.iter().map(PixelWindow::cells).collect();
        let shape = spp_shape(feature_side(height), feature_side(width));
        let pooled = spp_max(&mut rec, &features, &cells, shape)?;
        self.head(&mut rec, &pooled, windows.len(), &outputs, 0)?;
        exec.submit(rec)?;
        exec.read(&outputs).await
    }

    /// R-CNN style: [windows, OUTPUTS], as `SppNet::rcnn_pipeline_ref`.
    pub async fn rcnn_pipeline(
        &self,
        exec: &Executor,
        image: &[f32],
        width: usize,
        height: usize,
        windows: &[PixelWindow],
    ) -> Result<Vec<f32>, ComputeError> {
        check_image(image, width, height)?;
        check_windows(windows, width, height)?;
        let input = exec.upload(image);
        let outputs = exec.empty(windows.len() * OUTPUTS);
        let (fh, fw) = (feature_side(RCNN_HEIGHT), feature_side(RCNN_WIDTH));
        let mut rec = exec.begin();
        for (k, part) in windows.chunks(RCNN_BATCH).enumerate() {
            let crops = crop_resize(
                &mut rec,
                &input,
                width,
                height,
                part,
                RCNN_WIDTH,
                RCNN_HEIGHT,
            )?;
            let features = self.features(&mut rec, &crops, part.len(), RCNN_HEIGHT, RCNN_WIDTH)?;
            let pooled = spp_max(
                &mut rec,
                &features,
                &stacked_windows(part.len(), fh, fw),
                spp_shape(part.len() * fh, fw),
            )?;
            self.head(
                &mut rec,
                &pooled,
                part.len(),
                &outputs,
                k * RCNN_BATCH * OUTPUTS,
            )?;
        }
        exec.submit(rec)?;
        exec.read(&outputs).await
    }
}
