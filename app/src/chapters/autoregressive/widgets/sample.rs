//! Sample: a digit drawn pixel by pixel, x_i ~ Bernoulli(p(x_i = 1 | x_<i)),
//! with the loop on the GPU. Each chunk of pixels is one submission and one
//! readback (the trace: pixels plus the probability each was drawn from).

use std::rc::Rc;

use compute::models::ar::{sigmoid, Mode, Trace, PIXELS, SIDE};
use leptos::{prelude::*, task::spawn_local};
use web_time::Instant;

use super::{
    next_frame,
    pixels::{Palette, PixelCanvas},
    use_ar_state, weights_of, LoadStatus, ModelSelect, SPEEDS,
};
use crate::{
    chapters::autoregressive::session::{runner, ModelLoadError},
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, live_backend, math::Prose, motion, widget::UrlNotices},
};

#[component]
pub fn ArSample() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_ar_state();
    let trace = RwSignal::new(None::<Trace>);
    // Samples play on arrival, unless the visitor asked for reduced motion.
    let playing = RwSignal::new(!motion::reduced());
    let pending_steps = RwSignal::new(0usize);
    let restarts = RwSignal::new(0u32);
    let (progress, set_progress) = signal((0u64, 0u64));
    let (error, set_error) = signal(None::<ModelLoadError>);
    let run_error = RwSignal::new(None::<String>);
    let elapsed_ms = RwSignal::new(0.0f64);
    let readbacks = RwSignal::new(0usize);
    // The GPU epoch this sample started in (it restarts after a lost GPU).
    let run_epoch = RwSignal::new(0u32);
    // Samples finished on this page: a long visit's progress.
    let finished = RwSignal::new(0u32);
    let speed = Memo::new(move |_| state.get().speed as usize);
    // Bumped on every restart: a running loop whose number is stale stops.
    let generation = StoredValue::new(0u64);

    // Only the model and the seed restart a sample (not the speed, nor
    // other widgets' fields of the shared state).
    let run = Memo::new(move |_| {
        let s = state.get();
        (s.kind(), s.seed)
    });
    Effect::new(move |_| {
        let (kind, seed) = run.get();
        restarts.track();
        // A lost GPU restarts the sample on the new device, playing.
        let epoch = live_backend::gpu_epoch();
        if epoch != run_epoch.get_untracked() && !motion::reduced() {
            playing.set(true);
        }
        run_epoch.set(epoch);
        let gen = generation.get_value() + 1;
        generation.set_value(gen);
        trace.set(None);
        run_error.set(None);
        elapsed_ms.set(0.0);
        readbacks.set(0);
        spawn_local(async move {
            let backend = live_backend::backend().await;
            let r = match runner(kind, &backend, move |l, t| set_progress.set((l, t))).await {
                Ok(r) => r,
                Err(e) => return set_error.set(Some(e)),
            };
            set_error.set(None);
            let runner = Rc::clone(&r);
            let zeros = vec![0.0; PIXELS];
            let mut chain = match runner.chain(&zeros, 0, Mode::Sample { seed }) {
                Ok(c) => c,
                Err(e) => return run_error.set(Some(e.to_string())),
            };
            trace.set(Some(chain.trace().clone()));
            loop {
                if generation.try_get_value() != Some(gen) {
                    return;
                }
                let k = if playing.get_untracked() {
                    speed.get_untracked()
                } else {
                    let k = pending_steps.get_untracked();
                    pending_steps.set(0);
                    k
                };
                if k > 0 {
                    let t0 = Instant::now();
                    match chain.advance(k).await {
                        Ok(t) => {
                            if generation.try_get_value() != Some(gen) {
                                return;
                            }
                            elapsed_ms.update(|ms| *ms += t0.elapsed().as_secs_f64() * 1e3);
                            readbacks.update(|n| *n += runner.on_gpu() as usize);
                            trace.set(Some(t.clone()));
                            if t.done == PIXELS {
                                finished.update(|n| *n += 1);
                                live_backend::result_shown();
                                playing.set(false);
                                return;
                            }
                        }
                        Err(e) => return run_error.set(Some(e.to_string())),
                    }
                }
                next_frame().await;
            }
        });
    });

    let done = move || trace.with(|t| t.as_ref().map_or(0, |t| t.done));
    let image = Signal::derive(move || {
        trace.with(|t| {
            t.as_ref().map_or(vec![f32::NAN; PIXELS], |t| {
                (0..PIXELS)
                    .map(|i| if i < t.done { t.image[i] } else { f32::NAN })
                    .collect()
            })
        })
    });
    let probs = Signal::derive(move || {
        trace.with(|t| {
            t.as_ref().map_or(vec![f32::NAN; PIXELS], |t| {
                t.logits
                    .iter()
                    .map(|&z| if z.is_nan() { z } else { sigmoid(z) })
                    .collect()
            })
        })
    });
    let marker = Signal::derive(move || {
        let d = done();
        (d < PIXELS && trace.with(Option::is_some)).then_some(d)
    });
    let write_seed = write.clone();
    let write_speed = write.clone();

    view! {
        <section class="widget" data-testid="ar-sample" aria-labelledby="ar-sample-title">
            <h2 id="ar-sample-title">{t!(i18n, autoregressive.sample_title)}</h2>
            <p>{move || view! { <Prose text=t_string!(i18n, autoregressive.sample_intro).to_string()/> }}</p>
            <UrlNotices notices=notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <ModelSelect state write=write.clone() testid="ar-sample-model"/>
                <label>
                    <span>{t!(i18n, autoregressive.sample_seed)}</span>
                    <input
                        type="number"
                        min="0"
                        data-testid="ar-sample-seed"
                        prop:value=move || state.get().seed
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            if let Ok(v) = event_target_value(&ev).trim().parse::<u64>() {
                                next.seed = v;
                            }
                            playing.set(true);
                            write_seed(next);
                        }
                    />
                </label>
                <label>
                    <span>{t!(i18n, autoregressive.sample_speed)}</span>
                    <select
                        data-testid="ar-sample-speed"
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            if let Ok(v) = event_target_value(&ev).parse::<u32>() {
                                next.speed = v;
                            }
                            write_speed(next);
                        }
                    >
                        {SPEEDS
                            .into_iter()
                            .map(|s| view! {
                                <option value=s selected=move || state.get().speed == s>
                                    {move || if s as usize == PIXELS {
                                        t_string!(i18n, autoregressive.sample_speed_all).to_string()
                                    } else {
                                        fill(t_string!(i18n, autoregressive.sample_speed_px), &[("speed", &s)])
                                    }}
                                </option>
                            })
                            .collect_view()}
                    </select>
                </label>
                <button
                    type="button"
                    data-testid="ar-sample-play"
                    aria-pressed=move || playing.get().to_string()
                    on:click=move |_| playing.update(|p| *p = !*p)
                >
                    {move || if playing.get() { t_string!(i18n, autoregressive.sample_pause) } else { t_string!(i18n, autoregressive.sample_play) }}
                </button>
                <button
                    type="button"
                    data-testid="ar-sample-step"
                    on:click=move |_| {
                        playing.set(false);
                        pending_steps.update(|n| *n += 1);
                    }
                >
                    {t!(i18n, autoregressive.sample_step)}
                </button>
                <button
                    type="button"
                    data-testid="ar-sample-restart"
                    on:click=move |_| {
                        playing.set(true);
                        restarts.update(|n| *n += 1);
                    }
                >
                    {t!(i18n, autoregressive.sample_restart)}
                </button>
            </form>
            <LoadStatus what=Signal::derive(move || weights_of(i18n.get_locale(), &state.get())) progress error/>
            {move || run_error.get().map(|e| view! {
                <p class="error" role="alert">{move || fill(t_string!(i18n, autoregressive.sample_stopped), &[("error", &e)])}</p>
            })}
            <div class="grids">
                <figure>
                    <PixelCanvas
                        values=image
                        palette=Palette::Ink
                        marker
                        label=Signal::derive(move || fill(
                            t_string!(i18n, autoregressive.sample_image_label),
                            &[("done", &done()), ("total", &PIXELS)],
                        ))
                        testid="ar-sample-image".to_string()
                    />
                    <figcaption>{t!(i18n, autoregressive.sample_image_caption)}</figcaption>
                </figure>
                <figure>
                    <PixelCanvas
                        values=probs
                        palette=Palette::Probability
                        marker
                        label=Signal::derive(move || fill(
                            t_string!(i18n, autoregressive.sample_probs_label),
                            &[("done", &done()), ("total", &PIXELS)],
                        ))
                        testid="ar-sample-probs".to_string()
                    />
                    <figcaption>
                        {move || view! { <Prose text=t_string!(i18n, autoregressive.sample_probs_caption).to_string()/> }}
                    </figcaption>
                </figure>
            </div>
            <p
                class="status"
                role="status"
                data-testid="ar-sample-status"
                data-done=move || done().to_string()
                data-bits=move || trace.with(|t| t.as_ref().filter(|t| t.done == PIXELS).map(|t| compute::models::ar::image_to_code(&t.image)).unwrap_or_default())
                data-ms=move || elapsed_ms.get().to_string()
                data-readbacks=move || readbacks.get().to_string()
                data-epoch=move || run_epoch.get().to_string()
                data-finished=move || finished.get().to_string()
            >
                {move || {
                    let d = done();
                    let next = if d < PIXELS {
                        fill(
                            t_string!(i18n, autoregressive.sample_next),
                            &[("row", &(d / SIDE + 1)), ("column", &(d % SIDE + 1))],
                        )
                    } else {
                        String::new()
                    };
                    let restarted = if run_epoch.get() > 0 {
                        t_string!(i18n, autoregressive.sample_restarted)
                    } else {
                        ""
                    };
                    fill(
                        t_string!(i18n, autoregressive.sample_status),
                        &[
                            ("done", &d),
                            ("total", &PIXELS),
                            ("next", &next),
                            ("ms", &format!("{:.0}", elapsed_ms.get())),
                            ("readbacks", &readbacks.get()),
                            ("restarted", &restarted),
                        ],
                    )
                }}
            </p>
        </section>
    }
}
