use crate::{
    error::ComputeError,
    kernels::spp::{bin_bounds, SppShape, Window},
};

/// Spatial pyramid max pooling on the CPU: [windows, bins, channels] from
/// `features` [height, width, channels], bins level by level, row-major.
/// Plain Rust: candle's pooling has fixed kernels and strides, not SPP's bins.
pub fn spp_max_ref(
    features: &[f32],
    windows: &[Window],
    s: SppShape,
) -> Result<Vec<f32>, ComputeError> {
    s.check(features.len(), windows)?;
    let mut out = Vec::with_capacity(windows.len() * s.pooled_len());
    for w in windows {
        for &n in s.levels {
            for by in 0..n {
                let (ya, yb) = bin_bounds(by, n, w.y1 - w.y0);
                for bx in 0..n {
                    let (xa, xb) = bin_bounds(bx, n, w.x1 - w.x0);
                    let at = out.len();
                    out.extend_from_slice(&vec![f32::NEG_INFINITY; s.channels]);
                    for y in w.y0 + ya..w.y0 + yb {
                        for x in w.x0 + xa..w.x0 + xb {
                            let cell = &features[(y * s.width + x) * s.channels..][..s.channels];
                            for (o, &v) in out[at..].iter_mut().zip(cell) {
                                *o = o.max(v);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}
