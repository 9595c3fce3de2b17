//! `assets/manifest.json` lists every committed asset with the right hash and
//! size. `cargo xtask manifest` rewrites it.

use std::path::{Path, PathBuf};

use compute::weights::manifest::{Manifest, MANIFEST_FILE};

fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

fn files_under(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, root, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

#[test]
fn manifest_matches_the_files_on_disk() {
    let dir = assets_dir();
    let manifest =
        Manifest::parse(&std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap()).unwrap();
    let mut on_disk = Vec::new();
    files_under(&dir, &dir, &mut on_disk);
    on_disk.retain(|p| p != MANIFEST_FILE);
    on_disk.sort();
    let mut listed: Vec<String> = manifest.assets.iter().map(|a| a.path.clone()).collect();
    listed.sort();
    assert_eq!(listed, on_disk, "run `cargo xtask manifest`");
    for path in &listed {
        let bytes = std::fs::read(dir.join(path)).unwrap();
        manifest
            .verify(path, &bytes)
            .unwrap_or_else(|e| panic!("{e}; run `cargo xtask manifest`"));
    }
}
