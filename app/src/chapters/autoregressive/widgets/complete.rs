//! Complete: keep the first rows of the drawing and let the model sample the
//! rest. A raster-order model conditions only on a prefix, so "the top half"
//! is something it can complete and "the left half" is not.

use std::rc::Rc;

use compute::models::ar::{Mode, PIXELS, SIDE};
use leptos::{prelude::*, task::spawn_local};

use super::{
    next_frame,
    pixels::{Palette, PixelCanvas},
    use_ar_state, weights_of, LoadStatus, ModelSelect,
};
use crate::{
    chapters::autoregressive::session::{runner, ModelLoadError},
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, live_backend, widget::UrlNotices},
};

/// Pixels per submission while completing.
const CHUNK: usize = 56;

#[component]
pub fn ArComplete() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_ar_state();
    let completion = RwSignal::new(vec![f32::NAN; PIXELS]);
    let done = RwSignal::new(0usize);
    let (progress, set_progress) = signal((0u64, 0u64));
    let (error, set_error) = signal(None::<ModelLoadError>);
    let run_error = RwSignal::new(None::<String>);
    let generation = StoredValue::new(0u64);

    let run = Memo::new(move |_| {
        let s = state.get();
        (s.kind(), s.seed, s.rows as usize * SIDE, s.image())
    });
    Effect::new(move |_| {
        let (kind, seed, start, source) = run.get();
        live_backend::gpu_epoch();
        let gen = generation.get_value() + 1;
        generation.set_value(gen);
        run_error.set(None);
        completion.set(
            (0..PIXELS)
                .map(|i| if i < start { source[i] } else { f32::NAN })
                .collect(),
        );
        done.set(start);
        spawn_local(async move {
            let backend = live_backend::backend().await;
            let r = match runner(kind, &backend, move |l, t| set_progress.set((l, t))).await {
                Ok(r) => r,
                Err(e) => return set_error.set(Some(e)),
            };
            set_error.set(None);
            let runner = Rc::clone(&r);
            let mut chain = match runner.chain(&source, start, Mode::Sample { seed }) {
                Ok(c) => c,
                Err(e) => return run_error.set(Some(e.to_string())),
            };
            while chain.trace().done < PIXELS {
                match chain.advance(CHUNK).await {
                    Ok(t) => {
                        if generation.try_get_value() != Some(gen) {
                            return;
                        }
                        let d = t.done;
                        completion.set(
                            (0..PIXELS)
                                .map(|i| if i < d { t.image[i] } else { f32::NAN })
                                .collect(),
                        );
                        done.set(d);
                    }
                    Err(e) => return run_error.set(Some(e.to_string())),
                }
                next_frame().await;
            }
        });
    });

    let kept = Signal::derive(move || {
        let s = state.get();
        let start = s.rows as usize * SIDE;
        s.image()
            .into_iter()
            .enumerate()
            .map(|(i, v)| if i < start { v } else { f32::NAN })
            .collect::<Vec<_>>()
    });
    let write_rows = write.clone();
    let write_seed = write.clone();

    view! {
        <section class="widget" data-testid="ar-complete" aria-labelledby="ar-complete-title">
            <h2 id="ar-complete-title">{t!(i18n, autoregressive.complete_title)}</h2>
            <p>{t!(i18n, autoregressive.complete_intro)}</p>
            <UrlNotices notices=notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <ModelSelect state write=write.clone() testid="ar-complete-model"/>
                <label>
                    <span>{move || fill(t_string!(i18n, autoregressive.complete_rows), &[("rows", &state.get().rows)])}</span>
                    <input
                        type="range"
                        min="0"
                        max=SIDE - 1
                        data-testid="ar-complete-rows"
                        prop:value=move || state.get().rows
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            if let Ok(v) = event_target_value(&ev).parse::<u32>() {
                                next.rows = v.min(SIDE as u32 - 1);
                            }
                            write_rows(next);
                        }
                    />
                </label>
                <button
                    type="button"
                    data-testid="ar-complete-again"
                    on:click=move |_| {
                        let mut next = state.get_untracked();
                        next.seed = next.seed.wrapping_add(1);
                        write_seed(next);
                    }
                >
                    {t!(i18n, autoregressive.complete_again)}
                </button>
            </form>
            <LoadStatus what=Signal::derive(move || weights_of(i18n.get_locale(), &state.get())) progress error/>
            {move || run_error.get().map(|e| view! {
                <p class="error" role="alert">{move || fill(t_string!(i18n, autoregressive.complete_stopped), &[("error", &e)])}</p>
            })}
            <div class="grids">
                <figure>
                    <PixelCanvas
                        values=kept
                        palette=Palette::Ink
                        label=Signal::derive(move || fill(
                            t_string!(i18n, autoregressive.complete_kept_label),
                            &[("rows", &state.get().rows)],
                        ))
                        testid="ar-complete-kept".to_string()
                    />
                    <figcaption>{t!(i18n, autoregressive.complete_kept_caption)}</figcaption>
                </figure>
                <figure>
                    <PixelCanvas
                        values=Signal::from(completion)
                        palette=Palette::Ink
                        label=Signal::derive(move || fill(
                            t_string!(i18n, autoregressive.complete_result_label),
                            &[("seed", &state.get().seed), ("done", &done.get()), ("total", &PIXELS)],
                        ))
                        testid="ar-complete-result".to_string()
                    />
                    <figcaption
                        data-testid="ar-complete-status"
                        data-done=move || done.get().to_string()
                    >
                        {move || fill(
                            t_string!(i18n, autoregressive.complete_status),
                            &[("seed", &state.get().seed), ("done", &done.get()), ("total", &PIXELS)],
                        )}
                    </figcaption>
                </figure>
            </div>
        </section>
    }
}
