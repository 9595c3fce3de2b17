//! The KV cache, live: one of four small transformers trained here (MHA,
//! GQA, MQA, MLA) draws a digit patch by patch on the visitor's GPU (or the
//! CPU). The cache sizes shown are the runtime's own allocations, beside the
//! calculator's formula; each step's latency is timed; the cache can be
//! switched off; and MLA's naive and absorbed forms can be compared.

use std::sync::Arc;

use compute::{
    kv_cache::Variant,
    models::digit_transformer::{
        gpu::DecodeTrace, image_from_patches, live::LiveDecoder, patch_pixels, Config,
        DigitTransformer, MlaForm, POSITIONS, SIDE,
    },
};
use leptos::{prelude::*, task::spawn_local};
use web_time::Instant;

use super::KvState;
use crate::{
    chapters::{
        attention::session::{digit_metrics, digit_model, DigitMetrics},
        autoregressive::{
            session::ModelLoadError,
            widgets::{
                next_frame,
                pixels::{Palette, PixelCanvas},
                LoadStatus,
            },
        },
    },
    i18n::{t, t_string, use_i18n},
    shell::{
        format::fill,
        format::{group, human_bytes},
        live_backend::{self, family_backend},
        url_state::use_widget_state,
        widget::UrlNotices,
    },
};

/// Steps timed with and without the cache by "Time it": without a cache
/// the work grows with the square of the length, so a short prefix.
const TIMED_STEPS: usize = 32;

fn slug(v: Variant) -> String {
    v.label().to_lowercase()
}

/// A layer's attention weights for one head, painted on the 28×28 grid:
/// patch p's weight (position p + 1) on its four pixels, scaled so the
/// largest weight is full colour. NaN where nothing is cached yet.
fn head_map(weights: &[f32]) -> Vec<f32> {
    let max = weights.iter().cloned().fold(0.0f32, f32::max).max(1e-9);
    let mut map = vec![f32::NAN; SIDE * SIDE];
    for (pos, &w) in weights.iter().enumerate().skip(1) {
        for i in patch_pixels(pos - 1) {
            map[i] = w / max;
        }
    }
    map
}

#[derive(Debug, Clone, PartialEq)]
struct Timing {
    cached_ms: f64,
    uncached_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct FormComparison {
    max_abs_diff: f32,
    same_digit: bool,
    steps: usize,
}

/// Times `steps` decoding steps from an empty cache, in one call (one
/// submission and one readback on the GPU).
async fn time_steps(
    model: &Arc<DigitTransformer>,
    backend: &compute::Backend,
    form: MlaForm,
    seed: u64,
    use_cache: bool,
) -> Result<f64, String> {
    let mut d = LiveDecoder::new(model, backend, form).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    d.advance(seed, TIMED_STEPS, use_cache)
        .await
        .map_err(|e| e.to_string())?;
    Ok(t0.elapsed().as_secs_f64() * 1e3 / TIMED_STEPS as f64)
}

/// The backend the digit transformers decode on (see `live_backend`): in
/// Auto, the faster at four cached decoding steps.
pub(crate) async fn decoder_backend(
    model: &Arc<DigitTransformer>,
    detected: &compute::Backend,
) -> compute::Backend {
    let steps = async |backend: &compute::Backend| -> Result<(), compute::ComputeError> {
        let mut d = LiveDecoder::new(model, backend, MlaForm::Absorbed)?;
        d.advance(0, 4, true).await.map(drop)
    };
    let cpu = compute::Backend::Cpu(compute::ComputeError::CpuChosen(String::new()));
    family_backend(
        detected,
        "Digit transformers",
        "per 4 decoding steps",
        async || steps(&cpu).await,
        async || steps(detected).await,
    )
    .await
}

#[component]
pub fn KvLive() -> impl IntoView {
    let i18n = use_i18n();
    let (parsed, write) = use_widget_state::<KvState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.read().notices.clone());
    let variant = Memo::new(move |_| state.get().live);
    let form = Memo::new(move |_| state.get().live_form);
    let seed = Memo::new(move |_| state.get().live_seed);

    let model = RwSignal::new(None::<Arc<DigitTransformer>>);
    let (progress, set_progress) = signal((0u64, 0u64));
    let (load_error, set_load_error) = signal(None::<ModelLoadError>);
    let run_error = RwSignal::new(None::<String>);
    // The decoder lives outside the reactive graph; signals carry what it reports.
    let decoder = StoredValue::new_local(None::<LiveDecoder>);
    let trace = RwSignal::new(None::<DecodeTrace>);
    let bytes = RwSignal::new((0u64, 0u64));
    let on_gpu = RwSignal::new(false);
    let last_ms = RwSignal::new(None::<f64>);
    let total_ms = RwSignal::new(0.0f64);
    // (position, ms, with the cache) for every step taken one at a time.
    let latencies = RwSignal::new(Vec::<(usize, f64, bool)>::new());
    let playing = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let timing = RwSignal::new(None::<Timing>);
    let comparison = RwSignal::new(None::<FormComparison>);
    // None while a variant's metrics are loading.
    let metrics = RwSignal::new(Vec::<(Variant, Option<Result<DigitMetrics, String>>)>::new());
    // Bumped whenever the decoder is rebuilt: a running loop that sees a
    // new number stops.
    let generation = StoredValue::new(0u64);

    let refresh = move || {
        decoder.with_value(|d| {
            if let Some(d) = d {
                bytes.set((d.cache_bytes_allocated(), d.cache_bytes_used()));
                on_gpu.set(d.on_gpu());
            }
        });
    };

    // A new variant downloads its weights; a new form rebuilds the decoder
    // (weights uploaded once per decoder); a new seed only restarts it.
    Effect::new(move |_| {
        let v = variant.get();
        model.set(None);
        spawn_local(async move {
            match digit_model(v, move |l, t| set_progress.set((l, t))).await {
                Ok(m) if variant.try_get_untracked() == Some(v) => {
                    set_load_error.set(None);
                    model.set(Some(m));
                }
                Ok(_) => {}
                Err(e) => set_load_error.set(Some(e)),
            }
        });
    });
    Effect::new(move |_| {
        let (Some(m), f) = (model.get(), form.get()) else {
            return;
        };
        // A lost GPU rebuilds the decoder on the new device.
        live_backend::gpu_epoch();
        generation.update_value(|g| *g += 1);
        playing.set(false);
        trace.set(None);
        timing.set(None);
        comparison.set(None);
        last_ms.set(None);
        total_ms.set(0.0);
        latencies.set(Vec::new());
        run_error.set(None);
        spawn_local(async move {
            let backend = decoder_backend(&m, &live_backend::backend().await).await;
            match LiveDecoder::new(&m, &backend, f) {
                // Unless the widget has gone in the meantime.
                Ok(d) => {
                    if decoder.try_set_value(Some(d)).is_none() {
                        refresh();
                    }
                }
                Err(e) => run_error.set(Some(e.to_string())),
            }
        });
    });
    Effect::new(move |_| {
        let rows = Variant::ALL.map(|v| (v, None));
        metrics.set(rows.to_vec());
        spawn_local(async move {
            for v in Variant::ALL {
                let m = digit_metrics(v).await.map_err(|e| e.to_string());
                metrics.update(|rows| {
                    if let Some(row) = rows.iter_mut().find(|(rv, _)| *rv == v) {
                        row.1 = Some(m);
                    }
                });
            }
        });
    });

    // One step (or, while playing, one step per frame) with the current settings.
    let advance = move |count: usize| async move {
        let Some(mut d) = decoder.try_update_value(Option::take).flatten() else {
            return false;
        };
        let gen = generation.get_value();
        let s = state.get_untracked();
        let pos = d.len();
        let t0 = Instant::now();
        let result = d.advance(s.live_seed, count, s.live_cache).await;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        if generation.try_get_value() != Some(gen) {
            return false;
        }
        let more = d.len() < POSITIONS;
        decoder.set_value(Some(d));
        match result {
            Ok(t) => {
                if count == 1 {
                    latencies.update(|l| l.push((pos, ms, s.live_cache)));
                }
                last_ms.set(Some(ms / count as f64));
                total_ms.update(|x| *x += ms);
                trace.set(Some(t));
                refresh();
                more
            }
            Err(e) => {
                run_error.set(Some(e.to_string()));
                false
            }
        }
    };
    let step = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            advance(1).await;
            busy.set(false);
        });
    };
    let play = move || {
        if busy.get_untracked() {
            return;
        }
        playing.set(true);
        busy.set(true);
        spawn_local(async move {
            // A widget unmounted mid-play (a presentation's next step) ends the loop.
            while playing.try_get_untracked() == Some(true) && advance(1).await {
                next_frame().await;
            }
            playing.set(false);
            busy.set(false);
        });
    };
    let reset = move || {
        playing.set(false);
        generation.update_value(|g| *g += 1);
        decoder.update_value(|d| {
            if let Some(d) = d {
                d.reset();
            }
        });
        trace.set(None);
        last_ms.set(None);
        total_ms.set(0.0);
        latencies.set(Vec::new());
        refresh();
    };
    Effect::new(move |previous: Option<u64>| {
        let s = seed.get();
        if previous.is_some_and(|p| p != s) {
            reset();
            timing.set(None);
            comparison.set(None);
        }
        s
    });
    let time_it = move || {
        let Some(m) = model.get_untracked() else {
            return;
        };
        busy.set(true);
        timing.set(None);
        spawn_local(async move {
            let backend = decoder_backend(&m, &live_backend::backend().await).await;
            let (Some(f), Some(s)) = (form.try_get_untracked(), seed.try_get_untracked()) else {
                return;
            };
            let result = async {
                Ok::<_, String>(Timing {
                    cached_ms: time_steps(&m, &backend, f, s, true).await?,
                    uncached_ms: time_steps(&m, &backend, f, s, false).await?,
                })
            }
            .await;
            match result {
                Ok(t) => timing.set(Some(t)),
                Err(e) => run_error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let compare = move || {
        let Some(m) = model.get_untracked() else {
            return;
        };
        busy.set(true);
        comparison.set(None);
        spawn_local(async move {
            let backend = decoder_backend(&m, &live_backend::backend().await).await;
            let Some(s) = seed.try_get_untracked() else {
                return;
            };
            let result = async {
                let mut traces = Vec::new();
                for f in [MlaForm::Naive, MlaForm::Absorbed] {
                    let mut d = LiveDecoder::new(&m, &backend, f).map_err(|e| e.to_string())?;
                    traces.push(
                        d.advance(s, POSITIONS, true)
                            .await
                            .map_err(|e| e.to_string())?,
                    );
                }
                let max_abs_diff = traces[0]
                    .logits
                    .iter()
                    .zip(&traces[1].logits)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                Ok::<_, String>(FormComparison {
                    max_abs_diff,
                    same_digit: traces[0].patches == traces[1].patches,
                    steps: traces[0].patches.len(),
                })
            }
            .await;
            match result {
                Ok(c) => comparison.set(Some(c)),
                Err(e) => run_error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let config = Memo::new(move |_| Config::new(variant.get()));
    let tokens = Signal::derive(move || trace.with(|t| t.as_ref().map_or(0, |t| t.patches.len())));
    let image = Signal::derive(move || {
        trace.with(|t| {
            let patches = t.as_ref().map_or(&[][..], |t| &t.patches[..]);
            let mut img = image_from_patches(patches);
            // Not yet drawn: grey.
            for i in (patches.len()..POSITIONS).flat_map(patch_pixels) {
                img[i] = f32::NAN;
            }
            img
        })
    });
    let head_weights = move |head: usize| {
        Signal::derive(move || {
            let layer = state.get().live_layer as usize;
            trace.with(|t| {
                t.as_ref().and_then(|t| t.attention.get(layer)).map_or(
                    vec![f32::NAN; SIDE * SIDE],
                    |w| {
                        let len = w.len() / config.get().heads;
                        head_map(&w[head * len..(head + 1) * len])
                    },
                )
            })
        })
    };
    let start_weight = move |head: usize| {
        let layer = state.get().live_layer as usize;
        trace.with(|t| {
            t.as_ref().and_then(|t| t.attention.get(layer)).map(|w| {
                let len = w.len() / config.get().heads;
                w[head * len]
            })
        })
    };

    let formula_per_token = move || config.get().kv_config(1).bytes_per_token();
    let write_variant = write.clone();
    let write_seed = write.clone();
    let write_cache = write.clone();
    let write_form = write.clone();
    let write_layer = write.clone();

    view! {
        <section class="widget" data-testid="kv-live" aria-labelledby="kv-live-title">
            <h2 id="kv-live-title">{t!(i18n, attention.live_title)}</h2>
            <p>{t!(i18n, attention.live_intro)}</p>
            <UrlNotices notices=notices/>
            <LoadStatus
                what=Signal::derive(move || fill(t_string!(i18n, attention.live_model_what), &[("variant", &variant.get().label())]))
                progress
                error=load_error
            />
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <fieldset class="choice" data-testid="kv-live-variant">
                    <legend>{t!(i18n, attention.attention)}</legend>
                    {Variant::ALL.into_iter().map(|v| {
                        let write = write_variant.clone();
                        view! {
                            <label>
                                <input
                                    type="radio"
                                    name="kv-live-variant"
                                    value=slug(v)
                                    data-testid=format!("kv-live-variant-{}", slug(v))
                                    prop:checked=move || variant.get() == v
                                    on:change=move |_| {
                                        let mut next = state.get_untracked();
                                        next.live = v;
                                        write(next);
                                    }
                                />
                                {v.label()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <label>
                    <span>{t!(i18n, attention.live_seed)}</span>
                    <input
                        type="number"
                        min="0"
                        data-testid="kv-live-seed"
                        prop:value=move || seed.get()
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            if let Ok(v) = event_target_value(&ev).trim().parse::<u64>() {
                                next.live_seed = v;
                            }
                            write_seed(next);
                        }
                    />
                </label>
                <label class="check">
                    <input
                        type="checkbox"
                        data-testid="kv-live-cache"
                        prop:checked=move || state.get().live_cache
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            next.live_cache = event_target_checked(&ev);
                            write_cache(next);
                        }
                    />
                    <span>{t!(i18n, attention.live_use_cache)}</span>
                </label>
                <label>
                    <span>{t!(i18n, attention.live_mla_form)}</span>
                    <select
                        data-testid="kv-live-form"
                        prop:disabled=move || variant.get() != Variant::Mla
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            next.live_form = if event_target_value(&ev) == "naive" { MlaForm::Naive } else { MlaForm::Absorbed };
                            write_form(next);
                        }
                    >
                        <option value="absorbed" selected=move || form.get() == MlaForm::Absorbed>{t!(i18n, attention.live_form_absorbed)}</option>
                        <option value="naive" selected=move || form.get() == MlaForm::Naive>{t!(i18n, attention.live_form_naive)}</option>
                    </select>
                </label>
                <label>
                    <span>{t!(i18n, attention.live_layer)}</span>
                    <select
                        data-testid="kv-live-layer"
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            next.live_layer = event_target_value(&ev).parse().unwrap_or(0);
                            write_layer(next);
                        }
                    >
                        {move || (0..config.get().layers as u32).map(|l| view! {
                            <option value=l selected=move || state.get().live_layer == l>{format!("{}", l + 1)}</option>
                        }).collect_view()}
                    </select>
                </label>
            </form>
            <div class="controls">
                <button type="button" data-testid="kv-live-step" prop:disabled=move || busy.get() || model.get().is_none()
                    on:click=move |_| step()>{t!(i18n, attention.live_step)}</button>
                <button type="button" data-testid="kv-live-play" prop:disabled=move || model.get().is_none()
                    aria-pressed=move || playing.get().to_string()
                    on:click=move |_| if playing.get_untracked() { playing.set(false) } else { play() }>
                    {move || if playing.get() { t_string!(i18n, attention.live_pause) } else { t_string!(i18n, attention.live_play) }}
                </button>
                <button type="button" data-testid="kv-live-reset" on:click=move |_| reset()>{t!(i18n, attention.live_restart)}</button>
                <button type="button" data-testid="kv-live-time" prop:disabled=move || busy.get() || model.get().is_none()
                    on:click=move |_| time_it()>{move || fill(t_string!(i18n, attention.live_time), &[("steps", &TIMED_STEPS)])}</button>
            </div>
            {move || run_error.get().map(|e| view! { <p class="error" role="alert" data-testid="kv-live-error">{e}</p> })}
            <div class="live-grid">
                <figure data-testid="kv-live-patches" data-patches=move || trace.with(|t| {
                    // The sampled patch ids as hex digits, for tests and bug reports.
                    t.as_ref().map_or(String::new(), |t| t.patches.iter().map(|p| format!("{p:x}")).collect())
                })>
                    <PixelCanvas values=image palette=Palette::Ink label=Signal::derive(move || t_string!(i18n, attention.live_digit).to_string()) testid="kv-live-digit".to_string()/>
                    <figcaption>{move || fill(t_string!(i18n, attention.live_patches), &[("count", &tokens.get()), ("total", &POSITIONS)])}</figcaption>
                </figure>
                {move || (0..config.get().heads).map(|h| view! {
                    <figure>
                        <PixelCanvas
                            values=head_weights(h)
                            palette=Palette::Probability
                            label=Signal::derive(move || fill(t_string!(i18n, attention.live_head_label), &[("head", &(h + 1))]))
                            testid=format!("kv-live-head-{h}")
                        />
                        <figcaption>{move || match start_weight(h) {
                            Some(w) => fill(
                                t_string!(i18n, attention.live_head_start),
                                &[("head", &(h + 1)), ("percent", &format!("{:.0}", 100.0 * w))],
                            ),
                            None => fill(t_string!(i18n, attention.live_head), &[("head", &(h + 1))]),
                        }}</figcaption>
                    </figure>
                }).collect_view()}
            </div>
            <div class="table-scroll" tabindex="0">
            <table class="numbers" data-testid="kv-live-bytes">
                <tbody>
                    <tr>
                        <th scope="row">{t!(i18n, attention.live_formula)}</th>
                        <td data-testid="kv-live-formula" data-value=move || formula_per_token().to_string()>
                            {move || {
                                let c = config.get();
                                let per_layer = c.kv_config(1).elems_per_token_layer();
                                fill(
                                    t_string!(i18n, attention.live_formula_value),
                                    &[("layers", &c.layers), ("per_layer", &per_layer), ("bytes", &group(formula_per_token()))],
                                )
                            }}
                        </td>
                    </tr>
                    <tr>
                        <th scope="row">{t!(i18n, attention.live_measured)}</th>
                        <td data-testid="kv-live-bytes-per-token" data-value=move || (bytes.get().0 / POSITIONS as u64).to_string()>
                            {move || format!("{} B", group(bytes.get().0 / POSITIONS as u64))}
                        </td>
                    </tr>
                    <tr>
                        <th scope="row">{move || if on_gpu.get() { t_string!(i18n, attention.live_on_gpu) } else { t_string!(i18n, attention.live_on_cpu) }}</th>
                        <td data-testid="kv-live-bytes-allocated" data-value=move || bytes.get().0.to_string()>
                            {move || format!("{} ({} B)", human_bytes(bytes.get().0), group(bytes.get().0))}
                        </td>
                    </tr>
                    <tr>
                        <th scope="row">{t!(i18n, attention.live_in_use)}</th>
                        <td data-testid="kv-live-bytes-used" data-value=move || bytes.get().1.to_string() data-tokens=move || tokens.get().to_string()>
                            {move || fill(t_string!(i18n, attention.live_in_use_value), &[("tokens", &tokens.get()), ("bytes", &group(bytes.get().1))])}
                        </td>
                    </tr>
                    <tr>
                        <th scope="row">{t!(i18n, attention.live_last_step)}</th>
                        <td data-testid="kv-live-step-ms">
                            {move || match last_ms.get() {
                                Some(ms) => fill(
                                    t_string!(i18n, attention.live_last_step_value),
                                    &[("ms", &format!("{ms:.1}")), ("total", &format!("{:.0}", total_ms.get()))],
                                ),
                                None => "—".to_string(),
                            }}
                        </td>
                    </tr>
                </tbody>
            </table>
            </div>
            <LatencyChart latencies/>
            {move || timing.get().map(|t| view! {
                <p class="status" data-testid="kv-live-timing" data-cached-ms=t.cached_ms data-uncached-ms=t.uncached_ms>
                    {move || fill(
                        t_string!(i18n, attention.live_timing),
                        &[
                            ("steps", &TIMED_STEPS),
                            ("cached", &format!("{:.2}", t.cached_ms)),
                            ("uncached", &format!("{:.2}", t.uncached_ms)),
                            ("ratio", &format!("{:.1}", t.uncached_ms / t.cached_ms.max(1e-9))),
                        ],
                    )}
                </p>
            })}
            <Show when=move || variant.get() == Variant::Mla>
                <div class="mla-compare">
                    <button type="button" data-testid="kv-live-compare" prop:disabled=move || busy.get() || model.get().is_none()
                        on:click=move |_| compare()>{t!(i18n, attention.live_compare)}</button>
                    {move || comparison.get().map(|c| {
                        let cfg = config.get();
                        let cache = cfg.kv_config(1).bytes_per_token();
                        let expanded = (cfg.layers * 2 * cfg.heads * cfg.head_dim * 4) as u64;
                        view! {
                            <p class="status" data-testid="kv-live-compare-result" data-max-diff=c.max_abs_diff data-same=c.same_digit.to_string()>
                                {move || fill(
                                    t_string!(i18n, attention.live_compare_result),
                                    &[
                                        ("steps", &c.steps),
                                        ("diff", &format!("{:.2e}", c.max_abs_diff)),
                                        ("verdict", &if c.same_digit {
                                            t_string!(i18n, attention.live_same_digit)
                                        } else {
                                            t_string!(i18n, attention.live_different_digits)
                                        }),
                                        ("cache", &cache),
                                        ("expanded", &expanded),
                                    ],
                                )}
                            </p>
                        }
                    })}
                </div>
            </Show>
            <div class="table-scroll" tabindex="0">
            <table class="numbers" data-testid="kv-live-table">
                <caption>{t!(i18n, attention.live_table_caption)}</caption>
                <thead>
                    <tr>
                        <th>{t!(i18n, attention.attention)}</th>
                        <th>{t!(i18n, attention.live_test_bits)}</th>
                        <th>{t!(i18n, attention.live_nll)}</th>
                        <th>{t!(i18n, attention.live_kv_bytes)}</th>
                        <th>{t!(i18n, attention.live_params)}</th>
                    </tr>
                </thead>
                <tbody>
                    {move || metrics.get().into_iter().map(|(v, m)| match m {
                        Some(Ok(m)) => view! {
                            <tr data-variant=slug(v) data-bits=m.test_bits_per_dim data-kv=m.kv_bytes_per_token>
                                <th scope="row">{v.label()}</th>
                                <td>{format!("{:.4}", m.test_bits_per_dim)}</td>
                                <td>{format!("{:.2}", m.test_nll_nats)}</td>
                                <td>{group(m.kv_bytes_per_token)}</td>
                                <td>{group(m.params)}</td>
                            </tr>
                        }.into_any(),
                        Some(Err(e)) => view! {
                            <tr data-variant=slug(v)><th scope="row">{v.label()}</th><td colspan="4">{e}</td></tr>
                        }.into_any(),
                        None => view! {
                            <tr data-variant=slug(v)><th scope="row">{v.label()}</th><td colspan="4">{t!(i18n, attention.live_loading)}</td></tr>
                        }.into_any(),
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        </section>
    }
}

/// Milliseconds per step against the position it decoded, with the cache
/// (blue) and without (orange): flat against rising.
#[component]
fn LatencyChart(latencies: RwSignal<Vec<(usize, f64, bool)>>) -> impl IntoView {
    let i18n = use_i18n();
    const W: f64 = 600.0;
    const H: f64 = 180.0;
    const LEFT: f64 = 48.0;
    const BOTTOM: f64 = 28.0;
    let top = move || latencies.with(|l| l.iter().map(|p| p.1).fold(1.0f64, f64::max)) * 1.1;
    let x = |pos: usize| LEFT + (W - LEFT - 8.0) * pos as f64 / (POSITIONS - 1) as f64;
    let y = move |ms: f64, top: f64| (H - BOTTOM) - (H - BOTTOM - 8.0) * ms / top;
    view! {
        <figure class="chart" data-testid="kv-live-latency" data-points=move || latencies.with(Vec::len)>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=move || t_string!(i18n, attention.latency_label)>
                <line x1=LEFT y1=H - BOTTOM x2=W - 8.0 y2=H - BOTTOM stroke="#6b7280" class="chart-axis"/>
                <line x1=LEFT y1=8.0 x2=LEFT y2=H - BOTTOM stroke="#6b7280" class="chart-axis"/>
                <text x=LEFT - 6.0 y=12.0 text-anchor="end" font-size="11" class="chart-text">{move || format!("{:.0}", top())}</text>
                <text x=LEFT - 6.0 y=H - BOTTOM text-anchor="end" font-size="11" class="chart-text">"0"</text>
                <text x=4.0 y=(H - BOTTOM) / 2.0 font-size="11" class="chart-text">"ms"</text>
                <text x=LEFT y=H - 8.0 font-size="11" class="chart-text">{t!(i18n, attention.latency_position)}</text>
                <text x=W - 8.0 y=H - 8.0 text-anchor="end" font-size="11" class="chart-text">"195"</text>
                {move || {
                    let t = top();
                    latencies.get().into_iter().map(|(pos, ms, cached)| view! {
                        <circle cx=x(pos) cy=y(ms, t) r="2.5" fill=if cached { "#1d4ed8" } else { "#ea580c" }/>
                    }).collect_view()
                }}
            </svg>
            <figcaption>{t!(i18n, attention.latency_caption)}</figcaption>
        </figure>
    }
}
