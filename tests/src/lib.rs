//! Harness for the browser tests: a static server for `dist/`, a chromedriver
//! process, and a minimal W3C WebDriver client over plain HTTP.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use base64::Engine;
use serde_json::{json, Value};

pub type Result<T> = std::result::Result<T, String>;

/// Serves a trunk `dist/` folder on 127.0.0.1 with the SPA fallback trunk
/// itself uses: any path that is not a file gets `index.html`.
pub struct StaticServer {
    server: Arc<tiny_http::Server>,
    pub origin: String,
}

impl StaticServer {
    pub fn start(root: &Path) -> Result<Self> {
        let index = root.join("index.html");
        if !index.is_file() {
            return Err(format!(
                "{} is missing: build the app first (`cargo xtask test` does)",
                index.display()
            ));
        }
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").map_err(|e| e.to_string())?);
        let port = server.server_addr().to_ip().ok_or("no TCP address")?.port();
        let (serving, root) = (server.clone(), root.to_path_buf());
        // One thread per request: a response that stalls (a renderer that
        // stops reading a cancelled download) must not hold up the next page.
        thread::spawn(move || {
            for request in serving.incoming_requests() {
                let root = root.clone();
                thread::spawn(move || serve_file(&root, request));
            }
        });
        Ok(StaticServer {
            server,
            origin: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn serve_file(root: &Path, request: tiny_http::Request) {
    let path = request
        .url()
        .split(['?', '#'])
        .next()
        .unwrap_or("/")
        .to_string();
    let file = resolve(root, &path).unwrap_or_else(|| root.join("index.html"));
    let response = match std::fs::read(&file) {
        Ok(bytes) => tiny_http::Response::from_data(bytes).with_header(content_type(&file)),
        Err(_) => tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404),
    };
    let _ = request.respond(response);
}

fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = url_path.trim_start_matches('/');
    if relative.split('/').any(|part| part == "..") {
        return None;
    }
    let file = root.join(relative);
    file.is_file().then_some(file)
}

fn content_type(file: &Path) -> tiny_http::Header {
    let mime = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    tiny_http::Header::from_bytes("Content-Type", mime).expect("static header")
}

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

    /// Entries of the browser's "browser" (console) or "performance" log
    /// since the last call.
    pub fn log(&self, kind: &str) -> Result<Vec<Value>> {
        let value = post(&format!("{}/se/log", self.base), &json!({ "type": kind }))?;
        Ok(value.as_array().cloned().unwrap_or_default())
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

    #[test]
    fn resolve_refuses_parent_paths_and_missing_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(resolve(root, "/Cargo.toml").is_some());
        assert!(resolve(root, "/../Cargo.toml").is_none());
        assert!(resolve(root, "/gpu").is_none());
    }
}
