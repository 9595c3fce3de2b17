//! Offline use after one visit. The service worker (`app/sw.js`, registered
//! here) keeps the app shell; [`OfflineSave`], "Make this available
//! offline", stores every file the chapters use in the offline cache
//! ([`assets::OFFLINE_CACHE`]), waits for the shell, shows the storage used
//! and asks the browser to keep it.

use std::collections::HashSet;

use compute::weights::manifest::{AssetEntry, Manifest};
use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::{
    i18n::{t, td_string, use_i18n, Locale},
    shell::{
        assets::{
            self, js_detail, manifest, offline_cache, offline_key, store_offline, CacheError,
            FetchError,
        },
        format::fill,
        format::{group, human_bytes},
    },
};

/// Served unhashed at the root, so its scope is the whole app.
pub const SERVICE_WORKER: &str = "/sw.js";
/// `app/sw.js` names each build's shell cache with this and the build id.
const SHELL_CACHE_PREFIX: &str = "glassbox-shell-";
/// How long saving waits for the service worker to finish installing.
const SHELL_TIMEOUT_MS: u32 = 60_000;

/// Why the page cannot be made available offline, or cannot tell whether
/// it is; [`OfflineError::say`] words it in the page's language.
#[derive(Debug, Clone, PartialEq)]
pub enum OfflineError {
    Fetch(FetchError),
    Cache(CacheError),
    /// No `navigator.serviceWorker` (an insecure origin).
    NoServiceWorkers,
    /// `register()` failed, with the browser's message.
    NotRegistered(String),
    /// The service worker stores no app shell (a development build).
    NoShell,
    /// The service worker did not finish installing in time.
    ShellTimeout {
        seconds: u32,
    },
    /// The browser's own message.
    Browser(String),
}

impl OfflineError {
    pub fn say(&self, locale: Locale) -> String {
        match self {
            OfflineError::Fetch(e) => e.say(locale),
            OfflineError::Cache(e) => e.say(locale),
            OfflineError::NoServiceWorkers => td_string!(locale, shell.offline_no_sw).to_string(),
            OfflineError::NotRegistered(detail) => fill(
                td_string!(locale, shell.offline_sw_failed),
                &[("detail", detail)],
            ),
            OfflineError::NoShell => td_string!(locale, shell.offline_no_shell).to_string(),
            OfflineError::ShellTimeout { seconds } => fill(
                td_string!(locale, shell.offline_sw_timeout),
                &[("seconds", seconds)],
            ),
            OfflineError::Browser(detail) => detail.clone(),
        }
    }
}

impl From<FetchError> for OfflineError {
    fn from(e: FetchError) -> Self {
        OfflineError::Fetch(e)
    }
}

impl From<CacheError> for OfflineError {
    fn from(e: CacheError) -> Self {
        OfflineError::Cache(e)
    }
}

/// Registers the service worker; called once at start. A browser without
/// service workers gets a console warning and an app that works online.
pub fn register_service_worker() {
    spawn_local(async {
        if let Err(e) = registration().await {
            web_sys::console::warn_1(
                &format!("offline use is unavailable: {}", e.say(Locale::en)).into(),
            );
        }
    });
}

/// The service worker's registration. Registering again returns the same
/// one, so this is also how the save button finds it.
async fn registration() -> Result<web_sys::ServiceWorkerRegistration, OfflineError> {
    let navigator = web_sys::window()
        .ok_or_else(|| OfflineError::Browser("no window".into()))?
        .navigator();
    // `navigator.serviceWorker` is absent on insecure origins.
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return Err(OfflineError::NoServiceWorkers);
    }
    JsFuture::from(navigator.service_worker().register(SERVICE_WORKER))
        .await
        .map_err(|e| OfflineError::NotRegistered(js_detail(&e)))?
        .dyn_into()
        .map_err(|e| OfflineError::Browser(js_detail(&e)))
}

/// Whether some build's app shell is stored.
async fn shell_cached() -> bool {
    let Some(storage) = assets::cache_storage() else {
        return false;
    };
    let Ok(names) = JsFuture::from(storage.keys()).await else {
        return false;
    };
    js_sys::Array::from(&names)
        .iter()
        .filter_map(|name| name.as_string())
        .any(|name| name.starts_with(SHELL_CACHE_PREFIX))
}

/// Waits until the service worker is active with its shell stored.
async fn shell_ready(
    registration: &web_sys::ServiceWorkerRegistration,
) -> Result<(), OfflineError> {
    const POLL_MS: u32 = 200;
    for _ in 0..SHELL_TIMEOUT_MS / POLL_MS {
        let settled = registration.installing().is_none() && registration.waiting().is_none();
        if registration.active().is_some() && settled {
            return if shell_cached().await {
                Ok(())
            } else {
                // app/sw.js without xtask's precache list serves nothing.
                Err(OfflineError::NoShell)
            };
        }
        gloo_timers::future::TimeoutFuture::new(POLL_MS).await;
    }
    Err(OfflineError::ShellTimeout {
        seconds: SHELL_TIMEOUT_MS / 1000,
    })
}

/// Every file the chapters read: the manifest's entries but training data.
fn used(manifest: &Manifest) -> Vec<AssetEntry> {
    manifest
        .assets
        .iter()
        .filter(|a| !a.training_only)
        .cloned()
        .collect()
}

/// Removes stored files the manifest no longer lists (an older build's
/// models), so the offline cache holds one copy of what this build uses.
async fn prune(cache: &web_sys::Cache, manifest: &Manifest) {
    let keep: HashSet<String> = manifest.assets.iter().map(offline_key).collect();
    let Ok(requests) = JsFuture::from(cache.keys()).await else {
        return;
    };
    for request in js_sys::Array::from(&requests).iter() {
        let Ok(request) = request.dyn_into::<web_sys::Request>() else {
            continue;
        };
        let url = request.url();
        let path = url
            .find("/offline-assets/")
            .map_or(url.as_str(), |at| &url[at..]);
        if !keep.contains(path) {
            let _ = JsFuture::from(cache.delete_with_request(&request)).await;
        }
    }
}

/// What the browser says about the origin's storage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageInfo {
    pub usage: Option<u64>,
    pub quota: Option<u64>,
    /// `None`: the browser cannot be asked.
    pub persisted: Option<bool>,
}

/// `navigator.storage.estimate()`, and `persist()` if `ask` (which may
/// prompt) or else `persisted()` (which never does).
async fn storage_info(ask: bool) -> StorageInfo {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return StorageInfo::default();
    };
    // `navigator.storage` is absent on insecure origins.
    if !js_sys::Reflect::has(&navigator, &"storage".into()).unwrap_or(false) {
        return StorageInfo::default();
    }
    let storage = navigator.storage();
    let mut info = StorageInfo::default();
    if let Ok(promise) = storage.estimate() {
        if let Ok(estimate) = JsFuture::from(promise).await {
            let field = |name: &str| {
                js_sys::Reflect::get(&estimate, &name.into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .map(|v| v as u64)
            };
            info.usage = field("usage");
            info.quota = field("quota");
        }
    }
    let answer = if ask {
        storage.persist()
    } else {
        storage.persisted()
    };
    if let Ok(promise) = answer {
        info.persisted = JsFuture::from(promise).await.ok().and_then(|v| v.as_bool());
    }
    info
}

/// What is stored for offline use.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub files: usize,
    /// Weights and data, as the manifest counts them.
    pub bytes: u64,
    /// How long saving took, when it happened on this page.
    pub ms: Option<f64>,
    pub storage: StorageInfo,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OfflineStatus {
    /// Not saved (or not completely); with the reason when the check failed.
    None(Option<OfflineError>),
    Saving {
        loaded: u64,
        total: u64,
    },
    Ready(Saved),
    Error(OfflineError),
}

impl OfflineStatus {
    /// `data-value` of `offline-status`.
    pub fn value(&self) -> &'static str {
        match self {
            OfflineStatus::None(_) => "none",
            OfflineStatus::Saving { .. } => "saving",
            OfflineStatus::Ready(_) => "ready",
            OfflineStatus::Error(_) => "error",
        }
    }

    fn text(&self, locale: Locale) -> String {
        match self {
            OfflineStatus::None(None) => td_string!(locale, shell.offline_not_yet).to_string(),
            OfflineStatus::None(Some(e)) => fill(
                td_string!(locale, shell.offline_not_saved),
                &[("error", &e.say(locale))],
            ),
            OfflineStatus::Saving { loaded, total } => fill(
                td_string!(locale, shell.offline_saving),
                &[("loaded", &group(*loaded)), ("total", &group(*total))],
            ),
            OfflineStatus::Error(e) => fill(
                td_string!(locale, shell.offline_failed),
                &[("error", &e.say(locale))],
            ),
            OfflineStatus::Ready(saved) => {
                let files = saved.files;
                let bytes = group(saved.bytes);
                let mut text = match saved.ms {
                    Some(ms) => fill(
                        td_string!(locale, shell.offline_ready_ms),
                        &[
                            ("files", &files),
                            ("bytes", &bytes),
                            ("ms", &group(ms.round() as u64)),
                        ],
                    ),
                    None => fill(
                        td_string!(locale, shell.offline_ready),
                        &[("files", &files), ("bytes", &bytes)],
                    ),
                };
                let storage = &saved.storage;
                match (storage.usage, storage.quota) {
                    (Some(usage), Some(quota)) => text.push_str(&fill(
                        td_string!(locale, shell.offline_usage_quota),
                        &[
                            ("usage", &human_bytes(usage)),
                            ("quota", &human_bytes(quota)),
                        ],
                    )),
                    (Some(usage), None) => text.push_str(&fill(
                        td_string!(locale, shell.offline_usage),
                        &[("usage", &human_bytes(usage))],
                    )),
                    _ => {}
                }
                text.push_str(match storage.persisted {
                    Some(true) => td_string!(locale, shell.offline_persisted),
                    Some(false) => td_string!(locale, shell.offline_not_persisted),
                    None => td_string!(locale, shell.offline_persist_unknown),
                });
                text
            }
        }
    }
}

/// On a later visit: whether everything is stored already (present, not
/// re-read: each file was verified before it was stored, and is verified
/// again whenever it is used).
async fn check_saved() -> Result<Option<Saved>, OfflineError> {
    if !shell_cached().await {
        return Ok(None);
    }
    let manifest = manifest().await?;
    let cache = offline_cache().await?;
    let entries = used(&manifest);
    for entry in &entries {
        if !assets::cache_has(&cache, &offline_key(entry)).await {
            return Ok(None);
        }
    }
    Ok(Some(Saved {
        files: entries.len(),
        bytes: entries.iter().map(|e| e.bytes).sum(),
        ms: None,
        storage: storage_info(false).await,
    }))
}

/// Stores every file the chapters use, then waits for the app shell.
async fn save(status: RwSignal<OfflineStatus>) -> Result<Saved, OfflineError> {
    let started = web_time::Instant::now();
    let manifest = manifest().await?;
    let entries = used(&manifest);
    let total: u64 = entries.iter().map(|e| e.bytes).sum();
    status.try_set(OfflineStatus::Saving { loaded: 0, total });
    let mut done = 0;
    for entry in &entries {
        let before = done;
        done += store_offline(&entry.path, &manifest, |loaded, _| {
            status.try_set(OfflineStatus::Saving {
                loaded: before + loaded,
                total,
            });
        })
        .await?;
    }
    prune(&offline_cache().await?, &manifest).await;
    shell_ready(&registration().await?).await?;
    Ok(Saved {
        files: entries.len(),
        bytes: done,
        ms: Some(started.elapsed().as_secs_f64() * 1000.0),
        storage: storage_info(true).await,
    })
}

/// "Make this available offline": on the home page and in presentation mode.
#[component]
pub fn OfflineSave() -> impl IntoView {
    let i18n = use_i18n();
    let status = RwSignal::new(OfflineStatus::None(None));
    // A later visit says at once that everything is stored.
    spawn_local(async move {
        let found = check_saved().await;
        status.try_update(|s| {
            if matches!(s, OfflineStatus::None(_)) {
                match found {
                    Ok(Some(saved)) => *s = OfflineStatus::Ready(saved),
                    Ok(None) => {}
                    Err(e) => *s = OfflineStatus::None(Some(e)),
                }
            }
        });
    });
    let saving = move || matches!(status.get(), OfflineStatus::Saving { .. });
    let on_save = move |_| {
        if saving() {
            return;
        }
        status.set(OfflineStatus::Saving {
            loaded: 0,
            total: 0,
        });
        spawn_local(async move {
            let outcome = save(status).await;
            status.try_set(match outcome {
                Ok(saved) => OfflineStatus::Ready(saved),
                Err(e) => OfflineStatus::Error(e),
            });
        });
    };
    let ready = move |f: fn(&Saved) -> Option<String>| {
        move || match status.get() {
            OfflineStatus::Ready(saved) => f(&saved),
            _ => None,
        }
    };
    view! {
        <section class="widget offline-save" data-testid="offline">
            <h2>{t!(i18n, common.offline_heading)}</h2>
            <p>{t!(i18n, common.offline_intro)}</p>
            <button type="button" data-testid="offline-save" on:click=on_save disabled=saving>
                {t!(i18n, common.offline_save)}
            </button>
            {move || match status.get() {
                OfflineStatus::Saving { loaded, total } => {
                    Some(view! { <progress max=total.max(1) value=loaded></progress> })
                }
                _ => None,
            }}
            <p
                data-testid="offline-status"
                role="status"
                data-value=move || status.get().value()
                data-bytes=ready(|s| Some(s.bytes.to_string()))
                data-ms=ready(|s| s.ms.map(|ms| format!("{ms:.0}")))
                data-usage=ready(|s| s.storage.usage.map(|u| u.to_string()))
            >
                {move || status.read().text(i18n.get_locale())}
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_reads_the_same_in_english_and_has_chinese() {
        let saved = Saved {
            files: 12,
            bytes: 1_234_567,
            ms: Some(842.4),
            storage: StorageInfo {
                usage: Some(2_500_000),
                quota: Some(10_000_000_000),
                persisted: Some(false),
            },
        };
        let ready = OfflineStatus::Ready(saved.clone());
        assert_eq!(
            ready.text(Locale::en),
            "Available offline: the app and 12 files (1,234,567 bytes of models and data), \
             each checked against its SHA-256, saved in 842 ms. This site uses 2.50 MB of \
             this browser's storage (it may use up to 10.00 GB). Persistent storage: not \
             granted, so the browser may clear it when space runs low (saving again restores it)."
        );
        assert!(ready.text(Locale::zh).contains("12 个文件"));
        let error = OfflineStatus::Error(OfflineError::ShellTimeout { seconds: 60 });
        assert_eq!(
            error.text(Locale::en),
            "Could not make this available offline: \
             the service worker did not finish installing within 60 s"
        );
        assert_eq!(
            OfflineStatus::None(None).text(Locale::en),
            "Not saved for offline use yet."
        );
        let fetch = FetchError::Storage {
            path: "ar/nade.bin".into(),
            detail: CacheError::Unavailable,
        };
        assert_eq!(
            fetch.to_string(),
            "could not store ar/nade.bin for offline use: this browser offers no Cache API \
             here (offline use needs HTTPS or localhost)"
        );
    }
}
