//! `/gpu` self-test: a seeded f32 multiply on the live backend against the
//! CPU reference, with the error and the time it took.

use compute::{
    kernels::gemm::GemmShape,
    selftest::{run_selftest, SelfTestProblem, SelfTestReport, SELFTEST_TOLERANCE},
    Backend,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::UrlNotices;
use crate::{
    live_backend::LiveBackend,
    url_state::{use_widget_state, WidgetState},
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
    fn validate(&self) -> Result<(), String> {
        if [self.m, self.k, self.n]
            .iter()
            .all(|d| (1..=MAX_DIM).contains(d))
        {
            Ok(())
        } else {
            Err(format!("m, k and n must be 1 to {MAX_DIM}"))
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
                          label: &'static str,
                          get: fn(&GpuSelfTestState) -> u32,
                          set: fn(&mut GpuSelfTestState, u32)| {
        let write = write.clone();
        view! {
            <label>
                <span>{label}</span>
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
            <h2 id="gpu-selftest-title">"Self-test: a tiled matrix multiply"</h2>
            <p>
                "Multiplies two seeded random matrices (entries in [-1, 1)) with glassbox's WGSL kernel, "
                "then again with the CPU reference (candle), and reports the largest difference."
            </p>
            <UrlNotices notices=notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                {dim_input("m", "m (rows of A)", |s| s.m, |s, v| s.m = v)}
                {dim_input("k", "k (shared)", |s| s.k, |s, v| s.k = v)}
                {dim_input("n", "n (columns of B)", |s| s.n, |s, v| s.n = v)}
                <label>
                    <span>"seed"</span>
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
                    "Run again"
                </button>
            </form>
            <Transition fallback=|| view! { <p class="running" role="status">"Running…"</p> }>
                {move || Suspend::new(async move {
                    let report = report.await;
                    // Only a bool crosses the await: wasm's GPU handles are not Send.
                    let on_gpu = matches!(backend.await, Backend::Gpu(_));
                    match report {
                        Ok(report) => view! { <SelfTestResult report on_gpu/> }.into_any(),
                        Err(e) => view! {
                            <p class="error" role="alert" data-testid="gpu-selftest-failure">
                                "The self-test could not run: " {e.to_string()}
                            </p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SelfTestResult(report: SelfTestReport, on_gpu: bool) -> impl IntoView {
    let GemmShape { m, k, n } = report.problem.shape;
    let passed = report.passed();
    let (engine, steps) = if on_gpu {
        ("your GPU (WebGPU)", "upload, compile, run, read back")
    } else {
        ("the CPU fallback", "the same code as the reference")
    };
    let error_text = if report.max_abs_error == 0.0 {
        "0: bit-for-bit identical".to_string()
    } else {
        format!("{:.2e}", report.max_abs_error)
    };
    view! {
        <dl class="result" data-testid="gpu-selftest-result" data-shape=format!("{m}x{k}x{n}")>
            <dt>"Verdict"</dt>
            <dd
                class=if passed { "pass" } else { "fail" }
                data-testid="gpu-selftest-status"
                data-value=if passed { "pass" } else { "fail" }
            >
                {if passed { "✓ matches the CPU reference" } else { "✗ differs from the CPU reference" }}
            </dd>
            <dt>"Max |difference|"</dt>
            <dd data-testid="gpu-selftest-error" data-value=report.max_abs_error.to_string()>
                {format!("{error_text} (tolerance {SELFTEST_TOLERANCE:.0e})")}
            </dd>
            <dt>"Problem"</dt>
            <dd>{format!("A {m}×{k} · B {k}×{n}, seed {}", report.problem.seed)}</dd>
            <dt>{format!("Time on {engine}")}</dt>
            <dd data-testid="gpu-selftest-ms" data-value=report.backend_ms.to_string()>
                {format!("{:.1} ms ({steps})", report.backend_ms)}
            </dd>
            <dt>"Time on the CPU reference"</dt>
            <dd>{format!("{:.1} ms", report.reference_ms)}</dd>
            <dt>"Checksum (sum of C)"</dt>
            <dd data-testid="gpu-selftest-checksum" data-value=report.checksum.to_string()>
                {format!("{:.6}", report.checksum)}
            </dd>
        </dl>
        <p class="note">"Browsers round their clocks to about 0.1 ms, so very short times read as 0.0 or 0.1 ms."</p>
    }
}
