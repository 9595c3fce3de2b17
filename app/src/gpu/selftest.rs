//! `/gpu` self-test: a seeded f32 multiply on the live backend against the
//! CPU reference, with the error and the time it took.

use compute::{
    kernels::gemm::GemmShape,
    selftest::{run_selftest, SelfTestProblem, SelfTestReport, SELFTEST_TOLERANCE},
    Backend,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::shell::widget::UrlNotices;
use crate::{
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{
        format::fill,
        live_backend::LiveBackend,
        url_state::{use_widget_state, Invalid, WidgetState},
    },
};

/// Largest m, k or n: keeps a run well under a second on a phone's CPU path.
pub const MAX_DIM: u32 = 512;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSelfTestState {
    pub m: u32,
    pub k: u32,
    pub n: u32,
    pub seed: u64,
}

impl Default for GpuSelfTestState {
    fn default() -> Self {
        GpuSelfTestState {
            m: 96,
            k: 128,
            n: 80,
            seed: 1,
        }
    }
}

impl WidgetState for GpuSelfTestState {
    fn validate(&self) -> Result<(), Invalid> {
        if [self.m, self.k, self.n]
            .iter()
            .all(|d| (1..=MAX_DIM).contains(d))
        {
            Ok(())
        } else {
            Err(Invalid::Range {
                field: "m, k, n",
                lo: "1".into(),
                hi: MAX_DIM.to_string(),
            })
        }
    }
}

impl GpuSelfTestState {
    pub fn problem(&self) -> SelfTestProblem {
        SelfTestProblem {
            shape: GemmShape {
                m: self.m as usize,
                k: self.k as usize,
                n: self.n as usize,
            },
            seed: self.seed,
        }
    }
}

#[component]
pub fn GpuSelfTest() -> impl IntoView {
    let i18n = use_i18n();
    let backend = LiveBackend::expect().0;
    let (parsed, write) = use_widget_state::<GpuSelfTestState>();
    let write_seed = write.clone();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.read().notices.clone());
    let reruns = RwSignal::new(0u32);
    let report = LocalResource::new(move || {
        let problem = state.get().problem();
        reruns.track();
        async move { run_selftest(&backend.await, problem).await }
    });

    let dim_input = move |name: &'static str,
                          label: fn(Locale) -> &'static str,
                          get: fn(&GpuSelfTestState) -> u32,
                          set: fn(&mut GpuSelfTestState, u32)| {
        let write = write.clone();
        view! {
            <label>
                <span>{move || label(i18n.get_locale())}</span>
                <input
                    type="number"
                    min="1"
                    max=MAX_DIM
                    data-testid=format!("gpu-selftest-{name}")
                    prop:value=move || get(&state.get())
                    on:change=move |ev| {
                        let mut next = state.get_untracked();
                        if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
                            set(&mut next, v.clamp(1, MAX_DIM));
                        }
                        write(next);
                    }
                />
            </label>
        }
    };

    view! {
        <section class="widget" data-testid="gpu-selftest" aria-labelledby="gpu-selftest-title">
            <h2 id="gpu-selftest-title">{t!(i18n, gpu.selftest_title)}</h2>
            <p>{t!(i18n, gpu.selftest_intro)}</p>
            <UrlNotices notices=notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                {dim_input("m", |l| td_string!(l, gpu.selftest_m), |s| s.m, |s, v| s.m = v)}
                {dim_input("k", |l| td_string!(l, gpu.selftest_k), |s| s.k, |s, v| s.k = v)}
                {dim_input("n", |l| td_string!(l, gpu.selftest_n), |s| s.n, |s, v| s.n = v)}
                <label>
                    <span>{t!(i18n, gpu.selftest_seed)}</span>
                    <input
                        type="number"
                        min="0"
                        data-testid="gpu-selftest-seed"
                        prop:value=move || state.get().seed
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            if let Ok(v) = event_target_value(&ev).trim().parse::<u64>() {
                                next.seed = v;
                            }
                            write_seed(next);
                        }
                    />
                </label>
                <button type="button" data-testid="gpu-selftest-rerun" on:click=move |_| reruns.update(|n| *n += 1)>
                    {t!(i18n, gpu.selftest_rerun)}
                </button>
            </form>
            <Transition fallback=move || view! { <p class="running" role="status">{t!(i18n, gpu.selftest_running)}</p> }>
                {move || Suspend::new(async move {
                    let report = report.await;
                    // Only a bool crosses the await: wasm's GPU handles are not Send.
                    let on_gpu = matches!(backend.await, Backend::Gpu(_));
                    match report {
                        Ok(report) => view! { <SelfTestResult report on_gpu/> }.into_any(),
                        Err(e) => {
                            let error = e.to_string();
                            view! {
                                <p class="error" role="alert" data-testid="gpu-selftest-failure">
                                    {move || fill(t_string!(i18n, gpu.selftest_failed), &[("error", &error)])}
                                </p>
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SelfTestResult(report: SelfTestReport, on_gpu: bool) -> impl IntoView {
    let i18n = use_i18n();
    let GemmShape { m, k, n } = report.problem.shape;
    let passed = report.passed();
    let seed = report.problem.seed;
    let max_abs_error = report.max_abs_error;
    let backend_ms = format!("{:.1}", report.backend_ms);
    let error_text = move || {
        let error = if max_abs_error == 0.0 {
            t_string!(i18n, gpu.selftest_identical).to_string()
        } else {
            format!("{max_abs_error:.2e}")
        };
        let tolerance = format!("{SELFTEST_TOLERANCE:.0e}");
        fill(
            t_string!(i18n, gpu.selftest_error_value),
            &[("error", &error), ("tolerance", &tolerance)],
        )
    };
    view! {
        <dl class="result" data-testid="gpu-selftest-result" data-shape=format!("{m}x{k}x{n}")>
            <dt>{t!(i18n, gpu.selftest_verdict)}</dt>
            <dd
                class=if passed { "pass" } else { "fail" }
                data-testid="gpu-selftest-status"
                data-value=if passed { "pass" } else { "fail" }
            >
                {move || if passed { t_string!(i18n, gpu.selftest_pass) } else { t_string!(i18n, gpu.selftest_fail) }}
            </dd>
            <dt>{t!(i18n, gpu.selftest_max_diff)}</dt>
            <dd data-testid="gpu-selftest-error" data-value=report.max_abs_error.to_string()>
                {error_text}
            </dd>
            <dt>{t!(i18n, gpu.selftest_problem)}</dt>
            <dd>
                {move || fill(
                    t_string!(i18n, gpu.selftest_problem_value),
                    &[("m", &m), ("k", &k), ("n", &n), ("seed", &seed)],
                )}
            </dd>
            <dt>
                {move || if on_gpu { t_string!(i18n, gpu.selftest_time_gpu) } else { t_string!(i18n, gpu.selftest_time_cpu) }}
            </dt>
            <dd data-testid="gpu-selftest-ms" data-value=report.backend_ms.to_string()>
                {move || {
                    let template = if on_gpu { t_string!(i18n, gpu.selftest_ms_gpu) } else { t_string!(i18n, gpu.selftest_ms_cpu) };
                    fill(template, &[("ms", &backend_ms)])
                }}
            </dd>
            <dt>{t!(i18n, gpu.selftest_time_reference)}</dt>
            <dd>{format!("{:.1} ms", report.reference_ms)}</dd>
            <dt>{t!(i18n, gpu.selftest_checksum)}</dt>
            <dd data-testid="gpu-selftest-checksum" data-value=report.checksum.to_string()>
                {format!("{:.6}", report.checksum)}
            </dd>
        </dl>
        <p class="note">{t!(i18n, gpu.selftest_clock_note)}</p>
    }
}
