//! The compute backend for the whole page: WebGPU detected once at
//! start-up, the visitor's choice (`backend=auto|gpu|cpu`, read once per
//! page load), and in Auto each model family's calibration: the first time
//! a family runs, a short pass is timed on both backends and the faster one
//! is kept.
//!
//! A lost GPU (a driver reset, or `debug=lose-device`) is survived without
//! a reload: the loaded models are dropped, a new adapter and device are
//! requested (the CPU if none comes), and only then is the GPU epoch
//! bumped; widgets track the epoch, so they restart on the new backend.

use std::cell::{Cell, RefCell};

use compute::{
    backend::{BackendChoice, Calibration},
    Backend, ComputeError,
};
use leptos::prelude::*;
use web_time::Instant;

use crate::{
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{format::fill, in_flight::InFlight},
};

/// Context newtype: the detected backend, resolved once WebGPU has answered.
#[derive(Clone, Copy)]
pub struct LiveBackend(pub LocalResource<Backend>);

thread_local! {
    static CHOICE: Cell<BackendChoice> = const { Cell::new(BackendChoice::Auto) };
    /// Calibrations so far, shown under the badge; a family is measured once.
    static CALIBRATIONS: ArcRwSignal<Vec<Calibration>> = ArcRwSignal::new(Vec::new());
    /// A `backend=` value that is not a choice, for the notice.
    static BAD_CHOICE: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The backend widgets compute on; None while (re)detecting.
    static CURRENT: RefCell<Option<Backend>> = const { RefCell::new(None) };
    /// Callers waiting for a detection under way.
    static DETECTING: InFlight<()> = InFlight::new();
    /// Bumped once a lost GPU has been replaced.
    static EPOCH: ArcRwSignal<u32> = ArcRwSignal::new(0);
    /// Why the GPU was lost, each time it was.
    static LOSSES: ArcRwSignal<Vec<String>> = ArcRwSignal::new(Vec::new());
    /// `debug=lose-device`: destroy the device after the first result.
    static LOSE_AFTER_RESULT: Cell<bool> = const { Cell::new(false) };
    /// What drops each loaded model, registered by the sessions.
    static FORGETS: RefCell<Vec<fn()>> = const { RefCell::new(Vec::new()) };
}

impl LiveBackend {
    pub fn provide() {
        let query = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.trim_start_matches('?')).unwrap_or_default();
        LOSE_AFTER_RESULT.with(|l| {
            l.set(
                pairs
                    .iter()
                    .any(|(k, v)| k == "debug" && v == "lose-device"),
            )
        });
        if let Some((_, v)) = pairs.iter().find(|(k, _)| k == "backend") {
            match BackendChoice::from_slug(v) {
                Some(c) => CHOICE.with(|choice| choice.set(c)),
                None => BAD_CHOICE.with(|b| *b.borrow_mut() = Some(v.clone())),
            }
        }
        let epoch = EPOCH.with(|e| e.clone());
        provide_context(LiveBackend(LocalResource::new(move || {
            epoch.track();
            backend()
        })));
    }

    pub fn expect() -> Self {
        use_context::<LiveBackend>()
            .expect("LiveBackend::provide() must run in App before any page renders")
    }
}

/// The backend to compute on now: detected on first use, and again after
/// the GPU is lost. Callers that ask at once share one detection.
pub async fn backend() -> Backend {
    loop {
        if let Some(b) = CURRENT.with(|c| c.borrow().clone()) {
            return b;
        }
        if let Some(rx) = DETECTING.with(|d| d.join(())) {
            let _ = rx.await;
            continue;
        }
        let detected = Backend::detect().await;
        if let Backend::Gpu(exec) = &detected {
            exec.ctx().on_lost(|why| {
                // wgpu calls this from the browser's event loop: the page's thread.
                leptos::task::spawn_local(recover(why));
            });
        }
        CURRENT.with(|c| *c.borrow_mut() = Some(detected.clone()));
        DETECTING.with(|d| d.finish(&()));
        return detected;
    }
}

/// Registers `forget`, which drops a session's models; after a lost device
/// each is called once before the backend is detected anew, so the next
/// request uploads again. A session registers when it first loads.
pub fn forget_on_recovery(forget: fn()) {
    FORGETS.with(|f| {
        let mut f = f.borrow_mut();
        if !f.iter().any(|&g| std::ptr::fn_addr_eq(g, forget)) {
            f.push(forget);
        }
    });
}

/// After a lost device: drop what lived on it, find a new backend, then
/// tell the widgets (the epoch) to start again on it.
async fn recover(why: String) {
    leptos::logging::warn!("the GPU device was lost ({why}); requesting a new one");
    LOSSES.with(|l| l.update(|v| v.push(why)));
    CURRENT.with(|c| *c.borrow_mut() = None);
    let forgets = FORGETS.with(|f| f.borrow().clone());
    for forget in forgets {
        forget();
    }
    backend().await;
    EPOCH.with(|e| e.update(|n| *n += 1));
}

/// Tracks the GPU epoch: an effect that calls this re-runs once a lost GPU
/// has been replaced.
pub fn gpu_epoch() -> u32 {
    EPOCH.with(|e| e.get())
}

/// Widgets call this when a result is on screen; with `debug=lose-device`
/// the first one destroys the GPU device, to show the recovery.
pub fn result_shown() {
    if !LOSE_AFTER_RESULT.with(|l| l.replace(false)) {
        return;
    }
    if let Some(Backend::Gpu(exec)) = CURRENT.with(|c| c.borrow().clone()) {
        leptos::logging::warn!("debug=lose-device: destroying the GPU device");
        exec.ctx().lose();
    }
}

pub fn choice() -> BackendChoice {
    CHOICE.with(Cell::get)
}

/// The calibration of `family`, once it has run.
pub fn calibration(family: &str) -> Option<Calibration> {
    CALIBRATIONS.with(|c| c.read().iter().find(|c| c.family == family).cloned())
}

/// The backend `family` runs on. With a GPU and the choice on Auto, the
/// first call times `cpu_pass` once and `gpu_pass` twice (the first run
/// compiles pipelines; a first run over 500 ms is not repeated) and keeps
/// the faster; later calls reuse that verdict. A GPU pass that fails sends
/// the family to the CPU, saying why.
pub async fn family_backend(
    detected: &Backend,
    family: &'static str,
    unit: &'static str,
    mut cpu_pass: impl AsyncFnMut() -> Result<(), ComputeError>,
    mut gpu_pass: impl AsyncFnMut() -> Result<(), ComputeError>,
) -> Backend {
    let Backend::Gpu(exec) = detected else {
        return detected.clone();
    };
    if choice() != BackendChoice::Auto {
        return detected.for_family(choice(), None);
    }
    if let Some(c) = calibration(family) {
        return detected.for_family(BackendChoice::Auto, Some(&c));
    }
    let t0 = Instant::now();
    if let Err(e) = cpu_pass().await {
        // The CPU path is the reference; if it fails, the GPU is all there is.
        leptos::logging::warn!("{family}: the CPU calibration pass failed: {e}");
        return detected.clone();
    }
    let cpu_ms = t0.elapsed().as_secs_f64() * 1e3;
    let mut gpu_ms = f64::INFINITY;
    for run in 0..2 {
        let t0 = Instant::now();
        if let Err(e) = gpu_pass().await {
            return Backend::Cpu(ComputeError::CpuChosen(format!(
                "WebGPU failed on {family}: {e}"
            )));
        }
        gpu_ms = gpu_ms.min(t0.elapsed().as_secs_f64() * 1e3);
        if run == 0 && gpu_ms > 500.0 {
            break;
        }
    }
    let measured = Calibration {
        family,
        unit,
        cpu_ms,
        gpu_ms,
        adapter: exec.ctx().summary().adapter_name,
    };
    CALIBRATIONS.with(|c| c.update(|list| list.push(measured.clone())));
    detected.for_family(BackendChoice::Auto, Some(&measured))
}

/// A calibration's verdict in plain words, the winner first, in `locale`:
/// "CPU: 8.04 ms per pass, against 1,600 ms on WebGPU (google swiftshader)".
pub fn reason_in(locale: Locale, c: &Calibration) -> String {
    let template = if c.gpu_wins() {
        td_string!(locale, gpu.backend_gpu_won)
    } else {
        td_string!(locale, gpu.backend_cpu_won)
    };
    fill(
        template,
        &[
            ("cpu", &milliseconds(c.cpu_ms)),
            ("gpu", &milliseconds(c.gpu_ms)),
            ("unit", &unit_in(locale, c.unit)),
            ("adapter", &c.adapter),
        ],
    )
}

/// A calibration's unit, as the model code names it, in `locale`; one the
/// translations do not know is shown as it is.
fn unit_in(locale: Locale, unit: &'static str) -> &'static str {
    match unit {
        "per pass" => td_string!(locale, gpu.backend_unit_pass),
        "per row of 28 pixels" => td_string!(locale, gpu.backend_unit_row),
        "per 4 decoding steps" => td_string!(locale, gpu.backend_unit_steps),
        _ => unit,
    }
}

/// A model family's name in `locale`: the models' own names (DETR,
/// PixelCNN, …) are not translated.
fn family_in(locale: Locale, family: &'static str) -> &'static str {
    match family {
        "Digit transformers" => td_string!(locale, gpu.backend_family_digit_transformers),
        _ => family,
    }
}

/// Three significant figures from 10 ms up, digits grouped: "8.04 ms",
/// "95.0 ms", "1,600 ms".
fn milliseconds(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{} ms", crate::shell::format::group(ms.round() as u64))
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// What the header badge says: the live backend's adapter, or why it is the CPU.
#[derive(Debug, Clone, PartialEq)]
pub enum Badge {
    Gpu { adapter: String },
    Cpu { reason: ComputeError },
}

impl Badge {
    pub fn of(backend: &Backend) -> Self {
        match backend {
            Backend::Gpu(exec) => Badge::Gpu {
                adapter: exec.ctx().summary().adapter_name,
            },
            Backend::Cpu(reason) => Badge::Cpu {
                reason: reason.clone(),
            },
        }
    }

    /// The header badge text: which backend is live, and why if it is the CPU.
    pub fn text(&self, locale: Locale) -> String {
        match self {
            Badge::Gpu { adapter } => format!("WebGPU · {adapter}"),
            Badge::Cpu { reason } => fill(
                td_string!(locale, gpu.backend_cpu_badge),
                &[("reason", &why_cpu(locale, reason))],
            ),
        }
    }
}

/// Why the page (or a model) runs on the CPU, in the page's language. The
/// details inside (a browser's or wgpu's message) stay as they came.
pub fn why_cpu(locale: Locale, reason: &ComputeError) -> String {
    let with = |key: &str, detail: &str| fill(key, &[("detail", &detail)]);
    match reason {
        ComputeError::WebGpuUnsupported => td_string!(locale, gpu.why_no_webgpu).to_string(),
        ComputeError::NoAdapter(d) => with(td_string!(locale, gpu.why_no_adapter), d),
        ComputeError::RequestDevice(d) => with(td_string!(locale, gpu.why_no_device), d),
        ComputeError::DeviceLost(d) => with(td_string!(locale, gpu.why_lost), d),
        ComputeError::CpuChosen(why) if why == "you chose the CPU" => {
            td_string!(locale, gpu.why_chosen).to_string()
        }
        other => other.to_string(),
    }
}

/// Reloads the page with `backend=` set (or removed, for Auto): every model
/// then loads on the chosen backend.
fn reload_with(choice: BackendChoice) {
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return;
    };
    let query = location.search().unwrap_or_default();
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.trim_start_matches('?')).unwrap_or_default();
    pairs.retain(|(k, _)| k != "backend");
    if choice != BackendChoice::Auto {
        pairs.push(("backend".into(), choice.slug().into()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let _ = location.set_search(&query);
}

#[component]
pub fn BackendBadge(
    /// In the page header: the badge alone, the rest under it on demand.
    #[prop(optional)]
    in_header: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let backend = LiveBackend::expect().0;
    let calibrations = CALIBRATIONS.with(|c| c.clone());
    let losses = LOSSES.with(|l| l.clone());
    let bad_choice = BAD_CHOICE.with(|b| b.borrow().clone());
    // Bytes the executor holds on the GPU, sampled once a second: flat on a
    // page that does not leak (the soak test reads it).
    // Bytes held, and buffers and bind groups created so far: a page that
    // is not leaking keeps all three flat once warm (the browser's soak).
    let gpu_bytes = RwSignal::new(None::<(u64, compute::executor::Creations)>);
    // Owned by the component: the interval stops when the badge goes.
    StoredValue::new_local(gloo_timers::callback::Interval::new(1000, move || {
        if let Some(Backend::Gpu(exec)) = CURRENT.with(|c| c.borrow().clone()) {
            gpu_bytes.set(Some((exec.bytes_held(), exec.creations())));
        }
    }));
    let badge = view! {
                    <Suspense fallback=move || view! { <span class="badge" data-testid="backend-badge">{t!(i18n, gpu.backend_detecting)}</span> }>
                        {move || Suspend::new(async move {
                            let backend = backend.await;
                            let kind = match backend {
                                Backend::Gpu(_) => "webgpu",
                                Backend::Cpu(_) => "cpu",
                            };
                            let badge = Badge::of(&backend);
                            view! {
                                <span class=format!("badge badge-{kind}") data-testid="backend-badge" data-backend=kind>
                                    {move || badge.text(i18n.get_locale())}
                                </span>
                            }
                        })}
                    </Suspense>
    };
    let details = view! {
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let has_gpu = backend.await.on_gpu();
                            view! {
                                <label class="backend-choice">
                                    <span>{t!(i18n, gpu.backend_run_on)}</span>
                                    <select
                                        data-testid="backend-choice"
                                        on:change=move |ev| {
                                            if let Some(c) = BackendChoice::from_slug(&event_target_value(&ev)) {
                                                reload_with(c);
                                            }
                                        }
                                        prop:value=choice().slug()
                                    >
                                        <option value="auto">{t!(i18n, gpu.backend_auto)}</option>
                                        <option value="gpu" disabled=!has_gpu>"GPU"</option>
                                        <option value="cpu">"CPU"</option>
                                    </select>
                                </label>
                            }
                        })}
                    </Suspense>
                    {move || gpu_bytes.get().map(|(b, created)| view! {
                        <span
                            class="note"
                            data-testid="gpu-bytes"
                            data-value=b.to_string()
                            data-buffers=created.buffers.to_string()
                            data-bind-groups=created.bind_groups.to_string()
                        >
                            {move || fill(
                                t_string!(i18n, gpu.backend_gpu_bytes),
                                &[("bytes", &crate::shell::format::human_bytes(b))],
                            )}
                        </span>
                    })}
                    <span class="backend-reasons" data-testid="backend-reasons" aria-live="polite">
                        {move || {
                            calibrations
                                .get()
                                .into_iter()
                                .map(|c| {
                                    let chosen = if c.gpu_wins() { "gpu" } else { "cpu" };
                                    view! {
                                        <span class="backend-reason" data-family=c.family data-chosen=chosen>
                                            {format!(
                                                "{} → {}",
                                                family_in(i18n.get_locale(), c.family),
                                                reason_in(i18n.get_locale(), &c)
                                            )}
                                        </span>
                                    }
                                })
                                .collect_view()
                        }}
                    </span>
    };
    let notices = view! {
            {bad_choice.map(|value| view! {
                <span class="notices" role="status">
                    {move || fill(t_string!(i18n, gpu.backend_bad_choice), &[("value", &value)])}
                </span>
            })}
            {move || {
                let lost = losses.get();
                (!lost.is_empty()).then(|| view! {
                    <span class="notices" role="status" data-testid="gpu-lost" data-count=lost.len().to_string()>
                        {fill(
                            t_string!(i18n, gpu.backend_lost),
                            &[("why", &lost.last().cloned().unwrap_or_default())],
                        )}
                    </span>
                })
            }}
    };
    if in_header {
        // The header keeps one row: the badge opens the control, the bytes
        // held and each calibration's reason under it.
        view! {
            <span class="backend">
                <details class="backend-menu" data-testid="backend-menu">
                    <summary title=move || t_string!(i18n, shell.backend_details)>{badge}</summary>
                    <div class="backend-panel">{details}</div>
                </details>
                {notices}
            </span>
        }
        .into_any()
    } else {
        view! { <span class="backend">{badge}{details}{notices}</span> }.into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration(cpu_ms: f64, gpu_ms: f64) -> Calibration {
        Calibration {
            family: "DETR",
            unit: "per pass",
            cpu_ms,
            gpu_ms,
            adapter: "google swiftshader".into(),
        }
    }

    #[test]
    fn the_reason_names_the_winner_first() {
        assert_eq!(
            reason_in(Locale::en, &calibration(8.04, 1599.6)),
            "CPU: 8.04 ms per pass, against 1,600 ms on WebGPU (google swiftshader)"
        );
        assert_eq!(
            reason_in(Locale::en, &calibration(12.0, 3.0)),
            "WebGPU (google swiftshader): 3.00 ms per pass, against 12.0 ms on the CPU"
        );
    }

    #[test]
    fn the_reason_in_chinese() {
        assert_eq!(
            reason_in(Locale::zh, &calibration(8.04, 1599.6)),
            "CPU：每次前向传播耗时 8.04 ms，WebGPU（google swiftshader）则要 1,600 ms"
        );
        assert_eq!(family_in(Locale::zh, "DETR"), "DETR");
        assert_eq!(
            Badge::Cpu {
                reason: ComputeError::NoAdapter("none".into())
            }
            .text(Locale::en),
            "CPU (WebGPU unavailable: no GPU adapter found: none)"
        );
        // Every reason the page can fall back for reads the same in
        // English as compute's own message, and is worded in Chinese.
        for reason in [
            ComputeError::WebGpuUnsupported,
            ComputeError::NoAdapter("x".into()),
            ComputeError::RequestDevice("x".into()),
            ComputeError::DeviceLost("x".into()),
        ] {
            assert_eq!(why_cpu(Locale::en, &reason), reason.to_string());
            assert_ne!(why_cpu(Locale::zh, &reason), reason.to_string());
        }
    }
}
