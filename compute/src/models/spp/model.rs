//! The detector's weights and both pipelines on the CPU, from the kernels'
//! CPU references: the fallback without WebGPU and the oracle that
//! `spp::gpu` is tested against.

use crate::{
    error::ComputeError,
    kernels::{
        conv2d::{Conv2dShape, ConvMask},
        fused_linear::{FusedActivation, FusedLinear},
        spp::Window,
    },
    reference::{
        conv2d::conv2d_ref, fused_linear::linear_q8_fused_ref, spp::crop_resize_ref,
        spp::spp_max_ref,
    },
    weights::{load, WeightFile},
};

use super::{
    config::{
        feature_side, specs, spp_shape, CHANNELS, CONVS, OUTPUTS, RCNN_HEIGHT, RCNN_WIDTH,
        WEIGHTS_PATH,
    },
    windows::PixelWindow,
};

/// R-CNN style convolves this many warped windows per batch: enough to keep
/// the GEMMs busy, few enough to stay well inside a storage binding.
pub const RCNN_BATCH: usize = 256;

/// One 3×3 convolution: its stored Q8_0 kernel dequantized, and its bias.
#[derive(Debug, Clone)]
pub struct Conv {
    pub dense: Vec<f32>,
    pub bias: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct SppNet {
    pub convs: Vec<Conv>,
    pub fc: FusedLinear,
    pub out: FusedLinear,
}

/// The convolutions' shapes for `batch` images of `height` × `width`.
pub fn conv_shapes(batch: usize, height: usize, width: usize) -> Vec<Conv2dShape> {
    let (mut h, mut w) = (height, width);
    CONVS
        .iter()
        .map(|&(cin, cout, stride)| {
            let s = Conv2dShape {
                batch,
                cin,
                h,
                w,
                cout,
                k: 3,
                stride,
                pad: 1,
                mask: ConvMask::None,
            };
            (h, w) = s.out_hw();
            s
        })
        .collect()
}

/// Multiply-adds ×2 of the convolutions over one `height` × `width` input.
pub fn conv_flops(height: usize, width: usize) -> f64 {
    conv_shapes(1, height, width)
        .iter()
        .map(|s| {
            let (ho, wo) = s.out_hw();
            2.0 * (s.cout * s.cin * 9 * ho * wo) as f64
        })
        .sum()
}

/// Multiply-adds ×2 of the fully connected layers for one window.
pub fn head_flops() -> f64 {
    2.0 * (super::config::POOLED * super::config::HIDDEN + super::config::HIDDEN * OUTPUTS) as f64
}

/// An image of `width` × `height` intensities, finite and big enough to
/// hold a window.
pub fn check_image(image: &[f32], width: usize, height: usize) -> Result<(), ComputeError> {
    let bad = |detail: String| Err(ComputeError::Shape { op: "spp", detail });
    if width == 0 || height == 0 || image.len() != width * height {
        return bad(format!(
            "an image of {} pixels is not {width} × {height}",
            image.len()
        ));
    }
    if image.iter().any(|v| !v.is_finite()) {
        return bad("an image holds a NaN or an infinity".into());
    }
    Ok(())
}

/// Windows inside a `width` × `height` image, at least one.
pub fn check_windows(
    windows: &[PixelWindow],
    width: usize,
    height: usize,
) -> Result<(), ComputeError> {
    if windows.is_empty() {
        return Err(ComputeError::Shape {
            op: "spp",
            detail: "no windows".into(),
        });
    }
    match windows
        .iter()
        .find(|w| w.w == 0 || w.h == 0 || w.x + w.w > width || w.y + w.h > height)
    {
        Some(w) => Err(ComputeError::Shape {
            op: "spp",
            detail: format!("window {w:?} is not inside the {width} × {height} image"),
        }),
        None => Ok(()),
    }
}

fn missing(name: &str) -> ComputeError {
    ComputeError::Shape {
        op: "spp weights",
        detail: format!("no tensor {name}"),
    }
}

/// Each window of a batch of warped crops covers its own whole map: the
/// batch's maps stacked into one tall map, window k on rows k·h..(k+1)·h.
pub fn stacked_windows(batch: usize, fh: usize, fw: usize) -> Vec<Window> {
    (0..batch)
        .map(|k| Window {
            x0: 0,
            y0: k * fh,
            x1: fw,
            y1: (k + 1) * fh,
        })
        .collect()
}

impl SppNet {
    /// Parses and checks a weights file (`assets/models/spp/spp.safetensors`).
    pub fn load(bytes: &[u8]) -> Result<SppNet, ComputeError> {
        SppNet::from_weights(&load(WEIGHTS_PATH, bytes, &specs())?)
    }

    pub fn from_weights(file: &WeightFile) -> Result<SppNet, ComputeError> {
        let linear = |name: &str| -> Result<FusedLinear, ComputeError> {
            let w = format!("{name}.w");
            let b = format!("{name}.b");
            Ok(FusedLinear {
                w: file.q8_0(&w).cloned().ok_or_else(|| missing(&w))?,
                b: file
                    .f32(&b)
                    .map(<[f32]>::to_vec)
                    .ok_or_else(|| missing(&b))?,
                norm: None,
            })
        };
        let convs = (0..CONVS.len())
            .map(|i| {
                let l = linear(&format!("conv{i}"))?;
                Ok(Conv {
                    dense: l.w.dequantize(),
                    bias: l.b,
                })
            })
            .collect::<Result<_, ComputeError>>()?;
        Ok(SppNet {
            convs,
            fc: linear("fc")?,
            out: linear("out")?,
        })
    }

    /// Untrained weights from a seed, for tests that need no trained file.
    pub fn random(seed: u64) -> SppNet {
        let bytes = crate::weights::random_safetensors(&specs(), seed, |spec| {
            if spec.shape.len() == 1 {
                0.1
            } else {
                (6.0 / spec.shape[1] as f32).sqrt()
            }
        });
        SppNet::load(&bytes).expect("random weights fit the specs")
    }

    /// The convolutions over `batch` images of `height` × `width`: the
    /// feature maps channels last, [batch, ⌈h/4⌉, ⌈w/4⌉, CHANNELS].
    pub fn features_ref(
        &self,
        images: &[f32],
        batch: usize,
        height: usize,
        width: usize,
    ) -> Result<Vec<f32>, ComputeError> {
        let mut x = images.to_vec();
        for (conv, shape) in self.convs.iter().zip(conv_shapes(batch, height, width)) {
            x = conv2d_ref(&x, &conv.dense, &conv.bias, shape)?;
            x.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        let (fh, fw) = (feature_side(height), feature_side(width));
        let cells = fh * fw;
        let mut last = vec![0f32; x.len()];
        for b in 0..batch {
            let (src, dst) = (
                &x[b * cells * CHANNELS..],
                &mut last[b * cells * CHANNELS..],
            );
            for c in 0..CHANNELS {
                for p in 0..cells {
                    dst[p * CHANNELS + c] = src[c * cells + p];
                }
            }
        }
        Ok(last)
    }

    /// The fully connected layers: [m, POOLED] → [m, OUTPUTS].
    pub fn head_ref(&self, pooled: &[f32], m: usize) -> Result<Vec<f32>, ComputeError> {
        let (hidden, _) =
            linear_q8_fused_ref(pooled, &self.fc, m, None, None, FusedActivation::Relu)?;
        let (out, _) =
            linear_q8_fused_ref(&hidden, &self.out, m, None, None, FusedActivation::None)?;
        Ok(out)
    }

    /// SPP-net style: the convolutions once over the whole image, then each
    /// window pooled from the shared map. [windows, OUTPUTS].
    pub fn spp_pipeline_ref(
        &self,
        image: &[f32],
        width: usize,
        height: usize,
        windows: &[PixelWindow],
    ) -> Result<Vec<f32>, ComputeError> {
        check_image(image, width, height)?;
        check_windows(windows, width, height)?;
        let features = self.features_ref(image, 1, height, width)?;
        let cells: Vec<Window> = windows.iter().map(PixelWindow::cells).collect();
        let shape = spp_shape(feature_side(height), feature_side(width));
        let pooled = spp_max_ref(&features, &cells, shape)?;
        self.head_ref(&pooled, windows.len())
    }

    /// R-CNN style: every window cropped and warped to the network's input,
    /// and the whole network run on each, [`RCNN_BATCH`] at a time.
    pub fn rcnn_pipeline_ref(
        &self,
        image: &[f32],
        width: usize,
        height: usize,
        windows: &[PixelWindow],
    ) -> Result<Vec<f32>, ComputeError> {
        check_image(image, width, height)?;
        check_windows(windows, width, height)?;
        let (fh, fw) = (feature_side(RCNN_HEIGHT), feature_side(RCNN_WIDTH));
        let mut out = Vec::with_capacity(windows.len() * OUTPUTS);
        for part in windows.chunks(RCNN_BATCH) {
            let crops = crop_resize_ref(image, width, height, part, RCNN_WIDTH, RCNN_HEIGHT)?;
            let features = self.features_ref(&crops, part.len(), RCNN_HEIGHT, RCNN_WIDTH)?;
            let pooled = spp_max_ref(
                &features,
                &stacked_windows(part.len(), fh, fw),
                spp_shape(part.len() * fh, fw),
            )?;
            out.extend(self.head_ref(&pooled, part.len())?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{faces::scenes::SIDE, models::spp::windows::grid};

    fn image() -> Vec<f32> {
        (0..SIDE * SIDE)
            .map(|i| ((i * 7919) % 256) as f32 / 255.0)
            .collect()
    }

    #[test]
    fn one_vector_length_for_any_input_size() {
        let net = SppNet::random(1);
        for (h, w) in [(48, 40), (112, 92), (30, 70)] {
            let img = vec![0.5f32; h * w];
            let f = net.features_ref(&img, 1, h, w).unwrap();
            let (fh, fw) = (feature_side(h), feature_side(w));
            assert_eq!(f.len(), fh * fw * CHANNELS);
            let whole = [Window {
                x0: 0,
                y0: 0,
                x1: fw,
                y1: fh,
            }];
            let pooled = spp_max_ref(&f, &whole, spp_shape(fh, fw)).unwrap();
            assert_eq!(pooled.len(), super::super::config::POOLED);
        }
    }

    /// Each pipeline scores a window the same alone or in a batch (to
    /// rounding: the Q8_0 product sums differently from 8 rows on), and
    /// rejects bad input.
    #[test]
    fn pipelines_are_batch_independent_and_check_input() {
        let net = SppNet::random(2);
        let img = image();
        let all = grid();
        let some: Vec<PixelWindow> = all.iter().step_by(97).copied().collect();
        let spp = net.spp_pipeline_ref(&img, SIDE, SIDE, &some).unwrap();
        let rcnn = net.rcnn_pipeline_ref(&img, SIDE, SIDE, &some).unwrap();
        assert_eq!(spp.len(), some.len() * OUTPUTS);
        assert_eq!(rcnn.len(), some.len() * OUTPUTS);
        // The third window alone gives the same outputs as in the batch.
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        let one = net
            .rcnn_pipeline_ref(&img, SIDE, SIDE, &some[2..3])
            .unwrap();
        assert!(close(&one, &rcnn[2 * OUTPUTS..3 * OUTPUTS]));
        let one = net.spp_pipeline_ref(&img, SIDE, SIDE, &some[2..3]).unwrap();
        assert!(close(&one, &spp[2 * OUTPUTS..3 * OUTPUTS]));
        assert!(!close(&spp, &rcnn));
        assert!(net.spp_pipeline_ref(&img[1..], SIDE, SIDE, &some).is_err());
        assert!(net.spp_pipeline_ref(&img, SIDE, SIDE, &[]).is_err());
        let outside = PixelWindow {
            x: 250,
            y: 0,
            w: 20,
            h: 24,
            scale: 0,
        };
        assert!(net.rcnn_pipeline_ref(&img, SIDE, SIDE, &[outside]).is_err());
        let mut nan = img.clone();
        nan[5] = f32::NAN;
        assert!(net.spp_pipeline_ref(&nan, SIDE, SIDE, &some).is_err());
    }

    #[test]
    fn the_race_in_flops() {
        // Per the grid's 2,027 windows, R-CNN convolves 2,027 crops of
        // 40 × 48; SPP-net one 256 × 256 image.
        let rcnn = 2027.0 * conv_flops(RCNN_HEIGHT, RCNN_WIDTH);
        let spp = conv_flops(SIDE, SIDE);
        assert!(rcnn / spp > 50.0, "{}", rcnn / spp);
    }
}
