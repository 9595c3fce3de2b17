//! The KV cache as memory: the four trained variants decode the same digit
//! in step, and each layer's cache is drawn as a grid of positions × cached
//! vectors, one canvas pixel per cached value, so every grid's area is its
//! size in bytes. Lines join each query head to the column it reads. The
//! layout comes from `memory::CacheLayout`, the values from the live
//! decoders (one readback per variant and step on the GPU).

use std::sync::Arc;

use compute::{
    kv_cache::Variant,
    models::digit_transformer::{
        live::LiveDecoder,
        memory::{CacheCells, CacheColumn, CacheLayout},
        Config, DigitTransformer, MlaForm, POSITIONS,
    },
};
use leptos::{html, prelude::*, task::spawn_local};

use super::{live::decoder_backend, KvState};
use crate::{
    chapters::{
        attention::session::digit_model,
        autoregressive::{
            session::ModelLoadError,
            widgets::{
                next_frame,
                pixels::{paint_signed, RowMark},
                LoadStatus,
            },
        },
    },
    i18n::{t, t_string, use_i18n},
    shell::{
        format::fill, format::group, live_backend, math::Prose, url_state::use_widget_state,
        widget::UrlNotices,
    },
};

/// One variant's decoder and what it last reported.
#[derive(Clone, Default, PartialEq)]
struct Snapshot {
    cells: CacheCells,
    /// The decoder's own count of the bytes its cache holds.
    measured: u64,
    /// Per layer, the latest step's attention weights [heads, positions].
    attention: Vec<Vec<f32>>,
}

fn slug(v: Variant) -> String {
    v.label().to_lowercase()
}

/// Bytes the drawn cells hold: 4 per f32.
fn cell_bytes(cells: &CacheCells) -> u64 {
    cells
        .iter()
        .flatten()
        .flatten()
        .map(|c| 4 * c.len() as u64)
        .sum()
}

/// One layer's cache: a row per position, a pixel per cached value (grey
/// where nothing is cached yet).
fn paint_layer(canvas: &web_sys::HtmlCanvasElement, rows: &[Vec<Vec<f32>>], width: usize) {
    let mut values = vec![f32::NAN; width * POSITIONS];
    for (pos, row) in rows.iter().enumerate().take(POSITIONS) {
        for (k, v) in row.iter().flatten().enumerate().take(width) {
            values[pos * width + k] = *v;
        }
    }
    paint_signed(canvas, &values, width, POSITIONS);
}

#[component]
pub fn KvMemory() -> impl IntoView {
    let i18n = use_i18n();
    let (parsed, write) = use_widget_state::<KvState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.read().notices.clone());
    let target = Memo::new(move |_| state.get().mem_steps as usize);
    let seed = Memo::new(move |_| state.get().live_seed);
    let chosen = Memo::new(move |_| usize::try_from(state.get().mem_pos).ok());
    let hovered = RwSignal::new(None::<usize>);
    let inspect = Signal::derive(move || hovered.get().or(chosen.get()));

    let (progress, set_progress) = signal((0u64, 0u64));
    let (load_error, set_load_error) = signal(None::<ModelLoadError>);
    let run_error = RwSignal::new(None::<String>);
    let decoders = StoredValue::new_local(Vec::<(Variant, LiveDecoder)>::new());
    let snapshots = RwSignal::new(Vec::<(Variant, Snapshot)>::new());
    let ready = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let playing = RwSignal::new(false);
    // Bumped when the decoders are rebuilt, so a stale sync stops.
    let generation = StoredValue::new(0u64);

    // Every variant's weights, then a decoder for each on its chosen backend.
    Effect::new(move |_| {
        live_backend::gpu_epoch();
        generation.update_value(|g| *g += 1);
        ready.set(false);
        spawn_local(async move {
            let mut built = Vec::new();
            for v in Variant::ALL {
                let m: Arc<DigitTransformer> =
                    match digit_model(v, move |l, t| set_progress.set((l, t))).await {
                        Ok(m) => m,
                        Err(e) => {
                            set_load_error.set(Some(e));
                            return;
                        }
                    };
                let backend = decoder_backend(&m, &live_backend::backend().await).await;
                match LiveDecoder::new(&m, &backend, MlaForm::Absorbed) {
                    Ok(d) => built.push((v, d)),
                    Err(e) => {
                        run_error.set(Some(e.to_string()));
                        return;
                    }
                }
            }
            set_load_error.set(None);
            if decoders.try_set_value(built).is_none() {
                ready.set(true);
            }
        });
    });

    // Brings every decoder to the URL's number of steps (a shorter one
    // starts over), then reads its cache back.
    let sync = move || async move {
        let gen = generation.get_value();
        let (want, s) = (target.get_untracked(), seed.get_untracked());
        let Some(mut all) = decoders.try_update_value(std::mem::take) else {
            return;
        };
        let mut shots = Vec::new();
        let mut failure = None;
        for (v, d) in all.iter_mut() {
            if d.len() > want {
                d.reset();
            }
            let outcome = async {
                let mut attention = Vec::new();
                if d.len() < want {
                    attention = d.advance(s, want - d.len(), true).await?.attention;
                }
                Ok::<_, compute::ComputeError>(Snapshot {
                    cells: d.cells().await?,
                    measured: d.cache_bytes_used(),
                    attention,
                })
            }
            .await;
            match outcome {
                Ok(shot) => shots.push((*v, shot)),
                Err(e) => failure = Some(e.to_string()),
            }
        }
        if generation.try_get_value() != Some(gen) {
            return;
        }
        decoders.set_value(all);
        // Attention is only reported by a step: keep the last one's.
        snapshots.update(|old| {
            for (v, shot) in shots.iter_mut() {
                if shot.attention.is_empty() {
                    if let Some((_, prev)) = old.iter().find(|(o, _)| o == v) {
                        if shot.cells.first().map(Vec::len) == prev.cells.first().map(Vec::len) {
                            shot.attention = prev.attention.clone();
                        }
                    }
                }
            }
            *old = shots;
        });
        run_error.set(failure);
    };
    Effect::new(move |previous: Option<u64>| {
        target.track();
        let (s, ok) = (seed.get(), ready.get());
        if previous.is_some_and(|p| p != s) {
            decoders.update_value(|all| all.iter_mut().for_each(|(_, d)| d.reset()));
        }
        if ok && !busy.get_untracked() {
            busy.set(true);
            spawn_local(async move {
                // Repeat while the URL moved on during a sync.
                loop {
                    sync().await;
                    let done = snapshots
                        .try_with_untracked(|s| {
                            s.iter().all(|(_, shot)| {
                                shot.cells.first().map_or(0, Vec::len) == target.get_untracked()
                            })
                        })
                        .unwrap_or(true);
                    if done || run_error.get_untracked().is_some() {
                        break;
                    }
                }
                busy.set(false);
            });
        }
        s
    });

    let write_steps = write.clone();
    let set_steps = move |n: usize| {
        let mut next = state.get_untracked();
        next.mem_steps = n.min(POSITIONS) as u32;
        write_steps(next);
    };
    let set_steps_step = set_steps.clone();
    let set_steps_play = set_steps.clone();
    let set_steps_reset = set_steps.clone();
    let choose = move |p: Option<usize>| {
        let mut next = state.get_untracked();
        next.mem_pos = p.map_or(-1, |p| p as i32);
        write(next);
    };
    let choose_input = choose.clone();
    let play = move || {
        if playing.get_untracked() {
            playing.set(false);
            return;
        }
        playing.set(true);
        let set_steps = set_steps_play.clone();
        spawn_local(async move {
            while playing.try_get_untracked() == Some(true) && target.get_untracked() < POSITIONS {
                if !busy.get_untracked() {
                    set_steps(target.get_untracked() + 1);
                }
                next_frame().await;
            }
            playing.set(false);
        });
    };

    let filled = Signal::derive(move || {
        snapshots.with(|s| {
            s.first()
                .map_or(0, |(_, shot)| shot.cells.first().map_or(0, Vec::len))
        })
    });
    view! {
        <section class="widget" data-testid="kv-memory" aria-labelledby="kv-memory-title"
            data-steps=move || filled.get().to_string()
            data-busy=move || busy.get().to_string()>
            <h2 id="kv-memory-title">{t!(i18n, attention.memory_title)}</h2>
            <p>{move || view! { <Prose text=t_string!(i18n, attention.memory_intro).to_string()/> }}</p>
            <UrlNotices notices=notices/>
            <LoadStatus what=Signal::derive(move || t_string!(i18n, attention.memory_weights).to_string()) progress error=load_error/>
            {move || run_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <button type="button" data-testid="kv-memory-step"
                    prop:disabled={move || !ready.get() || busy.get() || filled.get() >= POSITIONS}
                    on:click=move |_| set_steps_step(target.get_untracked() + 1)>{t!(i18n, attention.memory_step)}</button>
                <button type="button" data-testid="kv-memory-play"
                    prop:disabled=move || !ready.get()
                    aria-pressed=move || playing.get().to_string()
                    on:click=move |_| play()>{t!(i18n, attention.memory_play)}</button>
                <button type="button" data-testid="kv-memory-reset"
                    prop:disabled=move || !ready.get()
                    on:click=move |_| { playing.set(false); set_steps_reset(0) }>{t!(i18n, attention.memory_reset)}</button>
                <label>
                    <span>{t!(i18n, attention.memory_inspect)}</span>
                    <input type="range" min="-1" max=POSITIONS - 1 data-testid="kv-memory-position"
                        prop:value=move || chosen.get().map_or(-1, |p| p as i64)
                        on:input=move |ev| {
                            let p = event_target_value(&ev).parse::<i64>().ok();
                            choose_input(p.and_then(|p| usize::try_from(p).ok()));
                        }/>
                </label>
            </form>
            <p class="note" role="status">{move || fill(
                t_string!(i18n, attention.memory_status),
                &[("filled", &filled.get()), ("positions", &POSITIONS)],
            )}</p>
            <div class="memory-grids">
                {Variant::ALL.into_iter().map(|v| {
                    let shot = Signal::derive(move || {
                        snapshots.with(|s| s.iter().find(|(sv, _)| *sv == v).map(|(_, shot)| shot.clone()))
                    });
                    view! { <VariantMemory variant=v shot inspect hovered choose=choose.clone()/> }
                }).collect_view()}
            </div>
        </section>
    }
}

/// The widest layout's values per position (MHA's): grids are drawn as a
/// share of it, so areas compare.
fn widest() -> usize {
    Variant::ALL
        .iter()
        .map(|&v| width_of(&CacheLayout::of(&Config::new(v))))
        .max()
        .unwrap_or(1)
}

fn width_of(layout: &CacheLayout) -> usize {
    layout.columns.iter().map(|c| c.values()).sum()
}

#[component]
fn VariantMemory(
    variant: Variant,
    #[prop(into)] shot: Signal<Option<Snapshot>>,
    inspect: Signal<Option<usize>>,
    hovered: RwSignal<Option<usize>>,
    choose: impl Fn(Option<usize>) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let layout = CacheLayout::of(&Config::new(variant));
    let width = width_of(&layout);
    let share = 100.0 * width as f64 / widest() as f64;
    let per_position = layout.bytes_per_position();
    let layers = layout.layers;
    let filled_per_layer = move || {
        shot.with(|s| {
            s.as_ref()
                .map_or(vec![0; layers], |s| s.cells.iter().map(Vec::len).collect())
        })
    };
    let bytes = move || shot.with(|s| s.as_ref().map_or(0, |s| cell_bytes(&s.cells)));
    let measured = move || shot.with(|s| s.as_ref().map_or(0, |s| s.measured));
    // Column offsets, in values, for the head-sharing lines.
    let mut offsets = Vec::new();
    let mut at = 0;
    for c in &layout.columns {
        offsets.push((at, c.values()));
        at += c.values();
    }
    let heads = layout.reads.len();
    let lines: Vec<(f64, f64)> = layout
        .reads
        .iter()
        .enumerate()
        .flat_map(|(h, cols)| {
            let hx = (h as f64 + 0.5) * width as f64 / heads as f64;
            cols.iter()
                .map(|&c| (hx, offsets[c].0 as f64 + offsets[c].1 as f64 / 2.0))
                .collect::<Vec<_>>()
        })
        .collect();
    let column_names: Vec<(f64, f64, String)> = layout
        .columns
        .iter()
        .zip(&offsets)
        .map(|(c, &(x, w))| {
            let name = match c {
                CacheColumn::KvHead { head, .. } => format!("KV{head}"),
                CacheColumn::Latent { .. } => "c_KV".to_string(),
                CacheColumn::RopeKey { .. } => "k_R".to_string(),
            };
            (x as f64, w as f64, name)
        })
        .collect();
    let label = variant.label();
    let choose_click = choose.clone();
    view! {
        <figure class="memory" data-testid=format!("kv-memory-{}", slug(variant))
            data-filled={move || filled_per_layer().iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")}
            data-bytes=move || bytes().to_string()
            data-measured=move || measured().to_string()
            data-bytes-per-position=per_position.to_string()
            style=format!("width: {share:.1}%")>
            <figcaption>
                <strong>{label}</strong>" "
                {move || fill(
                    t_string!(i18n, attention.memory_caption),
                    &[("per_position", &per_position), ("bytes", &group(bytes())), ("measured", &group(measured()))],
                )}
            </figcaption>
            <svg class="head-lines" viewBox=format!("0 0 {width} 24") preserveAspectRatio="none" role="img"
                aria-label=move || fill(
                    t_string!(i18n, attention.memory_sharing),
                    &[("variant", &label), ("heads", &heads), ("columns", &offsets.len())],
                )>
                {lines.into_iter().map(|(hx, cx)| view! {
                    <line x1=hx y1="3" x2=cx y2="21" stroke="currentColor" stroke-width="0.6" vector-effect="non-scaling-stroke"/>
                }).collect_view()}
                {(0..heads).map(|h| {
                    let hx = (h as f64 + 0.5) * width as f64 / heads as f64;
                    // A tick, not a circle: the drawing is stretched to the grid's width.
                    view! { <line x1=hx y1="0" x2=hx y2="5" class="query-head" stroke-width="8" vector-effect="non-scaling-stroke"/> }
                }).collect_view()}
                {column_names.iter().map(|(x, w, _)| view! {
                    <rect x=*x + 0.5 y="20" width=(w - 1.0).max(0.5) height="4" class="cache-column"/>
                }).collect_view()}
            </svg>
            <p class="column-names" aria-hidden="true">
                {column_names.into_iter().map(|(_, w, name)| view! {
                    <span style=format!("width: {:.2}%", 100.0 * w / width as f64)>{name}</span>
                }).collect_view()}
            </p>
            {(0..layers).map(|layer| {
                let canvas = NodeRef::<html::Canvas>::new();
                Effect::new(move |_| {
                    let rows = shot.with(|s| s.as_ref().and_then(|s| s.cells.get(layer).cloned()).unwrap_or_default());
                    if let Some(c) = canvas.get() {
                        paint_layer(&c, &rows, width);
                    }
                });
                let at_pointer = move |ev: &web_sys::MouseEvent| -> Option<usize> {
                    let c = canvas.get_untracked()?;
                    let r = c.get_bounding_client_rect();
                    let p = ((ev.client_y() as f64 - r.top()) / r.height() * POSITIONS as f64).floor();
                    (0.0..POSITIONS as f64).contains(&p).then_some(p as usize)
                };
                let choose = choose_click.clone();
                view! {
                    <div class="layer-grid">
                        <span class="layer-name">{move || fill(t_string!(i18n, attention.memory_layer), &[("layer", &layer)])}</span>
                        <div class="grid-frame">
                            <canvas node_ref=canvas class="pixels cache-grid" width=width height=POSITIONS
                                data-testid=format!("kv-memory-{}-layer{layer}", slug(variant))
                                role="img"
                                aria-label=move || fill(
                                    t_string!(i18n, attention.memory_grid_label),
                                    &[("variant", &label), ("layer", &layer), ("filled", &filled_per_layer().get(layer).copied().unwrap_or(0)), ("positions", &POSITIONS)],
                                )
                                on:mousemove=move |ev| hovered.set(at_pointer(&ev))
                                on:mouseleave=move |_| hovered.set(None)
                                on:click=move |ev| choose(at_pointer(&ev))></canvas>
                            {move || inspect.get().map(|p| view! { <RowMark row=p rows=POSITIONS/> })}
                        </div>
                    </div>
                }
            }).collect_view()}
            {move || inspect.get().and_then(|p| shot.with(|s| s.as_ref().map(|s| detail(s, p, heads)))).flatten().map(|rows| view! {
                <table class="numbers memory-detail" data-testid=format!("kv-memory-{}-detail", slug(variant))>
                    <caption>{move || fill(t_string!(i18n, attention.memory_detail), &[("position", &rows.0)])}</caption>
                    <tbody>
                        {rows.1.into_iter().map(|(layer, values, weights)| view! {
                            <tr>
                                <th scope="row">{move || fill(t_string!(i18n, attention.memory_layer), &[("layer", &layer)])}</th>
                                <td class="vector">{values}</td>
                                <td>{weights}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </figure>
    }
}

/// For position `p`: each layer's cached vector (first column, a few
/// values) and the weight each query head gave it at the latest step.
#[allow(clippy::type_complexity)]
fn detail(s: &Snapshot, p: usize, heads: usize) -> Option<(usize, Vec<(usize, String, String)>)> {
    let rows = s
        .cells
        .iter()
        .enumerate()
        .filter_map(|(layer, cells)| {
            let cell = cells.get(p)?;
            let values = cell
                .iter()
                .map(|c| {
                    let shown: Vec<String> = c.iter().take(6).map(|v| format!("{v:+.2}")).collect();
                    format!("[{} …] ({})", shown.join(" "), c.len())
                })
                .collect::<Vec<_>>()
                .join(" · ");
            let weights = s
                .attention
                .get(layer)
                .map(|w| {
                    let len = w.len() / heads.max(1);
                    (0..heads)
                        .filter_map(|h| w.get(h * len + p).map(|x| format!("h{h} {x:.2}")))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            Some((layer, values, weights))
        })
        .collect::<Vec<_>>();
    (!rows.is_empty()).then_some((p, rows))
}
