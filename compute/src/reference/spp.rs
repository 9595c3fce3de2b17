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

/// Each window of a `width` × `height` image cropped and resized
/// bilinearly to `tw` × `th` (sampling at pixel centres, as
/// `image::resize_bilinear` does, in f32 like the shader): [windows, th, tw].
pub fn crop_resize_ref(
    image: &[f32],
    width: usize,
    height: usize,
    windows: &[crate::models::spp::windows::PixelWindow],
    tw: usize,
    th: usize,
) -> Result<Vec<f32>, ComputeError> {
    crate::models::spp::model::check_windows(windows, width, height)?;
    if image.len() != width * height || tw == 0 || th == 0 {
        return Err(ComputeError::Shape {
            op: "crop_resize",
            detail: format!(
                "{} pixels for {width} × {height}, to {tw} × {th}",
                image.len()
            ),
        });
    }
    let mut out = Vec::with_capacity(windows.len() * tw * th);
    for w in windows {
        let (sx, sy) = (w.w as f32 / tw as f32, w.h as f32 / th as f32);
        for y in 0..th {
            let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (w.h - 1) as f32);
            let y0 = fy.floor();
            let ty = fy - y0;
            let y0 = y0 as usize;
            let y1 = (y0 + 1).min(w.h - 1);
            for x in 0..tw {
                let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (w.w - 1) as f32);
                let x0 = fx.floor();
                let tx = fx - x0;
                let x0 = x0 as usize;
                let x1 = (x0 + 1).min(w.w - 1);
                let at = |yy: usize, xx: usize| image[(w.y + yy) * width + w.x + xx];
                let top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * tx;
                let bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * tx;
                out.push(top + (bottom - top) * ty);
            }
        }
    }
    Ok(out)
}
