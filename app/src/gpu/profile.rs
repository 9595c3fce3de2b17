//! `/gpu` profile: where a LoRA step's, a LLaMA poem's or a DETR pass's
//! time goes on the visitor's own GPU, per kernel, with the buffers and
//! bind groups each creates (`compute::workloads`, as `cargo xtask bench`
//! runs them natively). Timed with WebGPU timestamp queries where the
//! adapter grants `timestamp-query`; without them, the table says so and
//! keeps the counts.

use compute::{
    models::{
        detr::{config::WEIGHTS_PATH as DETR_WEIGHTS, model::Detr},
        llama::{Llama, LlamaConfig, CONFIG_PATH, WEIGHTS_PATH},
    },
    profile::Clock,
    workloads::{self, Profiled, Workload},
    Backend,
};
use leptos::{prelude::*, task::spawn_local};
use serde::{Deserialize, Serialize};

use crate::{
    i18n::{t, t_string, use_i18n},
    shell::{
        assets::{fetch_asset, manifest},
        format::fill,
        live_backend::LiveBackend,
        url_state::{use_widget_state, Invalid, WidgetState},
        widget::UrlNotices,
    },
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuProfileState {
    pub workload: Workload,
    /// Profile as soon as the page loads (for links and embeds).
    pub profile: bool,
}

impl Default for GpuProfileState {
    fn default() -> Self {
        GpuProfileState {
            workload: Workload::LoraStep,
            profile: false,
        }
    }
}

impl WidgetState for GpuProfileState {
    fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Progress {
    Idle,
    Running,
    Done(Box<Profiled>),
    Failed(ProfileError),
}

#[derive(Debug, Clone, PartialEq)]
enum ProfileError {
    /// The page runs on the CPU: there is no GPU to profile.
    NeedsGpu,
    /// A download, the weights or the GPU failed.
    Failed(String),
}

impl From<String> for ProfileError {
    fn from(e: String) -> Self {
        ProfileError::Failed(e)
    }
}

/// Loads the workload's model and profiles it on `backend`'s GPU.
async fn run(backend: Backend, workload: Workload) -> Result<Profiled, ProfileError> {
    let Backend::Gpu(exec) = backend else {
        return Err(ProfileError::NeedsGpu);
    };
    let m = manifest().await.map_err(|e| e.to_string())?;
    let fetch = |path: &'static str| {
        let m = m.clone();
        async move {
            fetch_asset(path, &m, |_, _| {})
                .await
                .map_err(|e| e.to_string())
        }
    };
    let result = match workload {
        Workload::DetrPass => {
            let detr = Detr::load(&fetch(DETR_WEIGHTS).await?).map_err(|e| e.to_string())?;
            workloads::detr_pass(&exec, &detr).await
        }
        Workload::LoraStep | Workload::LlamaPoem => {
            let config: LlamaConfig =
                serde_json::from_slice(&fetch(CONFIG_PATH).await?).map_err(|e| e.to_string())?;
            let llama =
                Llama::load(config, &fetch(WEIGHTS_PATH).await?).map_err(|e| e.to_string())?;
            if workload == Workload::LoraStep {
                workloads::lora_step(&exec, &llama).await
            } else {
                workloads::llama_poem(&exec, &llama).await
            }
        }
    };
    Ok(result.map_err(|e| e.to_string())?)
}

#[component]
pub fn GpuProfile() -> impl IntoView {
    let i18n = use_i18n();
    let backend = LiveBackend::expect().0;
    let (parsed, write) = use_widget_state::<GpuProfileState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.read().notices.clone());
    let progress = RwSignal::new(Progress::Idle);

    let start = move || {
        if progress.get_untracked() == Progress::Running {
            return;
        }
        progress.set(Progress::Running);
        let workload = state.get_untracked().workload;
        spawn_local(async move {
            let result = run(backend.await, workload).await;
            progress.set(match result {
                Ok(p) => Progress::Done(Box::new(p)),
                Err(e) => Progress::Failed(e),
            });
        });
    };
    Effect::new(move |_| {
        if state.get().profile && progress.get_untracked() == Progress::Idle {
            start();
        }
    });

    let status_attr = move || match progress.get() {
        Progress::Idle => "idle",
        Progress::Running => "running",
        Progress::Done(_) => "done",
        Progress::Failed(_) => "failed",
    };
    let status_text = move || match progress.get() {
        Progress::Idle => t_string!(i18n, gpu.profile_idle).to_string(),
        Progress::Running => t_string!(i18n, gpu.profile_running).to_string(),
        Progress::Done(p) => {
            let per_unit = match p.workload {
                Workload::LlamaPoem => fill(
                    t_string!(i18n, gpu.profile_per_token),
                    &[
                        ("tokens", &p.units),
                        ("dispatches", &format!("{:.1}", p.dispatches_per_unit())),
                    ],
                ),
                _ => String::new(),
            };
            let total = match p.profile.ms() {
                Some(ms) => fill(
                    t_string!(i18n, gpu.profile_total),
                    &[
                        ("dispatches", &p.profile.dispatches()),
                        ("ms", &format!("{ms:.1}")),
                    ],
                ),
                None => fill(
                    t_string!(i18n, gpu.profile_total_untimed),
                    &[("dispatches", &p.profile.dispatches())],
                ),
            };
            format!("{total} {per_unit}")
        }
        Progress::Failed(ProfileError::NeedsGpu) => {
            t_string!(i18n, gpu.profile_needs_gpu).to_string()
        }
        Progress::Failed(ProfileError::Failed(e)) => {
            fill(t_string!(i18n, gpu.profile_failed), &[("error", &e)])
        }
    };
    let clock_note = move || match progress.get() {
        Progress::Done(p) => Some(match p.profile.clock {
            Clock::Timestamps => t_string!(i18n, gpu.profile_clock_timestamps).to_string(),
            Clock::Submissions => t_string!(i18n, gpu.profile_clock_submissions).to_string(),
            Clock::Unavailable => t_string!(i18n, gpu.profile_clock_unavailable).to_string(),
        }),
        _ => None,
    };
    let clock_attr = move || match progress.get() {
        Progress::Done(p) => match p.profile.clock {
            Clock::Timestamps => "timestamps",
            Clock::Submissions => "submissions",
            Clock::Unavailable => "unavailable",
        },
        _ => "",
    };
    let rows = move || match progress.get() {
        Progress::Done(p) => p.profile.kernels.clone(),
        _ => Vec::new(),
    };
    let total_ms = move || match progress.get() {
        Progress::Done(p) => p.profile.ms(),
        _ => None,
    };

    view! {
        <section class="widget" data-testid="gpu-profile" aria-labelledby="gpu-profile-title">
            <h2 id="gpu-profile-title">{t!(i18n, gpu.profile_title)}</h2>
            <p>{t!(i18n, gpu.profile_intro)}</p>
            <UrlNotices notices=notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, gpu.profile_workload)}</span>
                    <select
                        data-testid="gpu-profile-workload"
                        on:change=move |ev| {
                            if let Some(workload) = Workload::from_slug(&event_target_value(&ev)) {
                                write(GpuProfileState { workload, ..state.get_untracked() });
                            }
                        }
                        prop:value=move || state.get().workload.slug()
                    >
                        <option value="lora-step">{t!(i18n, gpu.profile_lora_step)}</option>
                        <option value="llama-poem">{t!(i18n, gpu.profile_llama_poem)}</option>
                        <option value="detr-pass">{t!(i18n, gpu.profile_detr_pass)}</option>
                    </select>
                </label>
                <button
                    type="button"
                    data-testid="gpu-profile-run"
                    on:click=move |_| start()
                    prop:disabled=move || progress.get() == Progress::Running
                >
                    {t!(i18n, gpu.profile_run)}
                </button>
            </form>
            <p role="status" data-testid="gpu-profile-status" data-status=status_attr>
                {status_text}
                {move || (progress.get() == Progress::Running).then(|| view! { <progress></progress> })}
            </p>
            {move || clock_note().map(|note| view! {
                <p data-testid="gpu-profile-clock" data-clock=clock_attr>{note}</p>
            })}
            <Show when=move || !rows().is_empty()>
                <div class="table-scroll" tabindex="0">
                    <table class="bench" data-testid="gpu-profile-table" data-rows=move || rows().len()>
                        <thead>
                            <tr>
                                <th scope="col">{t!(i18n, gpu.profile_kernel)}</th>
                                <th scope="col">{t!(i18n, gpu.profile_dispatches)}</th>
                                <th scope="col">"ms"</th>
                                <th scope="col">{t!(i18n, gpu.profile_share)}</th>
                                <th scope="col">{t!(i18n, gpu.profile_buffers)}</th>
                                <th scope="col">{t!(i18n, gpu.profile_bind_groups)}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {move || {
                                let total = total_ms();
                                rows().into_iter().map(|k| {
                                    let ms = k.ms.map(|ms| format!("{ms:.2}")).unwrap_or_else(|| "–".into());
                                    let share = match (k.ms, total) {
                                        (Some(ms), Some(total)) if total > 0.0 => format!("{:.0}%", 100.0 * ms / total),
                                        _ => "–".into(),
                                    };
                                    let name = k.kernel.clone();
                                    view! {
                                        <tr data-kernel=name data-dispatches=k.dispatches>
                                            <td><code>{k.kernel}</code></td>
                                            <td>{k.dispatches}</td>
                                            <td>{ms}</td>
                                            <td>{share}</td>
                                            <td>{k.buffers}</td>
                                            <td>{k.bind_groups}</td>
                                        </tr>
                                    }
                                }).collect_view()
                            }}
                        </tbody>
                    </table>
                </div>
            </Show>
        </section>
    }
}
