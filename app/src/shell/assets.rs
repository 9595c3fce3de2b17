//! Downloads of `assets/`: each file is loaded once per page (then served
//! from memory) and checked against `assets/manifest.json` (size, then
//! SHA-256) before anyone parses a byte of it. A file comes from the offline
//! cache (the Cache API, keyed by its SHA-256) when that holds a good copy;
//! otherwise from the network, streamed so the UI can show byte-level
//! progress, and then stored in the offline cache.

use std::{cell::RefCell, collections::HashMap, fmt, rc::Rc};

use compute::weights::{
    manifest::{AssetEntry, Manifest},
    WeightsError,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::{
    i18n::{td_string, Locale},
    shell::format::fill,
};

/// Why a file could not be had. [`FetchError::say`] words it in the page's
/// language; `Display` is the English, for logs and the other errors that
/// wrap this one. The details (the browser's messages, the manifest's
/// check) stay as they come.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchError {
    Network { path: String, detail: String },
    Status { path: String, status: u16 },
    Verify(WeightsError),
    Storage { path: String, detail: CacheError },
}

impl FetchError {
    pub fn say(&self, locale: Locale) -> String {
        match self {
            FetchError::Network { path, detail } => fill(
                td_string!(locale, shell.fetch_network),
                &[("path", path), ("detail", detail)],
            ),
            FetchError::Status { path, status } => fill(
                td_string!(locale, shell.fetch_status),
                &[("path", path), ("status", status)],
            ),
            FetchError::Verify(e) => e.to_string(),
            FetchError::Storage { path, detail } => fill(
                td_string!(locale, shell.fetch_storage),
                &[("path", path), ("detail", &detail.say(locale))],
            ),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.say(Locale::en))
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Verify(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

impl From<WeightsError> for FetchError {
    fn from(e: WeightsError) -> Self {
        FetchError::Verify(e)
    }
}

/// Why the offline cache cannot be opened or written.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheError {
    /// No Cache API on this page (an insecure origin, or storage disabled).
    Unavailable,
    /// The browser's own message.
    Browser(String),
}

impl CacheError {
    pub fn say(&self, locale: Locale) -> String {
        match self {
            CacheError::Unavailable => td_string!(locale, shell.cache_unavailable).to_string(),
            CacheError::Browser(detail) => detail.clone(),
        }
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.say(Locale::en))
    }
}

/// The Cache API cache holding weights and data, apart from the service
/// worker's app shell: a new build replaces the shell, while files whose
/// SHA-256 did not change stay stored.
pub const OFFLINE_CACHE: &str = "glassbox-assets-v1";

/// The offline cache's key for a file: its SHA-256, so a retrained model
/// under the same name is a different entry, never a stale hit.
pub fn offline_key(entry: &AssetEntry) -> String {
    format!("/offline-assets/sha256/{}", entry.sha256)
}

/// The page's `CacheStorage`, or `None` where the browser offers none (an
/// insecure origin, or storage disabled).
pub fn cache_storage() -> Option<web_sys::CacheStorage> {
    let window = web_sys::window()?;
    // `window.caches` is undefined on insecure origins: check before use.
    let caches = js_sys::Reflect::get(&window, &"caches".into()).ok()?;
    caches.is_object().then(|| caches.unchecked_into())
}

/// The offline cache, opened; `Err` says why there is none.
pub async fn offline_cache() -> Result<web_sys::Cache, CacheError> {
    let storage = cache_storage().ok_or(CacheError::Unavailable)?;
    let browser = |e: JsValue| CacheError::Browser(js_detail(&e));
    JsFuture::from(storage.open(OFFLINE_CACHE))
        .await
        .map_err(browser)?
        .dyn_into()
        .map_err(browser)
}

/// A JS error's message, for the UI.
pub fn js_detail(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// The body of a cache lookup's answer (a promise of a `Response` or
/// `undefined`), or `None` if nothing was found or it cannot be read,
/// which is the same to the caller: fetch again.
async fn cached_body(lookup: js_sys::Promise) -> Option<Vec<u8>> {
    let found = JsFuture::from(lookup).await.ok()?;
    let response: web_sys::Response = found.dyn_into().ok()?;
    let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Whether the offline cache holds an entry under `key` (not read).
pub async fn cache_has(cache: &web_sys::Cache, key: &str) -> bool {
    JsFuture::from(cache.match_with_str(key))
        .await
        .is_ok_and(|found| found.is_instance_of::<web_sys::Response>())
}

async fn cache_write(cache: &web_sys::Cache, key: &str, bytes: &[u8]) -> Result<(), CacheError> {
    let browser = |e: JsValue| CacheError::Browser(js_detail(&e));
    let body = js_sys::Uint8Array::from(bytes);
    let response = web_sys::Response::new_with_opt_buffer_source(Some(&body)).map_err(browser)?;
    JsFuture::from(cache.put_with_str(key, &response))
        .await
        .map(drop)
        .map_err(browser)
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
    let bytes = match fetch_streamed(
        "manifest.json",
        web_sys::RequestCache::NoCache,
        None,
        &mut |_, _| {},
    )
    .await
    {
        Ok(bytes) => bytes,
        // Offline: the copy the service worker keeps with the app shell.
        Err(e) => cached_manifest().await.ok_or(e)?,
    };
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
    let bytes = Rc::new(load_verified(path, manifest, &mut on_progress, false).await?);
    DOWNLOADED.with(|d| d.borrow_mut().insert(path.to_string(), bytes.clone()));
    Ok(bytes)
}

/// Makes sure the offline cache holds a verified copy of `assets/<path>`,
/// downloading it if not; returns its size. Unlike [`fetch_asset`], it keeps
/// nothing in memory, and failing to store is an error.
pub async fn store_offline(
    path: &str,
    manifest: &Manifest,
    mut on_progress: impl FnMut(u64, u64),
) -> Result<u64, FetchError> {
    let bytes = load_verified(path, manifest, &mut on_progress, true).await?;
    Ok(bytes.len() as u64)
}

/// `assets/<path>`, verified: from the offline cache if its copy passes the
/// manifest's check (a bad copy is deleted, never used), else from the
/// network, then stored. A store that fails is an error only if
/// `must_store`; otherwise the page works on, online only.
async fn load_verified(
    path: &str,
    manifest: &Manifest,
    on_progress: &mut dyn FnMut(u64, u64),
    must_store: bool,
) -> Result<Vec<u8>, FetchError> {
    let entry = manifest.entry(path).ok_or_else(|| {
        FetchError::Verify(WeightsError::Manifest {
            file: path.into(),
            detail: "not listed in assets/manifest.json".into(),
        })
    })?;
    let key = offline_key(entry);
    let cache = match offline_cache().await {
        Ok(cache) => Some(cache),
        Err(detail) if must_store => {
            return Err(FetchError::Storage {
                path: path.into(),
                detail,
            })
        }
        Err(_) => None,
    };
    if let Some(cache) = &cache {
        if let Some(bytes) = cached_body(cache.match_with_str(&key)).await {
            if manifest.verify(path, &bytes).is_ok() {
                on_progress(bytes.len() as u64, entry.bytes);
                return Ok(bytes);
            }
            let _ = JsFuture::from(cache.delete_with_str(&key)).await;
        }
    }
    // The HTTP cache may serve it; if that copy is stale (a retrained model
    // under the same name), fetch once more from the network.
    let total = Some(entry.bytes);
    let mut bytes =
        fetch_streamed(path, web_sys::RequestCache::ForceCache, total, on_progress).await?;
    if manifest.verify(path, &bytes).is_err() {
        bytes = fetch_streamed(path, web_sys::RequestCache::Reload, total, on_progress).await?;
        manifest.verify(path, &bytes)?;
    }
    if let Some(cache) = &cache {
        if let Err(detail) = cache_write(cache, &key, &bytes).await {
            if must_store {
                return Err(FetchError::Storage {
                    path: path.into(),
                    detail,
                });
            }
            web_sys::console::warn_1(
                &format!("{path} is not stored for offline use: {detail}").into(),
            );
        }
    }
    Ok(bytes)
}

/// The manifest as the service worker precached it with this build's shell.
async fn cached_manifest() -> Option<Vec<u8>> {
    cached_body(cache_storage()?.match_with_str("/assets/manifest.json")).await
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
