//! A static server for the built `dist/` on 127.0.0.1, with an SPA
//! fallback: any path that is not a file gets `index.html`. The
//! browser tests start it on a free port; `cargo xtask serve` on 8080. It
//! needs only std and tiny_http, so xtask includes this file as it is.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    thread,
};

/// Serves a built `dist/` folder on 127.0.0.1 with an SPA fallback: any
/// path that is not a file gets `index.html`.
pub struct StaticServer {
    /// `None` once stopped.
    server: Option<Arc<tiny_http::Server>>,
    serving: Option<thread::JoinHandle<()>>,
    pub origin: String,
}

impl StaticServer {
    /// On a free port.
    pub fn start(root: &Path) -> Result<Self, String> {
        Self::start_on(root, "127.0.0.1:0")
    }

    /// On `addr`, e.g. "127.0.0.1:8080".
    pub fn start_on(root: &Path, addr: &str) -> Result<Self, String> {
        let index = root.join("index.html");
        if !index.is_file() {
            return Err(format!(
                "{} is missing: build the app first (`cargo xtask serve` and `cargo xtask test` do)",
                index.display()
            ));
        }
        let server = Arc::new(
            tiny_http::Server::http(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?,
        );
        let port = server.server_addr().to_ip().ok_or("no TCP address")?.port();
        let (serving, root) = (server.clone(), root.to_path_buf());
        // One thread per request: a response that stalls (a renderer that
        // stops reading a cancelled download) must not hold up the next page.
        let serving = thread::spawn(move || {
            for request in serving.incoming_requests() {
                let root = root.clone();
                thread::spawn(move || serve_file(&root, request));
            }
        });
        Ok(StaticServer {
            server: Some(server),
            serving: Some(serving),
            origin: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Stops serving and closes the listening socket, so new connections
    /// are refused (the browser tests' "offline"). Connections the browser
    /// keeps alive stay open but are never answered again.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.unblock();
            // The serving thread holds the other reference; once it has
            // left its loop, dropping ours closes the socket.
            if let Some(serving) = self.serving.take() {
                let _ = serving.join();
            }
            drop(server);
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop();
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
        Some("webmanifest") => "application/manifest+json",
        _ => "application/octet-stream",
    };
    tiny_http::Header::from_bytes("Content-Type", mime).expect("static header")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_parent_paths_and_missing_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(resolve(root, "/Cargo.toml").is_some());
        assert!(resolve(root, "/../Cargo.toml").is_none());
        assert!(resolve(root, "/gpu").is_none());
    }
}
