//! Harness for the browser tests: a static server for `dist/`, a chromedriver
//! process, and a minimal W3C WebDriver client over plain HTTP.

// The static server is one file that `cargo xtask serve` includes too.
#[path = "static_server.rs"]
mod static_server;

#[cfg(test)]
mod search_reference;
pub use static_server::StaticServer;

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use base64::Engine;
use serde_json::{json, Value};

pub type Result<T> = std::result::Result<T, String>;

/// Which browser the session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuMode {
    /// SwiftShader's WebGPU adapter: the only one on a machine without a GPU.
    WebGpu,
    /// No WebGPU flags, so `requestAdapter` finds nothing: the CPU fallback.
    NoWebGpu,
}

/// A chromedriver process on a free local port.
pub struct Chromedriver {
    child: Child,
    pub url: String,
}

impl Chromedriver {
    pub fn start() -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start chromedriver ({e}); install Debian's chromium-driver")
            })?;
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(status) = ureq::get(&format!("{}/status", driver.url)).call() {
                let body: Value = status.into_json().map_err(|e| e.to_string())?;
                if body["value"]["ready"] == json!(true) {
                    return Ok(driver);
                }
            }
            thread::sleep(Duration::from_millis(100));
        }
        Err("chromedriver did not become ready within 20 s".into())
    }

    pub fn session(&self, mode: GpuMode, profile_dir: &Path) -> Result<Session> {
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--window-size=1280,900".into(),
            // window.gc(): the soak measures the heap after a full collection.
            "--js-flags=--expose-gc".into(),
            format!("--user-data-dir={}", profile_dir.display()),
        ];
        if mode == GpuMode::WebGpu {
            args.push("--enable-unsafe-webgpu".into());
            args.push("--use-webgpu-adapter=swiftshader".into());
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // Tests wait for the app's own test ids, not for every preload.
            "pageLoadStrategy": "eager",
            "goog:chromeOptions": {"binary": chromium_binary(), "args": args},
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let value = post(&format!("{}/session", self.url), &capabilities)?;
        let id = value["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no sessionId in {value}"))?;
        Ok(Session {
            base: format!("{}/session/{id}", self.url),
        })
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn post(url: &str, body: &Value) -> Result<Value> {
    unwrap_value(ureq::post(url).send_json(body.clone()))
}

fn unwrap_value(response: std::result::Result<ureq::Response, ureq::Error>) -> Result<Value> {
    match response {
        Ok(r) => Ok(r.into_json::<Value>().map_err(|e| e.to_string())?["value"].take()),
        Err(ureq::Error::Status(code, r)) => {
            let body = r.into_string().unwrap_or_default();
            Err(format!("WebDriver answered {code}: {body}"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// WebDriver's codes for the keys that are not characters.
pub mod keys {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const SHIFT: &str = "\u{E008}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const PAGE_UP: &str = "\u{E00E}";
    pub const PAGE_DOWN: &str = "\u{E00F}";
    pub const END: &str = "\u{E010}";
    pub const HOME: &str = "\u{E011}";
    pub const LEFT: &str = "\u{E012}";
    pub const UP: &str = "\u{E013}";
    pub const RIGHT: &str = "\u{E014}";
    pub const DOWN: &str = "\u{E015}";
    pub const DELETE: &str = "\u{E017}";
    pub const SPACE: &str = " ";
}

/// One browser session. Closed (and the browser quit) on drop.
pub struct Session {
    base: String,
}

impl Session {
    pub fn goto(&self, url: &str) -> Result<()> {
        post(&format!("{}/url", self.base), &json!({ "url": url }))
            .map(drop)
            .map_err(|e| format!("opening {url}: {e}"))
    }

    /// Runs `script` as a function body; a returned promise is awaited.
    pub fn execute(&self, script: &str) -> Result<Value> {
        post(
            &format!("{}/execute/sync", self.base),
            &json!({ "script": script, "args": [] }),
        )
    }

    /// Polls the JS expression `expr` until it is truthy and returns its value.
    pub fn wait_for(&self, expr: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        let script = format!("return ({expr}) || null;");
        loop {
            let value = self.execute(&script)?;
            if !value.is_null() && value != json!(false) {
                return Ok(value);
            }
            if Instant::now() > deadline {
                let body = self.execute(
                    "return document.body ? document.body.innerText.slice(0, 2000) : ''",
                )?;
                return Err(format!(
                    "timed out after {timeout:?} waiting for `{expr}`; page text:\n{body}"
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Moves WebDriver into the iframe `css` selects in the current
    /// document: scripts then run inside it, whatever its origin.
    pub fn switch_to_frame(&self, css: &str) -> Result<()> {
        let found = post(
            &format!("{}/element", self.base),
            &json!({ "using": "css selector", "value": css }),
        )
        .map_err(|e| format!("finding {css}: {e}"))?;
        post(&format!("{}/frame", self.base), &json!({ "id": found }))
            .map(drop)
            .map_err(|e| format!("switching to {css}: {e}"))
    }

    /// Back out of the current iframe to the document that holds it.
    pub fn switch_to_parent_frame(&self) -> Result<()> {
        post(&format!("{}/frame/parent", self.base), &json!({})).map(drop)
    }

    /// Entries of the browser's "browser" (console) or "performance" log
    /// since the last call.
    pub fn log(&self, kind: &str) -> Result<Vec<Value>> {
        let value = post(&format!("{}/se/log", self.base), &json!({ "type": kind }))?;
        Ok(value.as_array().cloned().unwrap_or_default())
    }

    /// Presses and releases each key in turn, as a person would: the
    /// events go to whatever has focus, with no click first. Keys are
    /// characters or WebDriver's codes ([`keys`]).
    pub fn press(&self, keys: &[&str]) -> Result<()> {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|k| {
                [
                    json!({"type": "keyDown", "value": k}),
                    json!({"type": "keyUp", "value": k}),
                ]
            })
            .collect();
        post(
            &format!("{}/actions", self.base),
            &json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .map(drop)
    }

    /// Presses each key in turn while `modifier` (e.g. [`keys::SHIFT`]) is
    /// held down.
    pub fn press_holding(&self, modifier: &str, keys: &[&str]) -> Result<()> {
        let mut actions = vec![json!({"type": "keyDown", "value": modifier})];
        for k in keys {
            actions.push(json!({"type": "keyDown", "value": k}));
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        actions.push(json!({"type": "keyUp", "value": modifier}));
        post(
            &format!("{}/actions", self.base),
            &json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .map(drop)
    }

    /// A Chrome DevTools Protocol command, through chromedriver.
    pub fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        post(
            &format!("{}/goog/cdp/execute", self.base),
            &json!({"cmd": cmd, "params": params}),
        )
    }

    /// The browser's Back button.
    pub fn back(&self) -> Result<()> {
        post(&format!("{}/back", self.base), &json!({})).map(drop)
    }

    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        post(
            &format!("{}/window/rect", self.base),
            &json!({ "width": width, "height": height }),
        )
        .map(drop)
    }

    pub fn screenshot(&self, path: &Path) -> Result<()> {
        let value = unwrap_value(ureq::get(&format!("{}/screenshot", self.base)).call())?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().ok_or("screenshot is not a string")?)
            .map_err(|e| e.to_string())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(path, png).map_err(|e| e.to_string())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.base).call();
    }
}

/// URLs of every request made by a document served from `origin`, from
/// Chrome's performance log. Requests by Chrome's own pages (the new-tab page
/// it opens before the first navigation) are not the app's and are left out.
pub fn requested_urls(performance_log: &[Value], origin: &str) -> Vec<String> {
    let ours = format!("{origin}/");
    performance_log
        .iter()
        .filter_map(|entry| serde_json::from_str::<Value>(entry["message"].as_str()?).ok())
        .map(|m| m["message"].clone())
        .filter(|m| m["method"] == "Network.requestWillBeSent")
        .filter(|m| {
            m["params"]["documentURL"]
                .as_str()
                .is_some_and(|d| d.starts_with(&ours))
        })
        .filter_map(|m| m["params"]["request"]["url"].as_str().map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_imports_are_relative_js_modules() {
        let script = r#"import * as import1 from "./__wasm_split.js";
import { x } from './snippets/a.js'; const from = 1; import y from "https://cdn/z.js";"#;
        assert_eq!(
            static_imports(script),
            vec!["__wasm_split.js", "snippets/a.js"]
        );
    }

    #[test]
    fn requested_urls_keeps_every_request_of_our_documents_only() {
        let request = |document: &str, url: &str| {
            let m = json!({"message": {"method": "Network.requestWillBeSent",
                "params": {"documentURL": document, "request": {"url": url}}}});
            json!({"message": m.to_string()})
        };
        let other = json!({"message": {"method": "Network.responseReceived", "params": {}}});
        let log = vec![
            request("http://127.0.0.1:1/gpu", "http://127.0.0.1:1/app.wasm"),
            request("http://127.0.0.1:1/gpu", "https://fonts.example/font.woff2"),
            request("chrome://new-tab-page/", "chrome://resources/js/util.js"),
            json!({"message": other.to_string()}),
        ];
        assert_eq!(
            requested_urls(&log, "http://127.0.0.1:1"),
            vec![
                "http://127.0.0.1:1/app.wasm",
                "https://fonts.example/font.woff2"
            ]
        );
    }
}

/// One file of the first load, raw and gzipped at level 9.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedFile {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
}

/// The most `/` may download, gzipped, before it is interactive. It was
/// 1,000,000 bytes while every chapter's code loaded with `/` (997,025 at
/// the end); since each chapter is a chunk of its own the shell is about
/// 321,000, and this keeps chapter code from creeping back into it.
pub const FIRST_LOAD_BUDGET: u64 = 400_000;

/// Everything `dist/index.html` needs before the app is interactive: the
/// HTML itself, every script, wasm module and stylesheet it names (in
/// `href`/`src` attributes or the inline loader), and every module those
/// scripts import statically (the chunks' loader, `__wasm_split.js`), each
/// gzipped at level 9; and the home page's chapter pictures
/// (`assets/pictures/`), all of them, though a screen shows the first row or
/// two. Files the app fetches later (weights, workers, the chapters' wasm
/// chunks) are not here.
pub fn first_load(dist: &Path) -> Result<Vec<LoadedFile>> {
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    let mut names = vec!["index.html".to_string()];
    for quoted in html.split(['"', '\'']).skip(1).step_by(2) {
        let name = quoted.trim_start_matches('/');
        let wanted = [".js", ".wasm", ".css"]
            .iter()
            .any(|ext| name.ends_with(ext));
        if wanted && !name.contains(['<', '>', ' ', '(']) && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    let mut next = 0;
    while next < names.len() {
        let name = names[next].clone();
        next += 1;
        if !name.ends_with(".js") {
            continue;
        }
        let path = dist.join(&name);
        let script =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let folder = name.rsplit_once('/').map_or("", |(folder, _)| folder);
        for imported in static_imports(&script) {
            let joined = match folder {
                "" => imported.to_string(),
                folder => format!("{folder}/{imported}"),
            };
            if !names.contains(&joined) {
                names.push(joined);
            }
        }
    }
    let pictures = dist.join("assets/pictures");
    let mut svgs: Vec<String> = std::fs::read_dir(&pictures)
        .map_err(|e| format!("{}: {e}", pictures.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".svg"))
        .map(|n| format!("assets/pictures/{n}"))
        .collect();
    svgs.sort();
    names.extend(svgs);
    names
        .into_iter()
        .map(|name| {
            let path = dist.join(&name);
            let raw = std::fs::metadata(&path)
                .map_err(|e| format!("{} (named by index.html): {e}", path.display()))?
                .len();
            let out = Command::new("gzip")
                .args(["-9", "-c"])
                .arg(&path)
                .output()
                .map_err(|e| format!("gzip: {e}"))?;
            if !out.status.success() {
                return Err(format!("gzip {} failed", path.display()));
            }
            Ok(LoadedFile {
                name,
                raw,
                gzip: out.stdout.len() as u64,
            })
        })
        .collect()
}

/// The relative modules a script imports statically (`from "./x.js"`),
/// without their `./`.
fn static_imports(script: &str) -> Vec<&str> {
    script
        .split("from ")
        .skip(1)
        .filter_map(|rest| {
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let path = rest[1..].split(quote).next()?;
            path.strip_prefix("./").filter(|p| p.ends_with(".js"))
        })
        .collect()
}

/// The first load as JSON: each file and the totals, against the budget.
pub fn first_load_json(files: &[LoadedFile]) -> Value {
    let total_gzip: u64 = files.iter().map(|f| f.gzip).sum();
    json!({
        "files": files.iter().map(|f| json!({"file": f.name, "bytes": f.raw, "gzip_9": f.gzip})).collect::<Vec<_>>(),
        "total_bytes": files.iter().map(|f| f.raw).sum::<u64>(),
        "total_gzip_9": total_gzip,
        "budget_gzip_9": FIRST_LOAD_BUDGET,
    })
}
