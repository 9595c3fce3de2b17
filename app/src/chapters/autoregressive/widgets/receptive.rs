//! "What does pixel i see?": for the chosen pixel, each model's
//! conditional drawn over the image. Which earlier pixels it can depend on
//! (from the model's own weights and masks, `compute::models::ar::receptive`)
//! and what each pixel of the visitor's drawing contributes to its logit.
//! Rendering only; every number comes from compute.

use compute::models::ar::{
    receptive::{contributions, count, dependencies, sees, Attribution},
    ArKind, PIXELS, SIDE,
};
use leptos::{html, prelude::*};

use super::{
    pixels::{diverging, put_rgba},
    use_ar_state, ModelLoading, RunFailure,
};
use crate::{
    chapters::autoregressive::session::runner,
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{format::fill, live_backend, math::Prose, widget::UrlNotices},
};

/// Light grey: after pixel i, outside any conditional.
const LATER: [u8; 4] = [236, 239, 243, 255];
/// Amber: before pixel i, yet out of the model's reach (PixelCNN's blind spot).
const BLIND: [u8; 4] = [251, 191, 36, 255];
/// Pixel i itself.
const CHOSEN: [u8; 4] = [220, 38, 38, 255];

/// A map over the image for pixel `i`: `values` where the model sees,
/// scaled by their largest magnitude; the blind spot and later pixels apart.
fn paint_map(canvas: &web_sys::HtmlCanvasElement, values: &[f32], seen: &[bool], i: usize) {
    let max = values
        .iter()
        .zip(seen)
        .filter(|(_, &s)| s)
        .map(|(v, _)| v.abs())
        .fold(1e-9f32, f32::max);
    let mut rgba = Vec::with_capacity(PIXELS * 4);
    for j in 0..PIXELS {
        let c = if j == i {
            CHOSEN
        } else if seen[j] {
            diverging(values[j] / max)
        } else if j < i {
            BLIND
        } else {
            LATER
        };
        rgba.extend_from_slice(&c);
    }
    put_rgba(canvas, &rgba, SIDE);
}

/// One model's view of pixel i, computed on the CPU reference of the
/// weights the page loaded (the gradient needs candle's backprop), with the
/// logit itself from the live backend.
#[derive(Debug, Clone, PartialEq)]
struct View {
    pixel: usize,
    seen: Vec<bool>,
    dependencies: Vec<f32>,
    contributions: Vec<f32>,
    attribution: Attribution,
    /// Pixel i's logit on the active backend, and Σ contributions.
    logit: f32,
    total: f32,
}

fn attribution_words(a: Attribution, locale: Locale) -> &'static str {
    match a {
        Attribution::Exact => td_string!(locale, autoregressive.receptive_exact),
        Attribution::GradientTimesInput => td_string!(locale, autoregressive.receptive_estimate),
    }
}

/// What the dependency map's colour means for each model.
fn dependency_words(kind: ArKind, locale: Locale) -> &'static str {
    match kind {
        ArKind::Fvsbn => td_string!(locale, autoregressive.receptive_dep_fvsbn),
        ArKind::Nade => td_string!(locale, autoregressive.receptive_dep_nade),
        ArKind::Made => td_string!(locale, autoregressive.receptive_dep_made),
        ArKind::PixelCnn => td_string!(locale, autoregressive.receptive_dep_pixelcnn),
    }
}

#[component]
pub fn ArReceptive() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_ar_state();
    let pixel = Memo::new(move |_| state.get().pixel as usize);
    let image = Memo::new(move |_| state.get().image());
    let choose = move |p: usize| {
        let mut next = state.get_untracked();
        if next.pixel as usize != p && p < PIXELS {
            next.pixel = p as u32;
            write(next);
        }
    };
    // (pixel, count) per model, as each finishes: the section's data-count-<model>.
    let counts = RwSignal::new([None::<(usize, usize)>; 4]);
    let count_of = move |k: usize| {
        move || {
            counts
                .get()
                .get(k)
                .copied()
                .flatten()
                .filter(|&(p, _)| p == pixel.get())
                .map(|(_, c)| c.to_string())
        }
    };
    let picker = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        let (x, i) = (image.get(), pixel.get());
        if let Some(c) = picker.get() {
            let mut rgba = Vec::with_capacity(PIXELS * 4);
            for (j, &v) in x.iter().enumerate() {
                rgba.extend_from_slice(&if j == i {
                    CHOSEN
                } else if v > 0.5 {
                    [17, 24, 39, 255]
                } else if j < i {
                    [219, 234, 254, 255]
                } else {
                    [255, 255, 255, 255]
                });
            }
            put_rgba(&c, &rgba, SIDE);
        }
    });
    let at_pointer = move |ev: &web_sys::MouseEvent| -> Option<usize> {
        let c = picker.get_untracked()?;
        let r = c.get_bounding_client_rect();
        let col = ((ev.client_x() as f64 - r.left()) / r.width() * SIDE as f64).floor();
        let row = ((ev.client_y() as f64 - r.top()) / r.height() * SIDE as f64).floor();
        (0.0..SIDE as f64)
            .contains(&col)
            .then_some(())
            .filter(|_| (0.0..SIDE as f64).contains(&row))
            .map(|_| row as usize * SIDE + col as usize)
    };
    let choose_click = choose.clone();
    let choose_key = choose.clone();
    let choose_input = choose.clone();
    let where_is = move |i: usize| {
        fill(
            t_string!(i18n, autoregressive.receptive_where),
            &[("pixel", &i), ("row", &(i / SIDE)), ("col", &(i % SIDE))],
        )
    };

    view! {
        <section class="widget" data-testid="ar-receptive" data-pixel=move || pixel.get().to_string()
            data-count-fvsbn=count_of(0) data-count-nade=count_of(1) data-count-made=count_of(2)
            data-count-pixelcnn=count_of(3)
            aria-labelledby="ar-receptive-title">
            <h2 id="ar-receptive-title">{t!(i18n, autoregressive.receptive_title)}</h2>
            <p>{move || view! { <Prose text=t_string!(i18n, autoregressive.receptive_intro).to_string()/> }}</p>
            <UrlNotices notices=notices/>
            <div class="receptive-layout">
                <div class="drawing">
                    <canvas
                        node_ref=picker
                        class="pixels picker"
                        width=SIDE
                        height=SIDE
                        tabindex="0"
                        role="slider"
                        aria-label=move || t_string!(i18n, autoregressive.receptive_picker_label)
                        aria-valuemin="0"
                        aria-valuemax=PIXELS - 1
                        aria-valuenow=move || pixel.get()
                        aria-valuetext=move || where_is(pixel.get())
                        data-testid="ar-receptive-picker"
                        on:click=move |ev| {
                            if let Some(p) = at_pointer(&ev) {
                                choose_click(p);
                            }
                        }
                        on:keydown=move |ev: web_sys::KeyboardEvent| {
                            let i = pixel.get_untracked() as isize;
                            let next = match ev.key().as_str() {
                                "ArrowLeft" => i - 1,
                                "ArrowRight" => i + 1,
                                "ArrowUp" => i - SIDE as isize,
                                "ArrowDown" => i + SIDE as isize,
                                "Home" => 0,
                                "End" => PIXELS as isize - 1,
                                _ => return,
                            };
                            ev.prevent_default();
                            choose_key(next.clamp(0, PIXELS as isize - 1) as usize);
                        }
                    ></canvas>
                    <form class="controls" on:submit=|ev| ev.prevent_default()>
                        <label>
                            <span>{t!(i18n, autoregressive.receptive_pixel_label)}</span>
                            <input
                                type="number"
                                min="0"
                                max=PIXELS - 1
                                data-testid="ar-receptive-pixel"
                                prop:value=move || pixel.get()
                                on:change=move |ev| {
                                    if let Ok(v) = event_target_value(&ev).trim().parse::<usize>() {
                                        choose_input(v.min(PIXELS - 1));
                                    }
                                }
                            />
                        </label>
                    </form>
                    <p class="note" role="status">{move || where_is(pixel.get())}</p>
                    <ul class="legend">
                        <li><span class="swatch" style="background:#dc2626"></span>{t!(i18n, autoregressive.receptive_key_chosen)}</li>
                        <li><span class="swatch" style="background:#fbbf24"></span>{t!(i18n, autoregressive.receptive_key_blind)}</li>
                        <li><span class="swatch" style="background:#eceff3"></span>{t!(i18n, autoregressive.receptive_key_later)}</li>
                        <li><span class="swatch" style="background:#1d4ed8"></span>{t!(i18n, autoregressive.receptive_key_positive)}</li>
                        <li><span class="swatch" style="background:#b45309"></span>{t!(i18n, autoregressive.receptive_key_negative)}</li>
                    </ul>
                </div>
                <div class="model-scores">
                    {ArKind::ALL
                        .into_iter()
                        .enumerate()
                        .map(|(k, kind)| {
                            let found = move |p, c| counts.update(|all| all[k] = Some((p, c)));
                            view! { <ModelReceptive kind pixel image found/> }
                        })
                        .collect_view()}
                </div>
            </div>
        </section>
    }
}

#[component]
fn ModelReceptive(
    kind: ArKind,
    pixel: Memo<usize>,
    image: Memo<Vec<f32>>,
    /// Told (pixel, count) once the model's view of that pixel is ready.
    found: impl Fn(usize, usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let progress = RwSignal::new((0u64, 0u64));
    let view_of = LocalResource::new(move || {
        let (i, x) = (pixel.get(), image.get());
        live_backend::gpu_epoch();
        async move {
            let backend = live_backend::backend().await;
            let r = runner(kind, &backend, move |l, t| progress.set((l, t)))
                .await
                .map_err(RunFailure::Load)?;
            let failed = |e: compute::ComputeError| RunFailure::Compute(e.to_string());
            let logits = r.logits(&x).await.map_err(failed)?;
            let (contributions, attribution) = contributions(&r.model, &x, i).map_err(failed)?;
            let seen = sees(&r.model, i);
            found(i, count(&seen));
            Ok::<_, RunFailure>(View {
                pixel: i,
                seen,
                dependencies: dependencies(&r.model, i),
                total: contributions.iter().sum(),
                contributions,
                attribution,
                logit: logits[i],
            })
        }
    });
    let slug = kind.slug();
    view! {
        <figure class="model-score receptive" data-testid=format!("ar-receptive-{slug}")>
            <figcaption><strong>{kind.title()}</strong></figcaption>
            <Transition fallback=move || view! { <ModelLoading progress/> }>
                {move || Suspend::new(async move {
                    match view_of.await {
                        Ok(v) => view! { <ReceptiveMaps kind v/> }.into_any(),
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

#[component]
fn ReceptiveMaps(kind: ArKind, v: View) -> impl IntoView {
    let i18n = use_i18n();
    let slug = kind.slug();
    let seen_count = count(&v.seen);
    let (deps, contrib) = (
        NodeRef::<html::Canvas>::new(),
        NodeRef::<html::Canvas>::new(),
    );
    let painted = v.clone();
    Effect::new(move |_| {
        if let (Some(d), Some(c)) = (deps.get(), contrib.get()) {
            paint_map(&d, &painted.dependencies, &painted.seen, painted.pixel);
            paint_map(&c, &painted.contributions, &painted.seen, painted.pixel);
        }
    });
    let blind = v.pixel - seen_count;
    let (pixel, logit, total, attribution) = (v.pixel, v.logit, v.total, v.attribution);
    view! {
        <p class="count" data-testid=format!("ar-receptive-count-{slug}") data-count=seen_count.to_string() data-blind=blind.to_string()>
            {move || fill(
                t_string!(i18n, autoregressive.receptive_count),
                &[("count", &seen_count), ("pixel", &pixel), ("blind", &blind)],
            )}
        </p>
        <div class="receptive-maps">
            <figure>
                <canvas node_ref=deps class="pixels" width=SIDE height=SIDE role="img"
                    aria-label=move || fill(
                        t_string!(i18n, autoregressive.receptive_dep_label),
                        &[("model", &kind.title()), ("count", &seen_count), ("pixel", &pixel)],
                    )
                    data-testid=format!("ar-receptive-deps-{slug}")></canvas>
                <figcaption>{move || dependency_words(kind, i18n.get_locale())}</figcaption>
            </figure>
            <figure>
                <canvas node_ref=contrib class="pixels" width=SIDE height=SIDE role="img"
                    aria-label=move || fill(
                        t_string!(i18n, autoregressive.receptive_contrib_label),
                        &[("model", &kind.title()), ("pixel", &pixel)],
                    )
                    data-testid=format!("ar-receptive-contrib-{slug}")></canvas>
                <figcaption>{move || attribution_words(attribution, i18n.get_locale())}</figcaption>
            </figure>
        </div>
        <p class="note" data-testid=format!("ar-receptive-logit-{slug}") data-logit=logit.to_string() data-total=total.to_string()>
            {move || fill(
                t_string!(i18n, autoregressive.receptive_logit),
                &[("pixel", &pixel), ("logit", &format!("{logit:.3}")), ("total", &format!("{total:.3}"))],
            )}
        </p>
    }
}
