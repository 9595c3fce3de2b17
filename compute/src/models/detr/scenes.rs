//! Chapter 3's data: 96×96 scenes of 1 to 4 real MNIST digits, each cropped
//! to its ink, resized bilinearly to a random height in [14, 40] px, placed
//! at a random integer position whose box meets no other box, and composed
//! by per-pixel max on a black canvas. Everything comes from the seed.

pub use crate::image::resize_bilinear;
use crate::{image::boxes_overlap, inputs::SplitMix64};

pub const CANVAS: usize = 96;
pub const MIN_HEIGHT: usize = 14;
pub const MAX_HEIGHT: usize = 40;
pub const MAX_DIGITS: usize = 4;
const SIDE: usize = 28;

/// One placed digit: COCO's [x, y, w, h] in pixels, and its class 0–9.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneObject {
    pub bbox: [f64; 4],
    pub label: u8,
    /// Which source digit was drawn.
    pub source: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// 96×96 intensities in [0, 1], row-major.
    pub pixels: Vec<f32>,
    pub objects: Vec<SceneObject>,
}

/// A digit's ink: the smallest rectangle holding every pixel > 0, as
/// (x0, y0, width, height); None for a blank image.
pub fn ink_box(image: &[u8]) -> Option<(usize, usize, usize, usize)> {
    let (mut x0, mut y0, mut x1, mut y1) = (SIDE, SIDE, 0, 0);
    for (i, _) in image.iter().enumerate().filter(|(_, &v)| v > 0) {
        let (y, x) = (i / SIDE, i % SIDE);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    (x1 >= x0 && y1 >= y0 && x0 < SIDE).then(|| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// One scene from `images` (n × 784 intensities, 0–255) and their labels.
pub fn generate_scene(images: &[u8], labels: &[u8], rng: &mut SplitMix64) -> Scene {
    assert!(
        !labels.is_empty() && images.len() == labels.len() * SIDE * SIDE,
        "images must be n × 784 with n labels"
    );
    let count = 1 + rng.below(MAX_DIGITS);
    let mut pixels = vec![0.0f32; CANVAS * CANVAS];
    let mut objects: Vec<SceneObject> = Vec::new();
    let mut misses = 0;
    while objects.len() < count {
        // No room for another digit after many tries: start the canvas again.
        misses += 1;
        if misses > 500 {
            (misses, pixels, objects) = (0, vec![0.0; CANVAS * CANVAS], Vec::new());
        }
        let source = rng.below(labels.len());
        let image = &images[source * SIDE * SIDE..(source + 1) * SIDE * SIDE];
        let Some((cx, cy, cw, ch)) = ink_box(image) else {
            continue;
        };
        let crop: Vec<f32> = (0..ch)
            .flat_map(|y| (0..cw).map(move |x| (cy + y, cx + x)))
            .map(|(y, x)| image[y * SIDE + x] as f32 / 255.0)
            .collect();
        let th = MIN_HEIGHT + rng.below(MAX_HEIGHT - MIN_HEIGHT + 1);
        let tw = ((cw as f64 * th as f64 / ch as f64).round() as usize).max(1);
        if tw > CANVAS {
            continue;
        }
        // A crowded canvas may have no room left: try a few places, then
        // another digit.
        for _ in 0..50 {
            let x = rng.below(CANVAS - tw + 1);
            let y = rng.below(CANVAS - th + 1);
            let bbox = [x as f64, y as f64, tw as f64, th as f64];
            if objects.iter().any(|o| boxes_overlap(&o.bbox, &bbox)) {
                continue;
            }
            let patch = resize_bilinear(&crop, cw, ch, tw, th);
            for (r, row) in patch.chunks(tw).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    let p = &mut pixels[(y + r) * CANVAS + x + c];
                    *p = p.max(v);
                }
            }
            objects.push(SceneObject {
                bbox,
                label: labels[source],
                source,
            });
            break;
        }
    }
    Scene { pixels, objects }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_digits() -> (Vec<u8>, Vec<u8>) {
        // Three "digits": a filled 10×20 block, a 3×12 bar, and a 20×6 bar.
        let mut images = vec![0u8; 3 * SIDE * SIDE];
        let mut fill = |k: usize, x0: usize, y0: usize, w: usize, h: usize| {
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    images[k * SIDE * SIDE + y * SIDE + x] = 255;
                }
            }
        };
        fill(0, 9, 4, 10, 20);
        fill(1, 12, 8, 3, 12);
        fill(2, 4, 11, 20, 6);
        (images, vec![7, 1, 4])
    }

    #[test]
    fn ink_box_and_resize() {
        let (images, _) = fake_digits();
        assert_eq!(ink_box(&images[..784]), Some((9, 4, 10, 20)));
        assert_eq!(ink_box(&[0u8; 784]), None);
        // Resizing a constant image keeps it constant; a 2×1 ramp interpolates.
        let up = resize_bilinear(&[1.0; 6], 2, 3, 5, 7);
        assert!(up.iter().all(|&v| (v - 1.0).abs() < 1e-6));
        let ramp = resize_bilinear(&[0.0, 1.0], 2, 1, 4, 1);
        assert_eq!(ramp, vec![0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn scenes_follow_the_rules() {
        let (images, labels) = fake_digits();
        let mut rng = SplitMix64::new(5);
        let mut counts = [0; MAX_DIGITS + 1];
        for _ in 0..300 {
            let s = generate_scene(&images, &labels, &mut rng);
            counts[s.objects.len()] += 1;
            for (i, o) in s.objects.iter().enumerate() {
                let [x, y, w, h] = o.bbox;
                assert!((MIN_HEIGHT as f64..=MAX_HEIGHT as f64).contains(&h), "{h}");
                assert!(x >= 0.0 && y >= 0.0 && x + w <= 96.0 && y + h <= 96.0);
                assert_eq!(o.label, labels[o.source]);
                // The fake digits are solid, so the box is exactly the ink.
                let ink = |xx: usize, yy: usize| s.pixels[yy * CANVAS + xx] > 0.0;
                assert!(
                    ink(x as usize, y as usize) && ink((x + w) as usize - 1, (y + h) as usize - 1)
                );
                for other in &s.objects[i + 1..] {
                    assert!(!boxes_overlap(&o.bbox, &other.bbox));
                }
            }
        }
        assert_eq!(counts[0], 0);
        assert!(counts[1..].iter().all(|&c| c > 40), "{counts:?}");
        // The same seed, the same scene.
        let a = generate_scene(&images, &labels, &mut SplitMix64::new(9));
        let b = generate_scene(&images, &labels, &mut SplitMix64::new(9));
        assert_eq!(a, b);
    }
}
