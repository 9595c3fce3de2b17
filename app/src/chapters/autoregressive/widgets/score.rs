//! Score your drawing: the exact log p(x) of one 28×28 binary image under
//! every model, side by side, with each pixel's −log p(xᵢ | x<ᵢ).

use std::f64::consts::LN_2;

use compute::models::ar::{image_to_code, pixel_nll, ArKind, PIXELS};
use leptos::{prelude::*, task::spawn_local};

use super::{
    pixels::{DrawPad, Palette, PixelCanvas},
    use_ar_state, ModelLoading, RunFailure,
};
use crate::{
    chapters::autoregressive::session::{runner, test_digit, ModelLoadError, TEST_DIGITS},
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{format::fill, live_backend, math::Prose, widget::UrlNotices},
};

/// Where loading a real test digit stands.
#[derive(Debug, Clone, PartialEq)]
enum DigitStatus {
    Idle,
    Loading(usize),
    /// The index and its label.
    Loaded(usize, u8),
    Failed(usize, ModelLoadError),
}

impl DigitStatus {
    fn say(&self, locale: Locale) -> String {
        match self {
            DigitStatus::Idle => String::new(),
            DigitStatus::Loading(index) => fill(
                td_string!(locale, autoregressive.score_digit_loading),
                &[("index", index)],
            ),
            DigitStatus::Loaded(index, label) => fill(
                td_string!(locale, autoregressive.score_digit_loaded),
                &[("index", index), ("label", label)],
            ),
            DigitStatus::Failed(index, e) => fill(
                td_string!(locale, autoregressive.score_digit_failed),
                &[("index", index), ("error", &e.say(locale))],
            ),
        }
    }
}

/// One model's verdict on the drawing.
#[derive(Debug, Clone, PartialEq)]
struct Score {
    nats: f64,
    per_pixel: Vec<f32>,
    /// The drawing it scored, as its URL code.
    code: String,
}

#[component]
pub fn ArScore() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_ar_state();
    let image = Signal::derive(move || state.get().image());
    let (erase, set_erase) = signal(false);
    let digit_index = RwSignal::new(0usize);
    let digit_status = RwSignal::new(DigitStatus::Idle);
    let write_pad = write.clone();
    let write_clear = write.clone();
    let commit = move |x: Vec<f32>| {
        let mut next = state.get_untracked();
        next.x = if x.iter().all(|&v| v == 0.0) {
            String::new()
        } else {
            image_to_code(&x)
        };
        write_pad(next);
    };
    let load_digit = move |_| {
        let write = write.clone();
        let index = digit_index.get_untracked();
        digit_status.set(DigitStatus::Loading(index));
        spawn_local(async move {
            match test_digit(index).await {
                Ok((x, label)) => {
                    let mut next = state.get_untracked();
                    next.x = image_to_code(&x);
                    write(next);
                    digit_status.set(DigitStatus::Loaded(index, label));
                }
                Err(e) => digit_status.set(DigitStatus::Failed(index, e)),
            }
        });
    };

    view! {
        <section class="widget" data-testid="ar-score" aria-labelledby="ar-score-title">
            <h2 id="ar-score-title">{t!(i18n, autoregressive.score_title)}</h2>
            <p>{move || view! { <Prose text=t_string!(i18n, autoregressive.score_intro).to_string()/> }}</p>
            <UrlNotices notices=notices/>
            <div class="score-layout">
                <div class="drawing">
                    <DrawPad image erase commit/>
                    <form class="controls" on:submit=|ev| ev.prevent_default()>
                        <button
                            type="button"
                            data-testid="ar-score-pen"
                            aria-pressed=move || (!erase.get()).to_string()
                            on:click=move |_| set_erase.set(false)
                        >{t!(i18n, autoregressive.score_pen)}</button>
                        <button
                            type="button"
                            data-testid="ar-score-eraser"
                            aria-pressed=move || erase.get().to_string()
                            on:click=move |_| set_erase.set(true)
                        >{t!(i18n, autoregressive.score_eraser)}</button>
                        <button
                            type="button"
                            data-testid="ar-score-clear"
                            on:click=move |_| {
                                let mut next = state.get_untracked();
                                next.x.clear();
                                write_clear(next);
                            }
                        >{t!(i18n, autoregressive.score_clear)}</button>
                    </form>
                    <form class="controls" on:submit=|ev| ev.prevent_default()>
                        <label>
                            <span>{t!(i18n, autoregressive.score_digit_label)}</span>
                            <input
                                type="number"
                                min="0"
                                max=TEST_DIGITS - 1
                                data-testid="ar-score-digit"
                                prop:value=move || digit_index.get()
                                on:change=move |ev| {
                                    if let Ok(v) = event_target_value(&ev).trim().parse::<usize>() {
                                        digit_index.set(v.min(TEST_DIGITS - 1));
                                    }
                                }
                            />
                        </label>
                        <button type="button" data-testid="ar-score-load-digit" on:click=load_digit>
                            {t!(i18n, autoregressive.score_load_digit)}
                        </button>
                    </form>
                    <p class="note" role="status" data-testid="ar-score-digit-status">{move || digit_status.with(|s| s.say(i18n.get_locale()))}</p>
                </div>
                <div class="model-scores">
                    {ArKind::ALL.into_iter().map(|kind| view! { <ModelScore kind image/> }).collect_view()}
                </div>
            </div>
        </section>
    }
}

#[component]
fn ModelScore(kind: ArKind, image: Signal<Vec<f32>>) -> impl IntoView {
    let i18n = use_i18n();
    let progress = RwSignal::new((0u64, 0u64));
    let score = LocalResource::new(move || {
        let x = image.get();
        live_backend::gpu_epoch();
        async move {
            let backend = live_backend::backend().await;
            let r = runner(kind, &backend, move |l, t| progress.set((l, t)))
                .await
                .map_err(RunFailure::Load)?;
            let logits = r
                .logits(&x)
                .await
                .map_err(|e| RunFailure::Compute(e.to_string()))?;
            let per_pixel = pixel_nll(&logits, &x);
            Ok::<_, RunFailure>(Score {
                nats: per_pixel.iter().map(|&v| v as f64).sum(),
                per_pixel,
                code: image_to_code(&x),
            })
        }
    });
    view! {
        <figure class="model-score" data-testid=format!("ar-score-{}", kind.slug())>
            <figcaption><strong>{kind.title()}</strong></figcaption>
            <Transition fallback=move || view! { <ModelLoading progress/> }>
                {move || Suspend::new(async move {
                    match score.await {
                        Ok(s) => {
                            let nats = s.nats;
                            view! {
                                <PixelCanvas
                                    values=Signal::stored(s.per_pixel)
                                    palette=Palette::Surprise { max: 4.0 }
                                    label=Signal::derive(move || fill(
                                        t_string!(i18n, autoregressive.score_map_label),
                                        &[("model", &kind.title()), ("nats", &format!("{nats:.2}"))],
                                    ))
                                    testid=format!("ar-score-map-{}", kind.slug())
                                />
                                <p class="nll" data-testid=format!("ar-score-nll-{}", kind.slug()) data-nats=nats.to_string() data-bits=s.code>
                                    {format!("−log p(x) = {nats:.2} nats")}
                                    <br/>
                                    {format!("{:.4} bits/dim", nats / (PIXELS as f64 * LN_2))}
                                </p>
                            }
                            .into_any()
                        }
                        Err(e) => view! {
                            <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </figure>
    }
}
