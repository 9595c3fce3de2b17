//! The detector's sizes and tensors, shared by the trainer, the CPU path and
//! the GPU path so that all three compute one function.
//!
//! - Four 3×3 convolutions with ReLU, strides 2, 2, 1, 1 (padding 1): an
//!   input of any size h × w gives a map of ⌈h/4⌉ × ⌈w/4⌉ cells of
//!   [`CHANNELS`] channels, one cell per 4 × 4 pixels.
//! - Spatial pyramid max pooling over [`LEVELS`] (1 + 4 + 16 = 21 bins):
//!   21 × 32 values whatever the window's size (He et al., 2014, §2.3).
//! - A fully connected layer with ReLU, then one to [`OUTPUTS`] values: a
//!   face logit and the box refinement (dx, dy, dw, dh) relative to the
//!   window (R-CNN's parametrisation, Girshick et al., 2014, appendix C).
//!
//! Tensors: matrices Q8_0 ([out, in]; a convolution's is [cout, cin·9] in
//! (cin, ky, kx) order), biases f32.

use crate::{kernels::spp::SppShape, weights::TensorSpec};

/// (input channels, output channels, stride) of each 3×3 convolution.
pub const CONVS: [(usize, usize, usize); 4] = [(1, 16, 2), (16, 32, 2), (32, 32, 1), (32, 32, 1)];
/// Pixels per feature cell: the product of the strides.
pub const STRIDE: usize = 4;
pub const CHANNELS: usize = 32;
/// The pyramid's grid sides, coarsest first.
pub const LEVELS: &[usize] = &[1, 2, 4];
pub const BINS: usize = 21;
/// The pooled vector's length: bins × channels, bin-major.
pub const POOLED: usize = BINS * CHANNELS;
pub const HIDDEN: usize = 64;
/// The face logit, then dx, dy, dw, dh.
pub const OUTPUTS: usize = 5;
/// R-CNN style warps every window to this input (ORL's 92:112, near enough).
pub const RCNN_WIDTH: usize = 40;
pub const RCNN_HEIGHT: usize = 48;

const _: () = assert!(CONVS[0].2 * CONVS[1].2 * CONVS[2].2 * CONVS[3].2 == STRIDE);
const _: () = assert!(CONVS[3].1 == CHANNELS && BINS == 1 + 4 + 16);

pub const WEIGHTS_PATH: &str = "models/spp/spp.safetensors";
pub const METRICS_PATH: &str = "models/spp/spp.json";

/// Cells of the feature map of an input `side` pixels long: ⌈side/4⌉
/// (each stride-2 convolution with padding 1 halves a side, rounding up).
pub fn feature_side(side: usize) -> usize {
    CONVS
        .iter()
        .fold(side, |a, &(_, _, stride)| (a + 2 - 3) / stride + 1)
}

/// The pyramid over a feature map of `height` × `width` cells.
pub fn spp_shape(height: usize, width: usize) -> SppShape {
    SppShape {
        channels: CHANNELS,
        height,
        width,
        levels: LEVELS,
    }
}

/// Every tensor the weights file holds, in a fixed order.
pub fn specs() -> Vec<TensorSpec> {
    let mut s = Vec::new();
    let mut linear = |name: &str, out: usize, inp: usize| {
        s.push(TensorSpec::q8_0(format!("{name}.w"), out, inp));
        s.push(TensorSpec::f32(format!("{name}.b"), &[out]));
    };
    for (i, (cin, cout, _)) in CONVS.iter().enumerate() {
        linear(&format!("conv{i}"), *cout, cin * 9);
    }
    linear("fc", HIDDEN, POOLED);
    linear("out", OUTPUTS, HIDDEN);
    s
}

pub fn params() -> usize {
    specs()
        .iter()
        .map(|s| s.shape.iter().product::<usize>())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(feature_side(256), 64);
        assert_eq!(feature_side(48), 12);
        assert_eq!(feature_side(40), 10);
        assert_eq!(feature_side(20), 5);
        assert_eq!(feature_side(1), 1);
        assert_eq!(spp_shape(3, 5).pooled_len(), POOLED);
        // Small enough to ship: well under the 3 MB budget even in f32.
        assert!(params() * 4 < 3_000_000, "{}", params());
    }
}
