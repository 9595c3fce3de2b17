//! `/gpu` benchmark: the kernel suite on the visitor's own GPU, beside the
//! same operations on the CPU reference in this tab.

use compute::bench::{run_suite, BenchRow, SuiteSize};
use leptos::{prelude::*, task::spawn_local};
use serde::{Deserialize, Serialize};

use crate::shell::widget::UrlNotices;
use crate::{
    i18n::{t, t_string, use_i18n},
    shell::{
        format::fill,
        live_backend::LiveBackend,
        url_state::{use_widget_state, Invalid, WidgetState},
    },
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuBenchState {
    pub size: SuiteSize,
    /// Start measuring as soon as the page loads (for links and embeds).
    pub autorun: bool,
}

impl Default for GpuBenchState {
    fn default() -> Self {
        GpuBenchState {
            size: SuiteSize::Full,
            autorun: false,
        }
    }
}

impl WidgetState for GpuBenchState {
    fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Progress {
    Idle,
    Running { done: usize, total: usize },
    Done,
    Failed(String),
}

#[component]
pub fn GpuBench() -> impl IntoView {
    let i18n = use_i18n();
    let backend = LiveBackend::expect().0;
    let (parsed, write) = use_widget_state::<GpuBenchState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.read().notices.clone());
    let rows = RwSignal::new(Vec::<BenchRow>::new());
    let progress = RwSignal::new(Progress::Idle);

    let start = move || {
        if matches!(progress.get_untracked(), Progress::Running { .. }) {
            return;
        }
        rows.set(Vec::new());
        progress.set(Progress::Running { done: 0, total: 0 });
        let size = state.get_untracked().size;
        spawn_local(async move {
            let backend = backend.await;
            let result = run_suite(&backend, size, "wasm in this tab", |done, total, row| {
                rows.update(|r| r.push(row.clone()));
                progress.set(Progress::Running { done, total });
            })
            .await;
            progress.set(match result {
                Ok(_) => Progress::Done,
                Err(e) => Progress::Failed(e.to_string()),
            });
        });
    };
    Effect::new(move |_| {
        if state.get().autorun && progress.get_untracked() == Progress::Idle {
            start();
        }
    });

    let status_text = move || match progress.get() {
        Progress::Idle => t_string!(i18n, gpu.bench_idle).to_string(),
        Progress::Running { done, total } => fill(
            t_string!(i18n, gpu.bench_running),
            &[("done", &done), ("total", &total)],
        ),
        Progress::Done => t_string!(i18n, gpu.bench_done).to_string(),
        Progress::Failed(e) => fill(t_string!(i18n, gpu.bench_failed), &[("error", &e)]),
    };
    let status_attr = move || match progress.get() {
        Progress::Idle => "idle",
        Progress::Running { .. } => "running",
        Progress::Done => "done",
        Progress::Failed(_) => "failed",
    };
    let write_size = write.clone();

    view! {
        <section class="widget" data-testid="gpu-bench" aria-labelledby="gpu-bench-title">
            <h2 id="gpu-bench-title">{t!(i18n, gpu.bench_title)}</h2>
            <p>{t!(i18n, gpu.bench_intro)}</p>
            <UrlNotices notices=notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, gpu.bench_size)}</span>
                    <select
                        data-testid="gpu-bench-size"
                        on:change=move |ev| {
                            let size = if event_target_value(&ev) == "small" { SuiteSize::Small } else { SuiteSize::Full };
                            write_size(GpuBenchState { size, ..state.get_untracked() });
                        }
                        prop:value=move || if state.get().size == SuiteSize::Small { "small" } else { "full" }
                    >
                        <option value="full">{t!(i18n, gpu.bench_size_full)}</option>
                        <option value="small">{t!(i18n, gpu.bench_size_small)}</option>
                    </select>
                </label>
                <button
                    type="button"
                    data-testid="gpu-bench-run"
                    on:click=move |_| start()
                    prop:disabled=move || matches!(progress.get(), Progress::Running { .. })
                >
                    {t!(i18n, gpu.bench_run)}
                </button>
            </form>
            <p role="status" data-testid="gpu-bench-status" data-status=status_attr>
                {status_text}
                {move || match progress.get() {
                    Progress::Running { done, total } if total > 0 => {
                        view! { <progress max=total value=done></progress> }.into_any()
                    }
                    _ => ().into_any(),
                }}
            </p>
            <Show when=move || !rows.read().is_empty()>
                <div class="table-scroll" tabindex="0">
                    <table class="bench">
                        <thead>
                            <tr>
                                <th scope="col">{t!(i18n, gpu.bench_kernel)}</th>
                                <th scope="col">{t!(i18n, gpu.bench_shape)}</th>
                                <th scope="col">{t!(i18n, gpu.bench_backend)}</th>
                                <th scope="col">"ms"</th>
                                <th scope="col">"GFLOP/s"</th>
                                <th scope="col">"GB/s"</th>
                                <th scope="col">"× CPU"</th>
                                <th scope="col">{t!(i18n, gpu.bench_max_err)}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {move || rows.get().into_iter().map(|r| {
                                let ok = r.max_abs_err <= r.tolerance;
                                let is_cpu = r.backend.starts_with("cpu");
                                let verdict = if is_cpu {
                                    t_string!(i18n, gpu.bench_reference).to_string()
                                } else {
                                    format!("{:.1e} {}", r.max_abs_err, if ok { "✓" } else { "✗" })
                                };
                                view! {
                                    <tr>
                                        <td><code>{r.kernel}</code></td>
                                        <td>{r.shape}</td>
                                        <td>{r.backend}</td>
                                        <td>{significant(r.ms_median)}</td>
                                        <td>{significant(r.gflops)}</td>
                                        <td>{significant(r.gbps)}</td>
                                        <td>{significant(r.ratio_vs_cpu)}</td>
                                        <td class=if ok { "pass" } else { "fail" }>{verdict}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </Show>
            <Show when=move || progress.get() == Progress::Done>
                <pre hidden data-testid="gpu-bench-json">{move || serde_json::to_string(&rows.get()).unwrap_or_default()}</pre>
            </Show>
        </section>
    }
}

/// Three significant figures, so 0.0031 and 2048 both read sensibly.
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::significant;

    #[test]
    fn three_significant_figures() {
        assert_eq!(significant(0.003142), "0.00314");
        assert_eq!(significant(4.56789), "4.57");
        assert_eq!(significant(2048.4), "2048");
        assert_eq!(significant(0.0), "0");
    }
}
