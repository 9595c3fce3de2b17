//! Chapters 3's and 9's scenes on disk in COCO's instances format, and the
//! detectors' results in COCO's results format:
//! - `<dir>/images/<id>.png`: 8-bit grayscale, square (96 px for chapter 3,
//!   256 for chapter 9);
//! - `<dir>/annotations.json`: `images`, `annotations` (bbox [x, y, w, h] in
//!   pixels; category_id 0–9 for chapter 3's digits, 1 for chapter 9's
//!   faces) and `categories`;
//! - `<dir>/detections.json`: `[{"image_id", "category_id", "bbox", "score"}]`.

use std::{fs, path::Path};

use compute::models::detr::{
    coco_eval::{Detection, GroundTruth},
    scenes::{Scene, CANVAS},
};
use serde::Deserialize;
use serde_json::json;

/// One image of a COCO folder: its id and its pixels in [0, 1].
pub struct CocoImage {
    pub id: u64,
    pub pixels: Vec<f32>,
}

/// One image to write: side × side intensities in [0, 1] and its boxes as
/// (category_id, [x, y, w, h]).
pub struct CocoScene<'a> {
    pub pixels: &'a [f32],
    pub boxes: Vec<(u32, [f64; 4])>,
}

/// Writes `scenes` as images 1..=n with their annotations.
pub fn write_coco(
    dir: &Path,
    side: usize,
    categories: &[(u32, String)],
    scenes: &[CocoScene],
) -> Result<(), String> {
    let images_dir = dir.join("images");
    fs::create_dir_all(&images_dir).map_err(|e| format!("{}: {e}", images_dir.display()))?;
    let (mut images, mut annotations) = (Vec::new(), Vec::new());
    for (k, scene) in scenes.iter().enumerate() {
        let id = k as u64 + 1;
        let file_name = format!("{id:06}.png");
        let bytes: Vec<u8> = scene
            .pixels
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        write_png(&images_dir.join(&file_name), side, &bytes)?;
        images.push(json!({"id": id, "file_name": format!("images/{file_name}"), "width": side, "height": side}));
        for (category, bbox) in &scene.boxes {
            annotations.push(json!({
                "id": annotations.len() + 1,
                "image_id": id,
                "category_id": category,
                "bbox": bbox,
                "area": bbox[2] * bbox[3],
                "iscrowd": 0,
            }));
        }
    }
    let categories: Vec<_> = categories
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    let doc = json!({"images": images, "annotations": annotations, "categories": categories});
    let path = dir.join("annotations.json");
    fs::write(
        &path,
        serde_json::to_string(&doc).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}

/// Chapter 3's digit scenes: categories 0–9.
pub fn write_scenes(dir: &Path, scenes: &[Scene]) -> Result<(), String> {
    let categories: Vec<(u32, String)> = (0..10).map(|c| (c, c.to_string())).collect();
    let scenes: Vec<CocoScene> = scenes
        .iter()
        .map(|s| CocoScene {
            pixels: &s.pixels,
            boxes: s.objects.iter().map(|o| (o.label as u32, o.bbox)).collect(),
        })
        .collect();
    write_coco(dir, CANVAS, &categories, &scenes)
}

fn write_png(path: &Path, side: usize, gray: &[u8]) -> Result<(), String> {
    let file = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(gray)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A `side`×`side` PNG as intensities in [0, 1]: gray, gray+alpha, RGB or
/// RGBA, 8-bit (colour is averaged to gray).
pub fn read_png(path: &Path, side: usize) -> Result<Vec<f32>, String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = fs::File::open(path).map_err(|e| at(&e))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| at(&e))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|e| at(&e))?;
    if (info.width, info.height) != (side as u32, side as u32) {
        return Err(at(&format!(
            "the detector reads {side} × {side} images; this one is {} × {}",
            info.width, info.height
        )));
    }
    let channels = info.color_type.samples();
    let colour = match info.color_type {
        png::ColorType::Rgb | png::ColorType::Rgba => 3,
        _ => 1,
    };
    Ok(buf[..info.buffer_size()]
        .chunks(channels)
        .map(|px| px[..colour].iter().map(|&v| v as f32).sum::<f32>() / (colour as f32 * 255.0))
        .collect())
}

#[derive(Deserialize)]
struct ImageEntry {
    id: u64,
    file_name: String,
}

#[derive(Deserialize)]
struct AnnotationEntry {
    image_id: u64,
    category_id: u32,
    bbox: [f64; 4],
}

#[derive(Deserialize)]
struct Instances {
    images: Vec<ImageEntry>,
    #[serde(default)]
    annotations: Vec<AnnotationEntry>,
}

/// Reads a COCO folder of `side`×`side` images: its images and its ground
/// truth.
pub fn read_coco(dir: &Path, side: usize) -> Result<(Vec<CocoImage>, Vec<GroundTruth>), String> {
    let path = dir.join("annotations.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Instances =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let images = doc
        .images
        .iter()
        .map(|i| {
            Ok(CocoImage {
                id: i.id,
                pixels: read_png(&image_path(dir, &i.file_name)?, side)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let truths = doc
        .annotations
        .into_iter()
        .map(|a| GroundTruth {
            image_id: a.image_id,
            category_id: a.category_id,
            bbox: a.bbox,
        })
        .collect();
    Ok((images, truths))
}

/// Where an image's `file_name` points. COCO's own folders name files
/// relative to `images/` (`"000001.png"`); ours name them relative to the
/// folder (`"images/000001.png"`). Look beside `annotations.json` first, then
/// in `images/`.
fn image_path(dir: &Path, file_name: &str) -> Result<std::path::PathBuf, String> {
    let beside = dir.join(file_name);
    let in_images = dir.join("images").join(file_name);
    if beside.is_file() {
        return Ok(beside);
    }
    if in_images.is_file() {
        return Ok(in_images);
    }
    Err(format!(
        "image “{file_name}” is in neither {} nor {}",
        beside.display(),
        in_images.display()
    ))
}

/// Writes detections in COCO's results format.
pub fn write_detections(path: &Path, detections: &[Detection]) -> Result<(), String> {
    let list: Vec<_> = detections
        .iter()
        .map(|d| json!({"image_id": d.image_id, "category_id": d.category_id, "bbox": d.bbox, "score": d.score}))
        .collect();
    fs::write(
        path,
        serde_json::to_string(&list).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use compute::models::detr::scenes::Scene;

    fn folder(name: &str, file_name: impl Fn(&str) -> String) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("glassbox-coco-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let scene = Scene {
            pixels: vec![0.5; CANVAS * CANVAS],
            objects: Vec::new(),
        };
        write_scenes(&dir, &[scene]).unwrap();
        // Rewrite the one file name in the given convention.
        let path = dir.join("annotations.json");
        let text = fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "\"images/000001.png\"",
            &format!("\"{}\"", file_name("000001.png")),
        );
        fs::write(&path, text).unwrap();
        dir
    }

    #[test]
    fn file_names_relative_to_the_folder_are_read() {
        let dir = folder("ours", |f| format!("images/{f}"));
        let (images, _) = read_coco(&dir, CANVAS).unwrap();
        assert_eq!(images.len(), 1);
        assert!((images[0].pixels[0] - 128.0 / 255.0).abs() < 1e-6);
    }

    #[test]
    fn file_names_relative_to_images_are_read() {
        let dir = folder("coco", |f| f.to_string());
        let (images, _) = read_coco(&dir, CANVAS).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].id, 1);
    }

    #[test]
    fn a_missing_image_names_both_places() {
        let dir = folder("missing", |_| "nowhere.png".to_string());
        let err = read_coco(&dir, CANVAS)
            .err()
            .expect("a missing image is an error");
        assert!(
            err.contains(&dir.join("nowhere.png").display().to_string()),
            "{err}"
        );
        assert!(
            err.contains(&dir.join("images/nowhere.png").display().to_string()),
            "{err}"
        );
    }
}
