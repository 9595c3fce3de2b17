//! Chapter 9 (SPP-net): `glassbox-train face-scenes --out <dir>` writes
//! seeded scenes of ORL faces as a COCO folder (compute::faces::scenes), by
//! default the 500 held-out scenes of people 29–40 the targets are scored on.

use std::path::Path;

use compute::faces::{
    scenes::{background_path, scene, BACKGROUNDS, SIDE},
    Atlas, Grey, HELD_OUT_ATLAS, HELD_OUT_PEOPLE, TRAIN_ATLAS, TRAIN_PEOPLE,
};

use glassbox_train::coco::{write_coco, CocoScene};

pub const TEST_SCENES: usize = 500;
pub const TEST_SCENES_SEED: u64 = 29;
/// COCO's category for a face.
pub const FACE: u32 = 1;

fn read(root: &Path, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(root.join("assets").join(path))
        .map_err(|x| format!("{path}: {x} (run `cargo xtask data faces`)"))
}

pub fn backgrounds(root: &Path) -> Result<Vec<Grey>, String> {
    BACKGROUNDS
        .iter()
        .map(|name| {
            let path = background_path(name);
            Grey::from_png(&read(root, &path)?).map_err(|x| format!("{path}: {x}"))
        })
        .collect()
}

/// The atlas of `split`: "held-out" (people 29–40) or "train" (1–28).
pub fn atlas(root: &Path, split: &str) -> Result<Atlas, String> {
    let (path, people) = match split {
        "held-out" => (HELD_OUT_ATLAS, HELD_OUT_PEOPLE),
        "train" => (TRAIN_ATLAS, TRAIN_PEOPLE),
        other => return Err(format!("unknown split {other}; expected held-out or train")),
    };
    Atlas::from_png(&read(root, path)?, *people.start()).map_err(|x| format!("{path}: {x}"))
}

pub fn export_scenes(
    root: &Path,
    dir: &Path,
    split: &str,
    count: usize,
    seed: u64,
) -> Result<(), String> {
    let (atlas, backgrounds) = (atlas(root, split)?, backgrounds(root)?);
    let scenes = (0..count as u64)
        .map(|k| scene(&atlas, &backgrounds, seed, k).map_err(|x| x.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    let coco: Vec<CocoScene> = scenes
        .iter()
        .map(|s| CocoScene {
            pixels: &s.pixels,
            boxes: s.faces.iter().map(|f| (FACE, f.bbox)).collect(),
        })
        .collect();
    write_coco(dir, SIDE, &[(FACE, "face".to_string())], &coco)?;
    let faces: usize = scenes.iter().map(|s| s.faces.len()).sum();
    println!(
        "face-scenes: {count} {split} scenes (seed {seed}), {faces} faces, in {} \
         (faces: ORL / AT&T Database of Faces, AT&T Laboratories Cambridge)",
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_train::coco::read_coco;

    /// The committed assets' held-out scenes survive the round trip through
    /// a COCO folder: same boxes, same pixels to within rounding to 8 bits.
    #[test]
    fn held_out_scenes_round_trip_through_coco() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = std::env::temp_dir().join(format!("glassbox-face-scenes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        export_scenes(&root, &dir, "held-out", 3, TEST_SCENES_SEED).unwrap();
        let (images, truths) = read_coco(&dir, SIDE).unwrap();
        let (atlas, backgrounds) = (
            atlas(&root, "held-out").unwrap(),
            backgrounds(&root).unwrap(),
        );
        assert_eq!(images.len(), 3);
        for image in &images {
            let s = scene(&atlas, &backgrounds, TEST_SCENES_SEED, image.id - 1).unwrap();
            let boxes: Vec<[f64; 4]> = truths
                .iter()
                .filter(|t| t.image_id == image.id)
                .inspect(|t| assert_eq!(t.category_id, FACE))
                .map(|t| t.bbox)
                .collect();
            assert_eq!(boxes, s.faces.iter().map(|f| f.bbox).collect::<Vec<_>>());
            let worst = image
                .pixels
                .iter()
                .zip(&s.pixels)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 0.5 / 255.0 + 1e-6, "{worst}");
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(atlas_err_names_the_splits());
    }

    fn atlas_err_names_the_splits() -> bool {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        atlas(&root, "test")
            .err()
            .is_some_and(|e| e.contains("held-out or train"))
    }
}
