//! LLaMA's argument in miniature: the committed grid of model sizes ×
//! training tokens, its fitted L(N, D), and the size the fit says is best
//! at each compute budget (against the rule of thumb of about 20 tokens per
//! parameter). Also the speed of writing on each backend.

use compute::{backend::BackendChoice, Backend};
use leptos::{prelude::*, task::spawn_local};

use crate::{
    chapters::{
        autoregressive::session::ModelLoadError,
        detr::session::backend_name,
        llama::session::{llama_session, scaling_grid, ScalingGrid},
    },
    i18n::{t, t_string, td_string, use_i18n},
    shell::{format::fill, live_backend, math::Prose},
};

use super::{use_llama_state, write::Written};

/// Compute budgets the table asks the fit about, in FLOPs.
const BUDGETS: [f64; 4] = [1e11, 1e12, 1e13, 1e14];

/// The plot's frame: log10 tokens on x, NLL on y.
const W: f64 = 480.0;
const H: f64 = 260.0;
const PAD: f64 = 40.0;

#[component]
pub fn LlamaScaling() -> impl IntoView {
    let i18n = use_i18n();
    let grid = LocalResource::new(scaling_grid);
    // The plot as SVG markup: one string is far less wasm than a view tree.
    let plot = move |g: &ScalingGrid| {
        let locale = i18n.get_locale();
        let (x_lo, x_hi) = (5.0, 7.0);
        let (lo, hi) = g
            .runs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
                (a.min(r.test_nll), b.max(r.test_nll))
            });
        let (y_lo, y_hi) = (lo - 0.1, hi + 0.1);
        let x = |tokens: f64| PAD + (tokens.log10() - x_lo) / (x_hi - x_lo) * (W - 2.0 * PAD);
        let y = |nll: f64| H - PAD - (nll - y_lo) / (y_hi - y_lo) * (H - 2.0 * PAD);
        let mut sizes: Vec<f64> = g.runs.iter().map(|r| r.params).collect();
        sizes.sort_by(f64::total_cmp);
        sizes.dedup();
        let colours = ["#b45309", "#1d4ed8", "#047857", "#7c3aed"];
        let fit = g.fit;
        let mut svg = format!(
            r#"<svg viewBox="0 0 {W} {H}" role="img" aria-label="{}" data-testid="llama-scaling-plot"><line x1="{PAD}" y1="{b}" x2="{r}" y2="{b}" stroke="currentColor"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b}" stroke="currentColor"/>"#,
            escape(td_string!(locale, llama.scaling_plot_label)),
            b = H - PAD,
            r = W - PAD,
        );
        for e in 5..=7 {
            svg += &format!(
                r#"<text fill="currentColor" x="{:.1}" y="{}" text-anchor="middle" font-size="11">10^{e}</text>"#,
                x(10f64.powi(e)),
                H - PAD + 16.0
            );
        }
        svg += &format!(
            r#"<text fill="currentColor" x="{}" y="{}" text-anchor="middle" font-size="11">{}</text><text fill="currentColor" x="{}" y="{}" font-size="11">{}</text>"#,
            W / 2.0,
            H - 6.0,
            escape(td_string!(locale, llama.scaling_x)),
            PAD - 6.0,
            PAD - 10.0,
            escape(td_string!(locale, llama.scaling_y)),
        );
        for v in [y_lo, y_hi] {
            svg += &format!(
                r#"<text fill="currentColor" x="{}" y="{:.1}" text-anchor="end" font-size="10">{v:.1}</text>"#,
                PAD - 4.0,
                y(v) + 4.0
            );
        }
        let mut legend = String::from(r#"<ul class="legend">"#);
        for (i, &n) in sizes.iter().enumerate() {
            let points: Vec<String> = (0..=40)
                .map(|k| {
                    let t = 10f64.powf(x_lo + (x_hi - x_lo) * k as f64 / 40.0);
                    format!("{:.1},{:.1}", x(t), y(fit.loss(n, t)))
                })
                .collect();
            svg += &format!(
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/>"#,
                points.join(" "),
                colours[i % 4]
            );
            legend += &format!(
                r#"<li><span class="swatch" style="background:{}"></span>{}</li>"#,
                colours[i % 4],
                escape(&fill(
                    td_string!(locale, llama.scaling_size),
                    &[("params", &format!("{:.0}", n / 1000.0))]
                )),
            );
        }
        for r in &g.runs {
            let i = sizes.iter().position(|&n| n == r.params).unwrap_or(0);
            svg += &format!(
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{}"><title>N = {:.0}, D = {:.0}: {:.3}</title></circle>"#,
                x(r.tokens),
                y(r.test_nll),
                colours[i % 4],
                r.params,
                r.tokens,
                r.test_nll
            );
        }
        svg += "</svg>";
        legend += "</ul>";
        view! { <figure class="scaling-plot" inner_html=svg + &legend></figure> }
    };
    let table = move |g: &ScalingGrid| {
        let runs = g.runs.len();
        let (lo, hi) = (1e4, 1e8);
        let fit = g.fit;
        let rows = BUDGETS
            .iter()
            .map(|&c| {
                let n = fit.best_params(c, lo, hi);
                let d = c / (6.0 * n);
                view! {
                    <tr>
                        <td>{format!("{c:.0e}")}</td>
                        <td>{format!("{:.0}", n)}</td>
                        <td>{format!("{:.0}", d)}</td>
                        <td data-testid="llama-scaling-ratio">{format!("{:.1}", d / n)}</td>
                        <td>{format!("{:.3}", fit.loss(n, d))}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <p data-testid="llama-scaling-fit">
                {move || fill(t_string!(i18n, llama.scaling_fit), &[
                    ("e", &format!("{:.2}", fit.e)), ("a", &format!("{:.1}", fit.a)), ("alpha", &format!("{:.2}", fit.alpha)),
                    ("b", &format!("{:.1}", fit.b)), ("beta", &format!("{:.2}", fit.beta)), ("rms", &format!("{:.3}", fit.rms)),
                    ("runs", &runs),
                ])}
            </p>
            <div class="table-scroll" tabindex="0">
                <table class="facts" data-testid="llama-scaling-table">
                    <thead><tr>
                        <th scope="col">{t!(i18n, llama.scaling_budget)}</th>
                        <th scope="col">{t!(i18n, llama.scaling_best_n)}</th>
                        <th scope="col">{t!(i18n, llama.scaling_best_d)}</th>
                        <th scope="col">{t!(i18n, llama.scaling_ratio)}</th>
                        <th scope="col">{t!(i18n, llama.scaling_loss)}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
    };
    view! {
        <section class="widget" data-testid="llama-scaling" aria-labelledby="llama-scaling-title">
            <h2 id="llama-scaling-title">{t!(i18n, llama.scaling_title)}</h2>
            <p>{move || view! { <Prose text=t_string!(i18n, llama.scaling_intro).to_string()/> }}</p>
            {move || match grid.get() {
                None => view! { <p role="status">{t!(i18n, llama.scaling_loading)}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> }.into_any(),
                Some(Ok(g)) => view! { {plot(&g)} {table(&g)} }.into_any(),
            }}
        </section>
    }
}

/// One backend's line in the speed widget.
#[derive(Clone, PartialEq)]
enum SpeedRow {
    /// Characters written in `ms` milliseconds on the named backend.
    Rate {
        webgpu: bool,
        name: String,
        chars: usize,
        ms: f64,
    },
    /// A backend that could not be timed, and why, in words.
    NotTimed { webgpu: bool, why: String },
}

/// What the speed widget is doing now.
#[derive(Clone, Copy, PartialEq)]
enum SpeedStage {
    Idle,
    Loading,
    TimingCpu,
    UploadingGpu,
    TimingGpu,
}

/// Characters per second writing the same poem on each backend the page
/// has: the CPU always, and WebGPU whenever the browser has it, even where
/// Auto chose the CPU for this model (its copy is uploaded on demand).
#[component]
pub fn LlamaSpeed() -> impl IntoView {
    let i18n = use_i18n();
    let (state, _, _) = use_llama_state();
    let rows = RwSignal::new(Vec::<SpeedRow>::new());
    let stage = RwSignal::new(SpeedStage::Idle);
    let (error, set_error) = signal(None::<ModelLoadError>);
    let time_both = move |_| {
        stage.set(SpeedStage::Loading);
        rows.set(Vec::new());
        set_error.set(None);
        let s = state.get_untracked();
        spawn_local(async move {
            let backend = live_backend::backend().await;
            let session = match llama_session(&backend, |_, _| {}).await {
                Ok(s) => s,
                Err(e) => {
                    stage.set(SpeedStage::Idle);
                    return set_error.set(Some(e));
                }
            };
            let locale = i18n.get_locale_untracked();
            let g = s.generation(&session.tokenizer, &session.s2t);
            let characters =
                |trace| Written::new(&session, g.clone(), trace, 0.0, false).characters();
            // A first pass warms up (pipelines, caches), the second is timed.
            stage.set(SpeedStage::TimingCpu);
            let _ = session.generate_on(&g, false).await;
            let cpu = match session.generate_on(&g, false).await {
                Ok((trace, ms)) => SpeedRow::Rate {
                    webgpu: false,
                    name: backend_name(None, locale),
                    chars: characters(trace),
                    ms,
                },
                Err(e) => SpeedRow::NotTimed {
                    webgpu: false,
                    why: e.to_string(),
                },
            };
            rows.update(|r| r.push(cpu));
            let gpu = match &backend {
                Backend::Cpu(reason) => SpeedRow::NotTimed {
                    webgpu: true,
                    why: live_backend::why_cpu(locale, reason),
                },
                Backend::Gpu(_) if live_backend::choice() == BackendChoice::Cpu => {
                    SpeedRow::NotTimed {
                        webgpu: true,
                        why: td_string!(locale, gpu.why_chosen).to_string(),
                    }
                }
                Backend::Gpu(exec) => {
                    stage.set(SpeedStage::TimingGpu);
                    let upload = || stage.set(SpeedStage::UploadingGpu);
                    let warm = session.generate_on_webgpu(exec, &g, upload).await;
                    stage.set(SpeedStage::TimingGpu);
                    let timed = match warm {
                        Ok(_) => session.generate_on_webgpu(exec, &g, || {}).await,
                        Err(e) => Err(e),
                    };
                    match timed {
                        Ok((trace, ms)) => SpeedRow::Rate {
                            webgpu: true,
                            name: backend_name(
                                Some(exec.ctx().summary().adapter_name.as_str()),
                                locale,
                            ),
                            chars: characters(trace),
                            ms,
                        },
                        Err(e) => SpeedRow::NotTimed {
                            webgpu: true,
                            why: e.to_string(),
                        },
                    }
                }
            };
            rows.update(|r| r.push(gpu));
            stage.set(SpeedStage::Idle);
        });
    };
    let status = move || {
        let key = match stage.get() {
            SpeedStage::Idle => return None,
            SpeedStage::Loading => t_string!(i18n, llama.speed_loading),
            SpeedStage::TimingCpu => t_string!(i18n, llama.speed_timing_cpu),
            SpeedStage::UploadingGpu => t_string!(i18n, llama.speed_uploading),
            SpeedStage::TimingGpu => t_string!(i18n, llama.speed_timing_gpu),
        };
        Some(key)
    };
    let line = move |row: SpeedRow| {
        let locale = i18n.get_locale();
        match row {
            SpeedRow::Rate {
                webgpu,
                name,
                chars,
                ms,
            } => {
                let rate = chars as f64 / (ms / 1000.0).max(1e-6);
                view! {
                    <li data-backend=if webgpu { "webgpu" } else { "cpu" } data-rate=format!("{rate:.1}")>
                        {fill(td_string!(locale, llama.speed_rate), &[
                            ("backend", &name),
                            ("rate", &format!("{rate:.0}")),
                            ("chars", &chars),
                            ("ms", &format!("{ms:.0}")),
                        ])}
                    </li>
                }
                .into_any()
            }
            SpeedRow::NotTimed { webgpu, why } => view! {
                <li data-backend=if webgpu { "webgpu" } else { "cpu" } data-unavailable="true">
                    {fill(td_string!(locale, llama.speed_not_timed), &[
                        ("backend", &if webgpu { "WebGPU" } else { td_string!(locale, detr.backend_cpu) }),
                        ("why", &why),
                    ])}
                </li>
            }
            .into_any(),
        }
    };
    view! {
        <section class="widget" data-testid="llama-speed" aria-labelledby="llama-speed-title">
            <h2 id="llama-speed-title">{t!(i18n, llama.speed_title)}</h2>
            <p>{t!(i18n, llama.speed_intro)}</p>
            <button type="button" data-testid="llama-speed-run" disabled=move || stage.get() != SpeedStage::Idle on:click=time_both>
                {t!(i18n, llama.speed_run)}
            </button>
            <p role="status" data-testid="llama-speed-status">{status}</p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> })}
            <ul data-testid="llama-speed-rates" data-count=move || rows.get().len()>
                {move || rows.get().into_iter().map(line).collect_view()}
            </ul>
        </section>
    }
}

/// Text for SVG markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
