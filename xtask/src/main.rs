//! Developer commands: `cargo xtask serve` and `cargo xtask test`.
//!
//! Both install what is missing first, from the package registries only:
//! the wasm32 target, wasm-bindgen-cli at the Cargo.lock version, trunk, and
//! (for tests) Debian's chromium, chromium-driver and mesa-vulkan-drivers.

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Instant,
};

/// The newest trunk whose MSRV fits rustc 1.95 (trunk 0.22 needs 1.96).
const TRUNK_VERSION: &str = "0.21.14";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
const APT_PACKAGES: [&str; 3] = ["chromium", "chromium-driver", "mesa-vulkan-drivers"];

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("serve") => serve(),
        Some("test") => test(),
        Some("manifest") => write_manifest(),
        Some("bench") => bench(),
        _ => {
            eprintln!(
                "usage: cargo xtask <serve|test|manifest>\n  \
                 serve     build the app and serve it on http://127.0.0.1:8080\n  \
                 test      fmt, clippy (native + wasm32), unit and GPU tests, browser tests\n  \
                 bench     kernel benchmarks natively and in headless Chromium -> target/bench/kernels.json\n  \
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

fn serve() -> Result {
    ensure_web_tools()?;
    println!("xtask: serving on http://127.0.0.1:8080 (first build takes a few minutes)");
    run(Command::new("trunk").args(["serve", "--release"]))
}

fn test() -> Result {
    let started = Instant::now();
    ensure_web_tools()?;
    ensure_apt_packages()?;
    let gpu_env = gpu_test_env()?;

    step(
        "format",
        Command::new("cargo").args(["fmt", "--all", "--", "--check"]),
    )?;
    step(
        "clippy (native)",
        Command::new("cargo").args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "clippy (wasm32)",
        Command::new("cargo").args([
            "clippy",
            "-p",
            "glassbox-app",
            "-p",
            "glassbox-compute",
            "--target",
            WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "unit and GPU tests",
        Command::new("cargo")
            .args(["test", "--workspace"])
            .envs(gpu_env.clone()),
    )?;
    step(
        "build the app",
        Command::new("trunk").args(["build", "--release"]),
    )?;
    report_bundle_size(&root().join("dist"))?;
    step(
        "browser tests",
        Command::new("cargo")
            .args([
                "test",
                "-p",
                "glassbox-tests",
                "--features",
                "e2e",
                "--test",
                "browser",
                "--",
                "--test-threads=1",
            ])
            .envs(gpu_env),
    )?;
    println!(
        "xtask: all tests passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn bench() -> Result {
    ensure_web_tools()?;
    ensure_apt_packages()?;
    let gpu_env = gpu_test_env()?;
    step(
        "build the app",
        Command::new("trunk").args(["build", "--release"]),
    )?;
    step(
        "kernel benchmarks",
        Command::new("cargo")
            .args(["run", "--release", "-p", "glassbox-tests", "--bin", "bench"])
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

fn step(name: &str, cmd: &mut Command) -> Result {
    let started = Instant::now();
    println!("\nxtask: == {name}");
    run(cmd)?;
    println!(
        "xtask: == {name}: ok in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
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

    let bindgen = wasm_bindgen_version()?;
    if output("wasm-bindgen", &["--version"])
        .is_none_or(|v| v.split_whitespace().nth(1) != Some(bindgen.as_str()))
    {
        // No --locked: its lock file pins a webpki-roots version that is gone.
        run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &bindgen]))?;
    }

    if output("trunk", &["--version"])
        .is_none_or(|v| v.split_whitespace().nth(1) != Some(TRUNK_VERSION))
    {
        run(Command::new("cargo").args([
            "install",
            "--locked",
            "trunk",
            "--version",
            TRUNK_VERSION,
        ]))?;
    }
    Ok(())
}

/// The wasm-bindgen version in Cargo.lock; the CLI must match it exactly.
fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == r#"name = "wasm-bindgen""# {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(version.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
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
            format!("    {{\"path\": \"{p}\", \"sha256\": \"{sha}\", \"bytes\": {bytes}}}")
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

/// Prints raw and gzip sizes of the wasm and JS that a visitor downloads.
fn report_bundle_size(dist: &Path) -> Result {
    let mut total_gzip = 0;
    for entry in std::fs::read_dir(dist)
        .map_err(|e| format!("{}: {e}", dist.display()))?
        .flatten()
    {
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "wasm" && ext != "js" {
            continue;
        }
        let raw = entry.metadata().map_err(|e| e.to_string())?.len();
        let gzip = Command::new("gzip")
            .args(["-9", "-c"])
            .arg(&path)
            .output()
            .map_err(|e| format!("gzip: {e}"))?
            .stdout
            .len() as u64;
        total_gzip += gzip;
        println!(
            "xtask: bundle {:<48} {raw:>9} bytes, gzip -9 {gzip:>8} bytes",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    println!("xtask: bundle wasm + js gzip -9 total: {total_gzip} bytes");
    Ok(())
}
