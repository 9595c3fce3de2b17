//! The WGSL the kernels embed, without its comments: the shaders in
//! `shaders/` are documented at length, and every byte of them ships in the
//! app's wasm. Each line is kept (a comment line becomes empty, indentation
//! goes), so a WGSL error's line number still points into the source file.

use std::{env, fs, path::Path};

fn main() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shaders");
    println!("cargo:rerun-if-changed={}", source.display());
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("shaders");
    fs::create_dir_all(&out).expect("OUT_DIR is writable");
    for entry in fs::read_dir(&source).expect("shaders/ exists") {
        let path = entry.expect("a readable entry").path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).expect("WGSL is UTF-8");
        // WGSL has no string literals, so `//` always starts a comment.
        let stripped: String = text
            .lines()
            .map(|line| {
                let code = line.split_once("//").map_or(line, |(code, _)| code);
                format!("{}\n", code.trim())
            })
            .collect();
        fs::write(out.join(path.file_name().expect("a file name")), stripped)
            .expect("OUT_DIR is writable");
    }
}
