//! You are the labeller: two poems of one form from the current policy
//! (chapter 4's model with the visitor's adapter), the visitor picks the
//! better or lets the rules pick. Every few picks, DPO steps run on the
//! picks so far: on the page's GPU with chapter 5's training kernels and a
//! DPO loss, or on the CPU with candle's autodiff. The frozen base, without
//! the adapter, is π_ref. A curve shows the true reward of fresh samples
//! after each round.

use std::{cell::RefCell, rc::Rc, sync::Arc};

use compute::{
    align::{
        dpo::{reference_logps, CpuDpo, DpoStep, Preference},
        poem_seed,
        rules::{failed, reward},
        EVAL_SAMPLING,
    },
    backend::BackendChoice,
    models::llama::{
        lora::{cpu::Frozen, gpu::GpuTrainer, Adapter, LoraConfig, Targets, SEED},
        sampling::Generation,
    },
    reference::backprop::AdamW,
    tang::{Form, EOS},
    Backend, ComputeError, Executor,
};
use leptos::{prelude::*, task::spawn_local};

use super::{use_align_state, BETAS};
use crate::{
    chapters::{
        align::session::{align_session, AlignSession},
        autoregressive::{session::ModelLoadError, widgets::LoadStatus},
    },
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, live_backend, widget::UrlNotices},
};

/// Picks between two DPO rounds, and steps a round.
pub const PICKS_PER_ROUND: usize = 4;
pub const STEPS_PER_ROUND: usize = 5;
/// A round trains on at most this many of the latest pairs.
pub const PAIRS_PER_STEP: usize = 8;
/// Fresh samples scored after each round: two per form, the same seeds
/// every round, so the curve compares like with like.
pub const FRESH_PER_FORM: usize = 2;
pub const FRESH_SEED: u64 = 77;
pub const LR: f32 = 2e-3;
/// Rank 4 on W_q and W_v, as chapter 5's page trains.
pub const LORA: LoraConfig = LoraConfig {
    rank: 4,
    alpha: 8.0,
    targets: Targets::Qv,
};

/// DPO on the page's backend.
enum DpoTrainer {
    Gpu(Rc<Executor>, Box<GpuTrainer>),
    Cpu(Box<CpuDpo>),
}

impl DpoTrainer {
    async fn step(&mut self, pairs: &[Preference], beta: f64) -> Result<DpoStep, ComputeError> {
        match self {
            DpoTrainer::Gpu(exec, t) => t.dpo_step(exec, pairs, beta).await,
            DpoTrainer::Cpu(t) => {
                t.beta = beta;
                t.step(pairs)
            }
        }
    }

    async fn adapter(&self) -> Result<Adapter, ComputeError> {
        match self {
            DpoTrainer::Gpu(exec, t) => t.adapter(exec).await,
            DpoTrainer::Cpu(t) => Ok(t.adapter.clone()),
        }
    }
}

/// A poem drawn for the visitor, with the rules' verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    pub form: Form,
    pub tokens: Vec<u32>,
    pub text: String,
    pub reward: f64,
    pub failed: usize,
}

#[derive(Default)]
struct Lab {
    trainer: Option<DpoTrainer>,
    adapter: Option<Arc<Adapter>>,
    pairs: Vec<Preference>,
    drawn: usize,
}

async fn draw(
    session: &AlignSession,
    adapter: Option<Arc<Adapter>>,
    form: Form,
    seed: u64,
) -> Result<Drawn, ComputeError> {
    let g = Generation::poem(form, EVAL_SAMPLING, seed);
    let (trace, _) = session.llama.generate_adapted(&g, adapter).await?;
    let body = &trace.tokens[2..];
    let end = body
        .iter()
        .position(|&t| t == EOS)
        .map_or(trace.tokens.len(), |e| e + 3);
    let tokens = trace.tokens[..end.min(trace.tokens.len())].to_vec();
    let text = session
        .llama
        .tokenizer
        .decode(&body[..body.iter().position(|&t| t == EOS).unwrap_or(body.len())]);
    let table = &session.rules.table;
    Ok(Drawn {
        form,
        reward: reward(table, form, &text),
        failed: failed(table, form, &text),
        tokens,
        text,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Idle,
    Loading,
    Choosing,
    Working,
}

#[component]
pub fn AlignLabeller() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_align_state();
    let lab = Rc::new(RefCell::new(Lab::default()));
    let session = RwSignal::new_local(None::<Rc<AlignSession>>);
    let pair = RwSignal::new(None::<(Drawn, Drawn)>);
    let losses = RwSignal::new(Vec::<f64>::new());
    let curve = RwSignal::new(Vec::<f64>::new());
    let picks = RwSignal::new(0usize);
    let on_gpu = RwSignal::new(false);
    let phase = RwSignal::new(Phase::Idle);
    let note = RwSignal::new(None::<String>);
    let run_error = RwSignal::new(None::<String>);
    let (progress, set_progress) = signal((0u64, 0u64));
    let (load_error, set_load_error) = signal(None::<ModelLoadError>);

    // The mean true reward of the fresh samples under the current adapter.
    let fresh = move |s: Rc<AlignSession>, adapter: Option<Arc<Adapter>>| async move {
        let mut total = 0.0;
        let mut n = 0;
        for form in Form::ALL {
            for i in 0..FRESH_PER_FORM {
                let d = draw(&s, adapter.clone(), form, poem_seed(FRESH_SEED, i)).await?;
                total += d.reward;
                n += 1;
            }
        }
        Ok::<f64, ComputeError>(total / n as f64)
    };
    let next_pair = {
        let lab = lab.clone();
        move |s: Rc<AlignSession>| {
            let lab = lab.clone();
            async move {
                let (k, adapter) = {
                    let mut l = lab.borrow_mut();
                    l.drawn += 1;
                    (l.drawn - 1, l.adapter.clone())
                };
                let seed = state.get_untracked().seed;
                let form = Form::ALL[k % 4];
                let a = draw(&s, adapter.clone(), form, poem_seed(seed + 1000, 2 * k)).await?;
                let b = draw(&s, adapter, form, poem_seed(seed + 1000, 2 * k + 1)).await?;
                pair.set(Some((a, b)));
                Ok::<(), ComputeError>(())
            }
        }
    };

    let start = {
        let lab = lab.clone();
        let next_pair = next_pair.clone();
        move |_| {
            let lab = lab.clone();
            let next_pair = next_pair.clone();
            phase.set(Phase::Loading);
            run_error.set(None);
            spawn_local(async move {
                let backend = live_backend::backend().await;
                let s = match align_session(&backend, move |l, t| set_progress.set((l, t))).await {
                    Ok(s) => s,
                    Err(e) => {
                        phase.set(Phase::Idle);
                        return set_load_error.set(Some(e));
                    }
                };
                let fresh_adapter = Adapter::init(&s.llama.model.config, LORA, SEED);
                let exec = match (&backend, live_backend::choice()) {
                    (Backend::Gpu(exec), c) if c != BackendChoice::Cpu => Some(exec.clone()),
                    _ => None,
                };
                let trainer = match exec {
                    Some(exec) => {
                        GpuTrainer::new(&exec, &s.llama.model, &fresh_adapter, AdamW::with_lr(LR))
                            .map(|t| DpoTrainer::Gpu(exec, Box::new(t)))
                    }
                    None => Frozen::new(&s.llama.model).map(|f| {
                        DpoTrainer::Cpu(Box::new(CpuDpo::new(
                            f,
                            fresh_adapter.clone(),
                            AdamW::with_lr(LR),
                            0.1,
                        )))
                    }),
                };
                let trainer = match trainer {
                    Ok(t) => t,
                    Err(e) => {
                        phase.set(Phase::Idle);
                        return run_error.set(Some(e.to_string()));
                    }
                };
                on_gpu.set(matches!(trainer, DpoTrainer::Gpu(..)));
                *lab.borrow_mut() = Lab {
                    trainer: Some(trainer),
                    ..Lab::default()
                };
                losses.set(Vec::new());
                curve.set(Vec::new());
                picks.set(0);
                session.set(Some(s.clone()));
                phase.set(Phase::Working);
                let result = async {
                    curve.set(vec![fresh(s.clone(), None).await?]);
                    next_pair(s.clone()).await
                }
                .await;
                match result {
                    Ok(()) => phase.set(Phase::Choosing),
                    Err(e) => {
                        phase.set(Phase::Idle);
                        run_error.set(Some(e.to_string()));
                    }
                }
            });
        }
    };

    // 0: A is better, 1: B, 2: the rules decide.
    let choose = {
        let lab = lab.clone();
        move |which: usize| {
            let lab = lab.clone();
            let next_pair = next_pair.clone();
            let (Some(s), Some((a, b))) = (session.get_untracked(), pair.get_untracked()) else {
                return;
            };
            phase.set(Phase::Working);
            note.set(None);
            let beta = state.get_untracked().beta as f64;
            spawn_local(async move {
                let result = async {
                    let first_better = match which {
                        0 => Some(true),
                        1 => Some(false),
                        _ if a.reward == b.reward => None,
                        _ => Some(a.reward > b.reward),
                    };
                    let Some(first_better) = first_better else {
                        note.set(Some(t_string!(i18n, align.lab_tie).to_string()));
                        return next_pair(s.clone()).await;
                    };
                    let (c, r) = if first_better { (a, b) } else { (b, a) };
                    let refs = reference_logps(&s.frozen, &[&c.tokens, &r.tokens], 2)?;
                    lab.borrow_mut().pairs.push(Preference {
                        chosen: c.tokens,
                        rejected: r.tokens,
                        ref_chosen: refs[0],
                        ref_rejected: refs[1],
                    });
                    picks.update(|p| *p += 1);
                    if picks.get_untracked().is_multiple_of(PICKS_PER_ROUND) {
                        let (mut trainer, batch) = {
                            let mut l = lab.borrow_mut();
                            let from = l.pairs.len().saturating_sub(PAIRS_PER_STEP);
                            (l.trainer.take(), l.pairs[from..].to_vec())
                        };
                        if let Some(t) = trainer.as_mut() {
                            for _ in 0..STEPS_PER_ROUND {
                                let step = t.step(&batch, beta).await?;
                                losses.update(|v| v.push(step.loss));
                            }
                            let adapter = Arc::new(t.adapter().await?);
                            lab.borrow_mut().adapter = Some(adapter.clone());
                            let r = fresh(s.clone(), Some(adapter)).await?;
                            curve.update(|v| v.push(r));
                            live_backend::result_shown();
                        }
                        lab.borrow_mut().trainer = trainer;
                    }
                    next_pair(s.clone()).await
                }
                .await;
                match result {
                    Ok(()) => phase.set(Phase::Choosing),
                    Err(e) => {
                        phase.set(Phase::Choosing);
                        run_error.set(Some(e.to_string()));
                    }
                }
            });
        }
    };
    let choose_a = choose.clone();
    let choose_b = choose.clone();
    let choose_rules = choose;
    let set_beta = move |ev: web_sys::Event| {
        if let Ok(b) = event_target_value(&ev).parse::<f32>() {
            let mut s = state.get_untracked();
            s.beta = b;
            write(s);
        }
    };
    let choosing = move || phase.get() == Phase::Choosing;

    view! {
        <section class="widget align-labeller" data-testid="align-labeller-widget">
            <h3>{t!(i18n, align.lab_title)}</h3>
            <UrlNotices notices/>
            <p class="note">{move || fill(t_string!(i18n, align.lab_intro), &[
                ("picks", &PICKS_PER_ROUND), ("steps", &STEPS_PER_ROUND),
            ])}</p>
            <div class="controls">
                <label>"β "
                    <select data-testid="align-beta" on:change=set_beta>
                        {BETAS.into_iter().map(|b| view! {
                            <option value=b.to_string() selected=move || state.get().beta == b>{b.to_string()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="button" data-testid="align-lab-start" on:click=start
                    disabled=move || matches!(phase.get(), Phase::Loading | Phase::Working)>
                    {move || if session.get().is_some() { t_string!(i18n, align.lab_restart) } else { t_string!(i18n, align.lab_start) }}
                </button>
            </div>
            <LoadStatus
                what=Signal::derive(move || t_string!(i18n, align.what).to_string())
                progress
                error=load_error
            />
            {move || (phase.get() == Phase::Working).then(|| view! { <p role="status">{t!(i18n, align.working)}</p> })}
            {move || run_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || note.get().map(|n| view! { <p role="status">{n}</p> })}
            {move || pair.get().map(|(a, b)| view! {
                <div class="align-pair" data-testid="align-pair">
                    {[(a, "A"), (b, "B")].into_iter().map(|(d, name)| view! {
                        <figure class="align-candidate" data-reward=format!("{:.4}", d.reward)>
                            <figcaption>{name}" · "<span lang="zh">{d.form.name()}</span></figcaption>
                            <p lang="zh" class="poem">{d.text.clone()}</p>
                            <p class="note">{move || fill(t_string!(i18n, align.lab_rules_say), &[
                                ("failed", &d.failed), ("reward", &format!("{:.3}", d.reward)),
                            ])}</p>
                        </figure>
                    }).collect_view()}
                </div>
            })}
            <div class="controls" role="group" aria-label=move || t_string!(i18n, align.lab_choose)>
                <button type="button" data-testid="align-pick-a" disabled=move || !choosing() on:click=move |_| choose_a(0)>{t!(i18n, align.lab_a)}</button>
                <button type="button" data-testid="align-pick-b" disabled=move || !choosing() on:click=move |_| choose_b(1)>{t!(i18n, align.lab_b)}</button>
                <button type="button" data-testid="align-pick-rules" disabled=move || !choosing() on:click=move |_| choose_rules(2)>{t!(i18n, align.lab_rules)}</button>
            </div>
            <p data-testid="align-lab-status" data-picks=move || picks.get() data-gpu=move || on_gpu.get().to_string()>
                {move || fill(t_string!(i18n, align.lab_status), &[
                    ("picks", &picks.get()),
                    ("steps", &losses.get().len()),
                    ("backend", &if on_gpu.get() { "WebGPU" } else { "CPU" }),
                ])}
            </p>
            <p data-testid="align-lab-losses"
                data-losses={move || losses.get().iter().map(|l| format!("{l:.6}")).collect::<Vec<_>>().join(",")}>
                {move || {
                    let l = losses.get();
                    (!l.is_empty()).then(|| fill(t_string!(i18n, align.lab_losses), &[
                        ("losses", &l.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(" → ")),
                    ]))
                }}
            </p>
            {move || {
                let c = curve.get();
                let exact = c.iter().map(|v| format!("{v:.4}")).collect::<Vec<_>>().join(",");
                let shown = c.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(" → ");
                let points = curve_points(&c);
                (!c.is_empty()).then(|| view! {
                    <p data-testid="align-lab-curve" data-rewards=exact>
                        {move || fill(t_string!(i18n, align.lab_curve), &[
                            ("rewards", &shown),
                            ("n", &(4 * FRESH_PER_FORM)),
                        ])}
                    </p>
                    <svg class="align-lab-curve" viewBox="0 0 300 80" role="img"
                        aria-label=move || t_string!(i18n, align.lab_curve_alt)>
                        <polyline class="series truth" points=points/>
                    </svg>
                })
            }}
        </section>
    }
}

/// The fresh samples' mean reward per round as a polyline in 300 × 80.
fn curve_points(c: &[f64]) -> String {
    let n = c.len().max(2) - 1;
    c.iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                10.0 + 280.0 * i as f64 / n as f64,
                75.0 - 70.0 * v
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}
