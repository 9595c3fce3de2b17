//! Set up and train a LoRA adapter here: on WebGPU the backward pass runs
//! in our WGSL kernels, on the CPU in candle's autodiff. The loss of every
//! step is drawn as it comes (one readback per step), with the held-out
//! loss on the poet's test poems every few steps, the speed, and what the
//! adapter costs against full fine-tuning.

use std::sync::Arc;

use compute::{
    backend::BackendChoice,
    models::llama::lora::{
        report::{sizes, Shape, ADAM_BYTES_PER_PARAM, LLAMA2_7B, LLAMA2_7B_SOURCE},
        Adapter, Targets,
    },
    reference::backprop::AdamW,
    Backend,
};
use leptos::{prelude::*, task::spawn_local};

use super::{escape, poet_name, targets_label, use_lora_state, LoraState, POET_SLUGS, RANKS};
use crate::{
    chapters::{
        autoregressive::{
            session::ModelLoadError,
            widgets::{next_frame, LoadStatus},
        },
        detr::session::{backend_name, now_ms},
        lora::session::{lora_session, Trainer, Yours, PAGE_BATCH, SEED},
    },
    i18n::{t, t_string, use_i18n},
    shell::{
        format::fill,
        format::{group, human_bytes},
        live_backend,
        widget::UrlNotices,
    },
};

/// A control's change to the state, given the control's new value.
type Edit = Box<dyn Fn(&mut LoraState, String)>;

/// Steps between two held-out evaluations.
const EVAL_EVERY: usize = 10;

/// A run's record, drawn as it grows.
#[derive(Debug, Clone, Default, PartialEq)]
struct Curve {
    /// The training loss of each step (nats per character).
    train: Vec<f32>,
    /// (steps done, held-out NLL).
    held_out: Vec<(usize, f64)>,
    /// Training time so far, pauses and evaluations excluded.
    ms: f64,
    tokens: usize,
    total: usize,
    on_gpu: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Idle,
    Loading,
    Running,
    Paused,
    Done,
}

#[component]
pub fn LoraTrain() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_lora_state();
    let yours = Yours::provide();
    let (progress, set_progress) = signal((0u64, 0u64));
    let (load_error, set_load_error) = signal(None::<ModelLoadError>);
    let run_error = RwSignal::new(None::<String>);
    let curve = RwSignal::new(Curve::default());
    let phase = RwSignal::new(Phase::Idle);
    let adapter_name = RwSignal::new(None::<String>);
    let config = RwSignal::new(None::<compute::models::llama::LlamaConfig>);
    let ticket = StoredValue::new(0u64);
    // The model's shape, for the sizes panel, once the session is in.
    spawn_local(async move {
        let backend = live_backend::backend().await;
        match lora_session(&backend, move |l, t| set_progress.set((l, t))).await {
            Ok(s) => {
                config.set(Some(s.llama.model.config));
                adapter_name.set(s.llama.adapter_name());
            }
            Err(e) => set_load_error.set(Some(e)),
        }
    });

    let train = move |_| {
        let s = state.get_untracked();
        let run = ticket.get_value() + 1;
        ticket.set_value(run);
        run_error.set(None);
        curve.set(Curve {
            total: s.steps as usize,
            ..Default::default()
        });
        phase.set(Phase::Loading);
        spawn_local(async move {
            let live = move || ticket.try_get_value() == Some(run);
            let backend = live_backend::backend().await;
            let session = match lora_session(&backend, move |l, t| set_progress.set((l, t))).await {
                Ok(s) => s,
                Err(e) => {
                    phase.set(Phase::Idle);
                    return set_load_error.set(Some(e));
                }
            };
            let poet = s.poet();
            let fresh = Adapter::init(&session.llama.model.config, s.config(), SEED);
            // The page's GPU, unless the visitor chose the CPU.
            let exec = match (&backend, live_backend::choice()) {
                (Backend::Gpu(exec), choice) if choice != BackendChoice::Cpu => Some(exec.clone()),
                _ => None,
            };
            if exec.is_some() {
                adapter_name.set(backend_adapter(&backend));
            }
            let mut trainer = match Trainer::new(&session, exec, &fresh, AdamW::with_lr(s.lr)) {
                Ok(t) => t,
                Err(e) => {
                    phase.set(Phase::Idle);
                    return run_error.set(Some(e.to_string()));
                }
            };
            curve.update(|c| c.on_gpu = trainer.on_gpu());
            let plan = session.poets[poet]
                .train
                .plan(PAGE_BATCH, s.steps as usize, SEED);
            let (held, _) = session.eval_sets(poet);
            phase.set(Phase::Running);
            for (i, batch) in plan.iter().enumerate() {
                if i % EVAL_EVERY == 0 {
                    match trainer.mean_nll(&held).await {
                        Ok(nll) => curve.update(|c| c.held_out.push((i, nll))),
                        Err(e) => return fail(run_error, phase, e.to_string()),
                    }
                }
                while phase.get_untracked() == Phase::Paused && live() {
                    gloo_timers::future::TimeoutFuture::new(100).await;
                }
                if !live() {
                    return;
                }
                let t0 = now_ms();
                match trainer.step(batch).await {
                    Ok(loss) => {
                        let ms = now_ms() - t0;
                        curve.update(|c| {
                            c.train.push(loss);
                            c.ms += ms;
                            c.tokens += batch.scored();
                        });
                    }
                    Err(e) => return fail(run_error, phase, e.to_string()),
                }
                next_frame().await;
            }
            match trainer.mean_nll(&held).await {
                Ok(nll) => curve.update(|c| c.held_out.push((plan.len(), nll))),
                Err(e) => return fail(run_error, phase, e.to_string()),
            }
            match trainer.adapter().await {
                Ok(a) => {
                    if live() {
                        yours.0.set(Some(Arc::new(a)));
                        phase.set(Phase::Done);
                        live_backend::result_shown();
                    }
                }
                Err(e) => fail(run_error, phase, e.to_string()),
            }
        });
    };

    let setter = move |f: Edit| {
        let write = write.clone();
        move |ev: web_sys::Event| {
            let mut s = state.get_untracked();
            f(&mut s, event_target_value(&ev));
            write(s);
        }
    };
    let busy = move || matches!(phase.get(), Phase::Loading | Phase::Running | Phase::Paused);

    view! {
        <section class="widget lora-train" data-testid="lora-train-widget">
            <h3>{t!(i18n, lora.train_title)}</h3>
            <UrlNotices notices/>
            <LoadStatus
                what=Signal::derive(move || t_string!(i18n, lora.what).to_string())
                progress
                error=load_error
            />
            <fieldset class="controls" disabled=busy>
                <legend>{t!(i18n, lora.setup)}</legend>
                <label>
                    {t!(i18n, lora.poet)}
                    <select data-testid="lora-poet" on:change=setter(Box::new(|s, v| s.poet = v))>
                        {POET_SLUGS.iter().enumerate().map(|(i, &slug)| view! {
                            <option value=slug selected=move || state.get().poet == slug>{poet_name(i)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    {t!(i18n, lora.rank)}
                    <select data-testid="lora-rank" on:change=setter(Box::new(|s, v| s.rank = v.parse().unwrap_or(4)))>
                        {RANKS.iter().map(|&r| view! {
                            <option value=r selected=move || state.get().rank == r>{r}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    {t!(i18n, lora.targets)}
                    <select data-testid="lora-targets" on:change=setter(Box::new(|s, v| s.targets = v))>
                        {Targets::ALL.iter().map(|&tg| view! {
                            <option value=tg.key() selected=move || state.get().targets == tg.key()>
                                {move || targets_label(i18n.get_locale(), tg)}
                            </option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "α"
                    <input type="number" min="0.5" max="64" step="0.5" data-testid="lora-alpha"
                        prop:value=move || state.get().alpha.to_string()
                        on:change=setter(Box::new(|s, v| s.alpha = v.parse().unwrap_or(8.0)))/>
                </label>
                <label>
                    {t!(i18n, lora.lr)}
                    <input type="number" min="0.00001" max="0.1" step="0.0005" data-testid="lora-lr"
                        prop:value=move || state.get().lr.to_string()
                        on:change=setter(Box::new(|s, v| s.lr = v.parse().unwrap_or(0.002)))/>
                </label>
                <label>
                    {t!(i18n, lora.steps)}
                    <input type="number" min="1" max="2000" step="10" data-testid="lora-steps"
                        prop:value=move || state.get().steps.to_string()
                        on:change=setter(Box::new(|s, v| s.steps = v.parse().unwrap_or(60)))/>
                </label>
            </fieldset>
            <p class="note">
                {move || {
                    let s = state.get();
                    fill(t_string!(i18n, lora.batch_note), &[
                        ("batch", &PAGE_BATCH),
                        ("scale", &format!("{:.2}", s.config().scale())),
                    ])
                }}
            </p>
            <div class="button-row">
                <button type="button" class="primary" data-testid="lora-train" on:click=train disabled=busy>
                    {t!(i18n, lora.train)}
                </button>
                <button
                    type="button"
                    data-testid="lora-pause"
                    disabled=move || !matches!(phase.get(), Phase::Running | Phase::Paused)
                    aria-pressed=move || (phase.get() == Phase::Paused).to_string()
                    on:click=move |_| phase.update(|p| *p = if *p == Phase::Paused { Phase::Running } else { Phase::Paused })
                >
                    {move || if phase.get() == Phase::Paused { t_string!(i18n, lora.resume) } else { t_string!(i18n, lora.pause) }}
                </button>
            </div>
            {move || run_error.get().map(|e| view! {
                <p class="error" role="alert" data-testid="lora-error">{fill(t_string!(i18n, lora.run_failed), &[("detail", &e)])}</p>
            })}
            <Progress curve phase/>
            <LossPlot curve/>
            <Speed curve adapter_name/>
            <Sizes state config/>
        </section>
    }
}

fn backend_adapter(backend: &Backend) -> Option<String> {
    match backend {
        Backend::Gpu(exec) => Some(exec.ctx().summary().adapter_name),
        Backend::Cpu(_) => None,
    }
}

fn fail(run_error: RwSignal<Option<String>>, phase: RwSignal<Phase>, e: String) {
    run_error.set(Some(e));
    phase.set(Phase::Idle);
}

#[component]
fn Progress(curve: RwSignal<Curve>, phase: RwSignal<Phase>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let c = curve.get();
        let p = phase.get();
        (p != Phase::Idle || !c.train.is_empty()).then(|| {
            let status = match p {
                Phase::Loading => t_string!(i18n, lora.preparing).to_string(),
                Phase::Paused => t_string!(i18n, lora.paused).to_string(),
                Phase::Done => t_string!(i18n, lora.done).to_string(),
                _ => fill(
                    t_string!(i18n, lora.step_of),
                    &[("done", &c.train.len()), ("total", &c.total)],
                ),
            };
            view! {
                <p role="status" data-testid="lora-progress">
                    <progress max=c.total.max(1) value=c.train.len()></progress>
                    " " {status}
                </p>
            }
        })
    }
}

#[component]
fn LossPlot(curve: RwSignal<Curve>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let c = curve.get();
        let locale = i18n.get_locale();
        let steps = c.train.len();
        let first = c.train.first().copied().unwrap_or(0.0);
        let last = c.train.last().copied().unwrap_or(0.0);
        let (w, h, pad) = (480.0f64, 220.0f64, 40.0f64);
        let values: Vec<f64> = c
            .train
            .iter()
            .map(|&v| v as f64)
            .chain(c.held_out.iter().map(|p| p.1))
            .collect();
        let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if values.is_empty() {
            (0.0, 1.0)
        } else {
            (lo - 0.05, hi + 0.05)
        };
        let n = c.total.max(1) as f64;
        let x = |s: f64| pad + s / n * (w - 2.0 * pad);
        let y = |v: f64| h - pad - (v - lo) / (hi - lo).max(1e-9) * (h - 2.0 * pad);
        let train_points: Vec<String> = c
            .train
            .iter()
            .enumerate()
            .map(|(i, &v)| format!("{:.1},{:.1}", x(i as f64 + 1.0), y(v as f64)))
            .collect();
        let held_points: Vec<String> = c
            .held_out
            .iter()
            .map(|&(s, v)| format!("{:.1},{:.1}", x(s as f64), y(v)))
            .collect();
        let mut svg = format!(
            r#"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{}"><line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="currentColor"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{b}" stroke="currentColor"/>"#,
            escape(td_string_plot(locale)),
            b = h - pad,
            r = w - pad,
        );
        for v in [lo, hi] {
            svg += &format!(
                r#"<text fill="currentColor" x="{}" y="{:.1}" text-anchor="end" font-size="10">{v:.2}</text>"#,
                pad - 4.0,
                y(v) + 4.0
            );
        }
        svg += &format!(
            r#"<text fill="currentColor" x="{}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
            w / 2.0,
            h - 8.0,
            escape(&fill(
                crate::i18n::td_string!(locale, lora.plot_x),
                &[("total", &c.total)]
            ))
        );
        svg += &format!(
            r##"<polyline points="{}" fill="none" stroke="#1d4ed8" stroke-width="1.5"/><polyline points="{}" fill="none" stroke="#b45309" stroke-width="2" stroke-dasharray="4 3"/>"##,
            train_points.join(" "),
            held_points.join(" ")
        );
        for &(s, v) in &c.held_out {
            svg += &format!(
                r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#b45309"><title>{s}: {v:.4}</title></circle>"##,
                x(s as f64),
                y(v)
            );
        }
        svg += "</svg>";
        let legend = format!(
            r##"<ul class="legend"><li><span class="swatch" style="background:#1d4ed8"></span>{}</li><li><span class="swatch" style="background:#b45309"></span>{}</li></ul>"##,
            escape(crate::i18n::td_string!(locale, lora.legend_train)),
            escape(crate::i18n::td_string!(locale, lora.legend_held))
        );
        let summary = match (c.held_out.first(), c.held_out.last()) {
            (Some(a), Some(b)) if steps > 0 => fill(
                crate::i18n::td_string!(locale, lora.loss_summary),
                &[
                    ("steps", &steps),
                    ("first", &format!("{first:.3}")),
                    ("last", &format!("{last:.3}")),
                    ("held0", &format!("{:.3}", a.1)),
                    ("held1", &format!("{:.3}", b.1)),
                ],
            ),
            _ => String::new(),
        };
        view! {
            <figure
                class="scaling-plot lora-loss"
                data-testid="lora-loss"
                data-steps=steps
                data-first=first.to_string()
                data-last=last.to_string()
                inner_html=svg + &legend
            ></figure>
            <p data-testid="lora-loss-summary">{summary}</p>
        }
    }
}

fn td_string_plot(locale: crate::i18n::Locale) -> &'static str {
    crate::i18n::td_string!(locale, lora.plot_label)
}

#[component]
fn Speed(curve: RwSignal<Curve>, adapter_name: RwSignal<Option<String>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let c = curve.get();
        (c.ms > 0.0).then(|| {
            let secs = c.ms / 1000.0;
            let locale = i18n.get_locale();
            let name = if c.on_gpu { adapter_name.get() } else { None };
            let on = backend_name(name.as_deref(), locale);
            view! {
                <p data-testid="lora-speed">
                    {fill(t_string!(i18n, lora.speed), &[
                        ("steps", &format!("{:.2}", c.train.len() as f64 / secs)),
                        ("tokens", &group((c.tokens as f64 / secs) as u64)),
                        ("backend", &on),
                    ])}
                </p>
            }
        })
    }
}

/// What trains against what is frozen, and AdamW's memory for this
/// adapter against full fine-tuning, here and at LLaMA-2-7B's size.
#[component]
fn Sizes(
    state: Memo<LoraState>,
    config: RwSignal<Option<compute::models::llama::LlamaConfig>>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let c = config.get()?;
        let s = state.get();
        let lora = s.config();
        let here = sizes(&Shape::of(&c), &lora);
        let big = sizes(&LLAMA2_7B, &lora);
        let row = |what: String, trained: usize, opt: usize| {
            view! {
                <tr>
                    <th scope="row">{what}</th>
                    <td>{group(trained as u64)}</td>
                    <td>{human_bytes(opt as u64)}</td>
                </tr>
            }
        };
        Some(view! {
            <div class="table-scroll" tabindex="0"><table class="lora-sizes" data-testid="lora-sizes" data-lora=here.lora_params data-frozen=here.full_params>
                <caption>{move || fill(t_string!(i18n, lora.sizes_caption), &[("bytes", &ADAM_BYTES_PER_PARAM)])}</caption>
                <thead><tr>
                    <th scope="col">{t!(i18n, lora.sizes_what)}</th>
                    <th scope="col">{t!(i18n, lora.sizes_params)}</th>
                    <th scope="col">{t!(i18n, lora.sizes_optimizer)}</th>
                </tr></thead>
                <tbody>
                    {row(fill(t_string!(i18n, lora.sizes_lora_here), &[("share", &format!("{:.2}", 100.0 * here.lora_params as f64 / here.full_params as f64))]), here.lora_params, here.lora_optimizer_bytes)}
                    {row(t_string!(i18n, lora.sizes_full_here).to_string(), here.full_params, here.full_optimizer_bytes)}
                    {row(t_string!(i18n, lora.sizes_lora_7b).to_string(), big.lora_params, big.lora_optimizer_bytes)}
                    {row(t_string!(i18n, lora.sizes_full_7b).to_string(), big.full_params, big.full_optimizer_bytes)}
                </tbody>
            </table></div>
            <div class="source note">{t!(i18n, lora.sizes_source)} " " <cite lang="en">{LLAMA2_7B_SOURCE}</cite></div>
        })
    }
}
