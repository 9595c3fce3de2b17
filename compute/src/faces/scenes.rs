//! Chapter 9's scenes: ORL faces pasted at known boxes onto crops of
//! scikit-image's sample photos. A face's box is its whole ORL frame,
//! scaled to a height in [24, 112] px with ORL's 92:112 aspect, since ORL
//! has no tighter annotation. Boxes never overlap. Everything comes from
//! the seed, so the page and the native pipeline draw the same scenes.

use super::{Atlas, FacesError, Grey, HEIGHT, PHOTOS, WIDTH};
use crate::{
    image::{boxes_overlap, resize_bilinear},
    inputs::SplitMix64,
};

pub const SIDE: usize = 256;
pub const MIN_FACE_HEIGHT: usize = 24;
pub const MAX_FACE_HEIGHT: usize = 112;
pub const MAX_FACES: usize = 3;

/// scikit-image's sample photos used as backgrounds (`assets/`-relative
/// `data/faces/backgrounds/<name>.png`, grey, short side
/// [`BACKGROUND_SHORT_SIDE`]), each CC0 or public domain by the package's
/// own notes, and none showing a person (`camera` and `astronaut` do;
/// `horse` is a silhouette on transparency).
pub const BACKGROUNDS: [&str; 8] = [
    "brick",
    "grass",
    "gravel",
    "coffee",
    "chelsea",
    "coins",
    "text",
    "clock_motion",
];
pub const BACKGROUND_SHORT_SIDE: usize = 320;

pub fn background_path(name: &str) -> String {
    format!("data/faces/backgrounds/{name}.png")
}

/// A pasted face: COCO's [x, y, w, h] in pixels, and whose photo it is.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceBox {
    pub bbox: [f64; 4],
    pub person: usize,
    pub photo: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// SIDE × SIDE intensities in [0, 1], row-major.
    pub pixels: Vec<f32>,
    pub faces: Vec<FaceBox>,
    /// Index into [`BACKGROUNDS`].
    pub background: usize,
}

/// A face `height` px tall is this wide: ORL's 92:112, rounded.
pub fn face_width(height: usize) -> usize {
    ((height * WIDTH) as f64 / HEIGHT as f64).round() as usize
}

/// One scene of 1 to [`MAX_FACES`] faces of `atlas`'s people on a crop of
/// one of `backgrounds` (each at least SIDE on both sides).
pub fn generate_scene(
    atlas: &Atlas,
    backgrounds: &[Grey],
    rng: &mut SplitMix64,
) -> Result<Scene, FacesError> {
    if backgrounds.is_empty() || atlas.people == 0 {
        return Err(FacesError::Atlas("no backgrounds or no people".into()));
    }
    if let Some(g) = backgrounds
        .iter()
        .find(|g| g.width < SIDE || g.height < SIDE)
    {
        return Err(FacesError::Png(format!(
            "a {}×{} background is smaller than {SIDE}×{SIDE}",
            g.width, g.height
        )));
    }
    let background = rng.below(backgrounds.len());
    let g = &backgrounds[background];
    let (ox, oy) = (
        rng.below(g.width - SIDE + 1),
        rng.below(g.height - SIDE + 1),
    );
    let mut pixels: Vec<f32> = (0..SIDE)
        .flat_map(|y| {
            g.pixels[(oy + y) * g.width + ox..][..SIDE]
                .iter()
                .map(|&v| v as f32 / 255.0)
        })
        .collect();
    let count = 1 + rng.below(MAX_FACES);
    let mut faces: Vec<FaceBox> = Vec::new();
    for _ in 0..count {
        let person = atlas.first + rng.below(atlas.people);
        let photo = 1 + rng.below(PHOTOS);
        let th = MIN_FACE_HEIGHT + rng.below(MAX_FACE_HEIGHT - MIN_FACE_HEIGHT + 1);
        let tw = face_width(th);
        // A crowded canvas may have no room: a few places, then no face.
        for _ in 0..50 {
            let x = rng.below(SIDE - tw + 1);
            let y = rng.below(SIDE - th + 1);
            let bbox = [x as f64, y as f64, tw as f64, th as f64];
            if faces.iter().any(|f| boxes_overlap(&f.bbox, &bbox)) {
                continue;
            }
            let face: Vec<f32> = atlas
                .face(person, photo)
                .ok_or_else(|| FacesError::Atlas(format!("no s{person}/{photo}")))?
                .iter()
                .map(|&v| v as f32 / 255.0)
                .collect();
            let patch = resize_bilinear(&face, WIDTH, HEIGHT, tw, th);
            for (r, row) in patch.chunks(tw).enumerate() {
                pixels[(y + r) * SIDE + x..][..tw].copy_from_slice(row);
            }
            faces.push(FaceBox {
                bbox,
                person,
                photo,
            });
            break;
        }
    }
    Ok(Scene {
        pixels,
        faces,
        background,
    })
}

/// Scenes `0..count` of a seed, each from its own stream, so scene k is
/// the same whether or not the others are drawn.
pub fn scene(atlas: &Atlas, backgrounds: &[Grey], seed: u64, k: u64) -> Result<Scene, FacesError> {
    let mut rng = SplitMix64::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k);
    generate_scene(atlas, backgrounds, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake() -> (Atlas, Vec<Grey>) {
        // Two people whose photos are flat greys 100 + 10·(person, photo).
        let faces: Vec<Vec<u8>> = (0..2 * PHOTOS)
            .map(|i| vec![(100 + 10 * (i / PHOTOS) + i % PHOTOS) as u8; WIDTH * HEIGHT])
            .collect();
        let atlas = Atlas::from_faces(29, &faces).unwrap();
        let ramp = Grey {
            width: 300,
            height: 260,
            pixels: (0..300 * 260).map(|i| (i % 300 / 2) as u8).collect(),
        };
        (atlas, vec![ramp])
    }

    #[test]
    fn faces_are_pasted_whole_at_their_boxes() {
        let (atlas, bgs) = fake();
        for k in 0..50 {
            let s = scene(&atlas, &bgs, 9, k).unwrap();
            assert_eq!(s.pixels.len(), SIDE * SIDE);
            assert!((1..=MAX_FACES).contains(&s.faces.len()));
            for (i, f) in s.faces.iter().enumerate() {
                let [x, y, w, h] = f.bbox.map(|v| v as usize);
                assert!((MIN_FACE_HEIGHT..=MAX_FACE_HEIGHT).contains(&h));
                assert_eq!(w, face_width(h));
                assert!(x + w <= SIDE && y + h <= SIDE);
                assert!(s.faces[..i]
                    .iter()
                    .all(|o| !boxes_overlap(&o.bbox, &f.bbox)));
                // A flat photo stays flat: every pixel of the box is its grey.
                let grey = (100 + 10 * (f.person - 29) + f.photo - 1) as f32 / 255.0;
                for yy in y..y + h {
                    for xx in x..x + w {
                        assert!((s.pixels[yy * SIDE + xx] - grey).abs() < 1e-6);
                    }
                }
            }
        }
        // Seeded: the same scene twice, another scene differs.
        assert_eq!(scene(&atlas, &bgs, 9, 3), scene(&atlas, &bgs, 9, 3));
        assert_ne!(scene(&atlas, &bgs, 9, 3), scene(&atlas, &bgs, 9, 4));
        assert_eq!(face_width(112), 92);
        assert_eq!(face_width(24), 20);
    }

    #[test]
    fn small_backgrounds_are_an_error() {
        let (atlas, _) = fake();
        let tiny = Grey {
            width: 100,
            height: 400,
            pixels: vec![0; 40000],
        };
        assert!(scene(&atlas, &[tiny], 1, 0).is_err());
        assert!(scene(&atlas, &[], 1, 0).is_err());
    }
}
