//! What pixel i's conditional can see: the inputs its logit can depend on,
//! found from each model's own structure (masks, kernel shapes, degrees),
//! apart from any drawing and from the view that shows it (issue 14's
//! "What does pixel i see?").
//!
//! - FVSBN and NADE: the whole prefix x_<i, by construction.
//! - MADE: inputs joined to output i through a hidden unit whose degree lets
//!   both masks pass, plus the direct input→output connections.
//! - PixelCNN: the masks propagated back from pixel i through every layer;
//!   stacked masked convolutions leave a blind spot up and to the right.

use super::{
    made,
    pixelcnn::{layers, Role},
    ArModel, PIXELS, SIDE,
};
use crate::error::ComputeError;

/// FVSBN's and NADE's conditional for pixel i: every pixel before it.
pub fn prefix(i: usize) -> Vec<bool> {
    (0..PIXELS).map(|j| j < i).collect()
}

/// MADE's inputs that reach output i through its hidden layer: input j
/// feeds hidden unit k when `degree[k] > j`, and k feeds output i when
/// `degree[k] ≤ i` ([`made::input_mask`], [`made::output_mask`]).
pub fn made_through_hidden(degrees: &[u32], i: usize) -> Vec<bool> {
    (0..PIXELS)
        .map(|j| {
            degrees
                .iter()
                .any(|&d| made::input_mask(d, j) && made::output_mask(d, i))
        })
        .collect()
}

/// MADE's whole conditional: through the hidden layer, or directly through
/// the strictly lower-triangular input→output matrix `A`.
pub fn made_sees(degrees: &[u32], i: usize) -> Vec<bool> {
    let direct = prefix(i);
    made_through_hidden(degrees, i)
        .into_iter()
        .zip(direct)
        .map(|(hidden, direct)| hidden || direct)
        .collect()
}

/// PixelCNN's receptive field for pixel i: the positions whose activations
/// reach the output at i, carried back layer by layer through each masked
/// kernel's taps (a residual layer also passes its input straight on).
pub fn pixelcnn_sees(i: usize) -> Vec<bool> {
    let mut reach = vec![false; PIXELS];
    reach[i] = true;
    for layer in layers().iter().rev() {
        let mut before = if layer.role == Role::Residual {
            reach.clone()
        } else {
            vec![false; PIXELS]
        };
        let c = (layer.k / 2) as isize;
        for p in (0..PIXELS).filter(|&p| reach[p]) {
            let (py, px) = ((p / SIDE) as isize, (p % SIDE) as isize);
            for ky in 0..layer.k {
                for kx in 0..layer.k {
                    if !layer.mask.allows(layer.k, ky, kx) {
                        continue;
                    }
                    let (y, x) = (py + ky as isize - c, px + kx as isize - c);
                    if (0..SIDE as isize).contains(&y) && (0..SIDE as isize).contains(&x) {
                        before[y as usize * SIDE + x as usize] = true;
                    }
                }
            }
        }
        reach = before;
    }
    reach
}

/// How a contribution map was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// FVSBN's logit is linear: α_ij x_j is each pixel's share exactly.
    Exact,
    /// A first-order estimate: x_j · ∂ logit_i / ∂ x_j.
    GradientTimesInput,
}

/// Each pixel's contribution to pixel i's logit, for drawing `x`, and how
/// it was found. Zero outside the prefix and on blank pixels.
pub fn contributions(
    model: &ArModel,
    x: &[f32],
    i: usize,
) -> Result<(Vec<f32>, Attribution), ComputeError> {
    if x.len() != PIXELS || i >= PIXELS {
        return Err(ComputeError::Shape {
            op: "contributions",
            detail: format!("pixel {i} of an image of {}", x.len()),
        });
    }
    let times_input = |g: Vec<f32>| g.iter().zip(x).map(|(g, v)| g * v).collect::<Vec<_>>();
    Ok(match model {
        ArModel::Fvsbn(m) => {
            let mut c = vec![0.0; PIXELS];
            for (j, a) in m.alpha_row(i).iter().enumerate() {
                c[j] = a * x[j];
            }
            (c, Attribution::Exact)
        }
        ArModel::Nade(m) => (
            times_input(m.logit_gradient(x, i)),
            Attribution::GradientTimesInput,
        ),
        ArModel::Made(m) => (
            times_input(m.logit_gradient(x, i)),
            Attribution::GradientTimesInput,
        ),
        ArModel::PixelCnn(m) => (
            times_input(m.logit_gradient(x, i)?),
            Attribution::GradientTimesInput,
        ),
    })
}

/// What pixel i's conditional can depend on, as a map over the image:
/// FVSBN's signed α row; NADE's prefix weighted by ‖W[:, j]‖; MADE's and
/// PixelCNN's connected inputs as 1. Zero where it cannot see.
pub fn dependencies(model: &ArModel, i: usize) -> Vec<f32> {
    let mask = |seen: Vec<bool>| seen.into_iter().map(|s| s as u8 as f32).collect();
    match model {
        ArModel::Fvsbn(m) => {
            let mut d = vec![0.0; PIXELS];
            d[..i].copy_from_slice(m.alpha_row(i));
            d
        }
        ArModel::Nade(m) => m
            .input_strength()
            .into_iter()
            .enumerate()
            .map(|(j, s)| if j < i { s } else { 0.0 })
            .collect(),
        ArModel::Made(m) => mask(made_sees(&m.degrees, i)),
        ArModel::PixelCnn(_) => mask(pixelcnn_sees(i)),
    }
}

/// How many pixels each model's conditional for pixel i can see.
pub fn sees(model: &ArModel, i: usize) -> Vec<bool> {
    match model {
        ArModel::Fvsbn(_) | ArModel::Nade(_) => prefix(i),
        ArModel::Made(m) => made_sees(&m.degrees, i),
        ArModel::PixelCnn(_) => pixelcnn_sees(i),
    }
}

/// How many pixels a mask marks.
pub fn count(seen: &[bool]) -> usize {
    seen.iter().filter(|&&s| s).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_lies_in_the_prefix() {
        let degrees: Vec<u32> = (0..made::HIDDEN as u32).map(|k| 1 + k * 7 % 783).collect();
        for i in [0, 1, 27, 28, 29, 400, 783] {
            let before = prefix(i);
            for seen in [made_sees(&degrees, i), pixelcnn_sees(i)] {
                assert!(
                    seen.iter().zip(&before).all(|(&s, &b)| !s || b),
                    "pixel {i}"
                );
            }
            assert_eq!(count(&before), i);
            assert_eq!(count(&made_sees(&degrees, i)), i);
        }
    }

    #[test]
    fn made_through_hidden_stops_below_the_largest_accepted_degree() {
        // Units of degree 3 and 10: output 5 accepts only degree 3, so it
        // sees inputs 0, 1, 2 through the hidden layer.
        let seen = made_through_hidden(&[3, 10], 5);
        assert_eq!(count(&seen), 3);
        assert!(seen[2] && !seen[3]);
        assert_eq!(count(&made_through_hidden(&[3, 10], 2)), 0);
        assert_eq!(count(&made_through_hidden(&[3, 10], 783)), 10);
    }

    #[test]
    fn pixelcnn_has_a_blind_spot_and_never_sees_itself() {
        let (row, col) = (14, 8);
        let i = row * SIDE + col;
        let seen = pixelcnn_sees(i);
        assert!(!seen[i]);
        // The pixel to its left and the one above are in view.
        assert!(seen[i - 1] && seen[i - SIDE]);
        // The 7×7 type-A layer reaches 3 columns right on the row above; each
        // 3×3 layer shifts one column right only by climbing a row, so far
        // right on the row above stays dark, though it comes before i.
        assert!(seen[(row - 1) * SIDE + col + 3]);
        assert!(!seen[(row - 1) * SIDE + SIDE - 1]);
        assert!(count(&seen) < i);
        // Rows more than REACH_ROWS above are out of reach.
        let reach = super::super::pixelcnn::REACH_ROWS;
        assert!(seen[(row - reach) * SIDE..(row - reach + 1) * SIDE]
            .iter()
            .any(|&s| s));
        assert!(seen[..(row - reach) * SIDE].iter().all(|&s| !s));
    }
}
