//! The app's wasm, built and split here (the split must happen between
//! rustc and wasm-bindgen, which no packaged web bundler for Rust does).
//!
//! rustc's wasm → wasm_split_cli_support (each chapter's code into its own
//! module, loaded on first use) → wasm-bindgen on the main module only →
//! wasm-opt -O1 on every module → a loader script in `dist/index.html`.
//! Everything lands in `dist/wasm/<id>/`, one folder per build, since the
//! chunks' names are not content-hashed and a main module must never meet a
//! chunk from another build.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::{step, target_dir, Result, WASM_TARGET};

/// What the page must load, as URL paths under `dist/`.
pub struct SplitBuild {
    /// The wasm-bindgen JS that `index.html` imports.
    pub main_js: String,
    pub main_wasm: String,
    /// Every other file of the build: the chunks and their JS loader. They
    /// are fetched on first use, so they are not part of the first load, but
    /// the service worker precaches them for offline use.
    pub lazy_files: Vec<String>,
}

/// Builds the app's wasm with the `web` profile, splits it, and writes the
/// modules into `dist/wasm/<id>/`. `binaryen_js` is binaryen.js's index.js.
pub fn build_split_wasm(dist: &Path, binaryen_js: &Path) -> Result<SplitBuild> {
    step(
        "build the app's wasm, with clippy (wasm32)",
        // clippy-driver compiles the workspace's crates, so wasm-only code
        // is linted (-D warnings) without a separate `cargo clippy` pass,
        // which would check every dependency for wasm32 again.
        Command::new("cargo")
            .envs(crate::clippy_as_compiler()?)
            .args([
                "build",
                "-p",
                "glassbox-app",
                "--bin",
                "glassbox-app",
                "--target",
                WASM_TARGET,
                "--profile",
                "web",
            ]),
    )?;
    let built = target_dir()?.join(format!("{WASM_TARGET}/web/glassbox-app.wasm"));
    let input = std::fs::read(&built).map_err(|e| format!("{}: {e}", built.display()))?;
    let id = short_hash(&input);
    let out = dist.join("wasm").join(&id);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    // The main module before wasm-bindgen: never shipped.
    let main_split = target_dir()?.join("split/glassbox-app.wasm");
    std::fs::create_dir_all(main_split.parent().unwrap()).map_err(|e| e.to_string())?;

    let started = std::time::Instant::now();
    let split = wasm_split_cli_support::transform({
        let mut opts = wasm_split_cli_support::Options::new(&input);
        opts.output_dir = &out;
        opts.main_out_path = &main_split;
        opts.main_module = "./glassbox-app.js";
        opts.link_name = "./__wasm_split.js";
        opts
    })
    .map_err(|e| format!("splitting {}: {e:#}", built.display()))?;
    println!(
        "xtask: split the wasm into the main module and {} lazily loaded ones in {:.1} s",
        split.split_modules.len(),
        started.elapsed().as_secs_f64()
    );

    // wasm-bindgen as a library, at the version the app links (a unit test
    // holds the two equal): building its command-line tool was 4 minutes of
    // a cold run. The settings are what `wasm-bindgen --target web
    // --keep-lld-exports --no-typescript` uses (the output is byte for byte
    // the same, checked on 2026-12-07).
    let started = std::time::Instant::now();
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&main_split)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?
        // The chunks call back into the main module through its table,
        // which wasm-bindgen would otherwise remove from the exports.
        .keep_lld_exports(true)
        .typescript(false)
        .omit_default_module_path(false)
        .out_name("glassbox-app")
        .generate(&out)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", main_split.display()))?;
    crate::record_step(
        "wasm-bindgen (the main module)",
        started.elapsed().as_secs_f64(),
    );

    let mut modules: Vec<PathBuf> = vec![out.join("glassbox-app_bg.wasm")];
    modules.extend(split.split_modules.iter().map(|p| {
        if p.is_absolute() {
            p.clone()
        } else {
            out.join(p.file_name().unwrap_or(p.as_os_str()))
        }
    }));
    optimise(binaryen_js, &modules)?;

    let url = |name: &str| format!("/wasm/{id}/{name}");
    let mut lazy_files = Vec::new();
    for entry in std::fs::read_dir(&out).map_err(|e| format!("{}: {e}", out.display()))? {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        let name = name.to_string_lossy();
        if name != "glassbox-app.js" && name != "glassbox-app_bg.wasm" {
            lazy_files.push(url(&name));
        }
    }
    lazy_files.sort();
    Ok(SplitBuild {
        main_js: url("glassbox-app.js"),
        main_wasm: url("glassbox-app_bg.wasm"),
        lazy_files,
    })
}

/// wasm-opt -O1 on every module, in one Node process (optimise.mjs, through
/// binaryen.js: the npm binaryen runs as wasm in Node, and starting its
/// wasm-opt command once per module cost about a second each). A step of
/// its own in `test`'s table. Why -O1: `-Oz` took 418 s on two cores (177 s
/// for the LoRA chunk alone) against 36 s here, and its output is 1.6%
/// larger gzipped in all (1,612,132 B against 1,587,070 B, measured on
/// 2026-12-07: -O1 shrinks the LoRA chunk by 33 KB and grows the main module
/// by 880 B). rustc's `-Oz`/`-Os` (the `web` profile) has done the size work.
fn optimise(binaryen_js: &Path, modules: &[PathBuf]) -> Result {
    let started = std::time::Instant::now();
    let script = crate::root().join("xtask/src/optimise.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(binaryen_js)
        .args(modules)
        .output()
        .map_err(|e| format!("cannot run node {}: {e}", script.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    crate::record_step("wasm-opt -O1 (every module)", seconds);
    if !out.status.success() {
        return Err(format!(
            "wasm-opt failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // One line per module: its seconds, then its path.
    let mut timings: Vec<(f64, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (s, path) = line.split_once(' ')?;
            let name = Path::new(path).file_name()?.to_string_lossy().into_owned();
            Some((s.parse().ok()?, name))
        })
        .collect();
    if timings.len() != modules.len() {
        return Err(format!(
            "wasm-opt reported {} of {} modules",
            timings.len(),
            modules.len()
        ));
    }
    timings.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest: Vec<String> = timings
        .iter()
        .take(3)
        .map(|(s, name)| format!("{name} {s:.1} s"))
        .collect();
    println!(
        "xtask: wasm-opt -O1 on {} modules in {seconds:.0} s; slowest: {}",
        modules.len(),
        slowest.join(", ")
    );
    Ok(())
}

/// `index.html` with the loader for `build` at the end of `<head>`: the
/// module script that starts the app, and preloads for its JS and wasm.
pub fn with_loader(html: &str, build: &SplitBuild) -> Result<String> {
    let SplitBuild {
        main_js, main_wasm, ..
    } = build;
    let head_end = html
        .find("</head>")
        .ok_or("index.html has no </head> for the loader")?;
    let loader = format!(
        "<script type=\"module\">\nimport init from '{main_js}';\nawait init({{ module_or_path: '{main_wasm}' }});\n</script>\n    \
         <link rel=\"modulepreload\" href=\"{main_js}\">\n    \
         <link rel=\"preload\" href=\"{main_wasm}\" as=\"fetch\" type=\"application/wasm\" crossorigin>\n  "
    );
    Ok(format!(
        "{}{loader}{}",
        &html[..head_end],
        &html[head_end..]
    ))
}

/// The first 8 bytes of the SHA-256, in hex.
pub fn short_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_goes_before_the_end_of_head() {
        let build = SplitBuild {
            main_js: "/wasm/ab/glassbox-app.js".into(),
            main_wasm: "/wasm/ab/glassbox-app_bg.wasm".into(),
            lazy_files: vec![],
        };
        let page = with_loader(
            "<html><head><title>t</title></head><body></body></html>",
            &build,
        )
        .unwrap();
        let script = page
            .find("import init from '/wasm/ab/glassbox-app.js'")
            .unwrap();
        assert!(script > page.find("<title>").unwrap());
        assert!(script < page.find("</head>").unwrap());
        assert!(page.contains("module_or_path: '/wasm/ab/glassbox-app_bg.wasm'"));
        assert!(with_loader("<html></html>", &build).is_err());
    }
}
