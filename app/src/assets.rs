//! Downloads of `assets/`: each file is fetched once per page (then served
//! from memory), streamed so the UI can show byte-level progress, allowed
//! into the browser's HTTP cache, and checked against `assets/manifest.json`
//! (size, then SHA-256) before anyone parses a byte of it.

use std::{cell::RefCell, collections::HashMap, rc::Rc};

use compute::weights::{manifest::Manifest, WeightsError};
use thiserror::Error;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum FetchError {
    #[error("could not download {path}: {detail}")]
    Network { path: String, detail: String },
    #[error("the server answered {status} for {path}")]
    Status { path: String, status: u16 },
    #[error(transparent)]
    Verify(#[from] WeightsError),
}

thread_local! {
    static DOWNLOADED: RefCell<HashMap<String, Rc<Vec<u8>>>> = RefCell::default();
    static MANIFEST: RefCell<Option<Manifest>> = const { RefCell::new(None) };
}

/// The manifest, revalidated with the server once per page load and then
/// kept in memory (every widget asks for it).
pub async fn manifest() -> Result<Manifest, FetchError> {
    if let Some(m) = MANIFEST.with(|m| m.borrow().clone()) {
        return Ok(m);
    }
    let bytes = fetch_streamed(
        "manifest.json",
        web_sys::RequestCache::NoCache,
        None,
        &mut |_, _| {},
    )
    .await?;
    let m = Manifest::parse(&String::from_utf8_lossy(&bytes))?;
    MANIFEST.with(|slot| *slot.borrow_mut() = Some(m.clone()));
    Ok(m)
}

/// `assets/<path>`, verified against `manifest`. `on_progress(loaded, total)`
/// sees every chunk as it arrives.
pub async fn fetch_asset(
    path: &str,
    manifest: &Manifest,
    mut on_progress: impl FnMut(u64, u64),
) -> Result<Rc<Vec<u8>>, FetchError> {
    if let Some(bytes) = DOWNLOADED.with(|d| d.borrow().get(path).cloned()) {
        on_progress(bytes.len() as u64, bytes.len() as u64);
        return Ok(bytes);
    }
    let total = manifest.entry(path).map(|e| e.bytes);
    // The HTTP cache may serve it; if that copy is stale (a retrained model
    // under the same name), fetch once more from the network.
    let mut bytes = fetch_streamed(
        path,
        web_sys::RequestCache::ForceCache,
        total,
        &mut on_progress,
    )
    .await?;
    if manifest.verify(path, &bytes).is_err() {
        bytes =
            fetch_streamed(path, web_sys::RequestCache::Reload, total, &mut on_progress).await?;
        manifest.verify(path, &bytes)?;
    }
    let bytes = Rc::new(bytes);
    DOWNLOADED.with(|d| d.borrow_mut().insert(path.to_string(), bytes.clone()));
    Ok(bytes)
}

async fn fetch_streamed(
    path: &str,
    cache: web_sys::RequestCache,
    total: Option<u64>,
    on_progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<u8>, FetchError> {
    let network = |e: JsValue| FetchError::Network {
        path: path.into(),
        detail: format!("{e:?}"),
    };
    let init = web_sys::RequestInit::new();
    init.set_cache(cache);
    let request = web_sys::Request::new_with_str_and_init(&format!("/assets/{path}"), &init)
        .map_err(network)?;
    let window = web_sys::window().ok_or_else(|| network(JsValue::from_str("no window")))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(network)?
        .dyn_into()
        .map_err(network)?;
    if !response.ok() {
        return Err(FetchError::Status {
            path: path.into(),
            status: response.status(),
        });
    }
    let body = response
        .body()
        .ok_or_else(|| network(JsValue::from_str("empty body")))?;
    // getReader() without a mode always returns a default reader.
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(network)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map_err(network)?;
        if done.as_bool().unwrap_or(true) {
            break;
        }
        let value: js_sys::Uint8Array = js_sys::Reflect::get(&chunk, &"value".into())
            .map_err(network)?
            .dyn_into()
            .map_err(network)?;
        bytes.extend(value.to_vec());
        on_progress(bytes.len() as u64, total.unwrap_or(bytes.len() as u64));
    }
    Ok(bytes)
}
