//! "A window, pooled": a window dragged (or moved with the keys) over a
//! held-out scene. Its outline on the shared feature map, its pyramid of
//! 21 bins and its face score update live; nothing is convolved twice for
//! a window, which is the point of SPP-net.

use compute::{
    faces::scenes::{face_width, MAX_FACE_HEIGHT, MIN_FACE_HEIGHT, SIDE},
    kernels::spp::bin_bounds,
    models::spp::{
        config::{feature_side, CHANNELS, LEVELS},
        race::Pipeline,
        windows::{refine, PixelWindow},
    },
};
use leptos::{html, prelude::*, task::spawn_local};

use super::{
    FacesCredit, GreyImage, Mark, Marks, ScenePicker, SppError, SppSession, SppStatus, FACE_COLOUR,
    FOUND_COLOUR, WINDOW_COLOUR,
};
use crate::{
    chapters::spp::session::scene_source,
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, live_backend, widget::UrlNotices},
};

/// What one window gave.
#[derive(Debug, Clone, PartialEq)]
struct Pooled {
    window: PixelWindow,
    /// The scene's map's mean over channels, 64 × 64, for display.
    map: Vec<f32>,
    /// Each bin's maxima averaged over the channels, 21 values.
    bins: Vec<f32>,
    score: f32,
    refined: [f64; 4],
}

/// Moves or resizes the window by a key; None for other keys.
pub fn key_move(w: PixelWindow, key: &str, shift: bool) -> Option<(u32, u32, u32)> {
    let step = if shift { 16 } else { 4 };
    let (mut x, mut y, mut h) = (w.x as i64, w.y as i64, w.h as i64);
    match key {
        "ArrowLeft" => x -= step,
        "ArrowRight" => x += step,
        "ArrowUp" => y -= step,
        "ArrowDown" => y += step,
        "+" | "=" => h += 4,
        "-" | "_" => h -= 4,
        _ => return None,
    }
    Some(clamp_window(x, y, h))
}

/// A window inside the scene with a face's height range.
pub fn clamp_window(x: i64, y: i64, h: i64) -> (u32, u32, u32) {
    let h = h.clamp(MIN_FACE_HEIGHT as i64, MAX_FACE_HEIGHT as i64) as usize;
    let w = face_width(h);
    (
        x.clamp(0, (SIDE - w) as i64) as u32,
        y.clamp(0, (SIDE - h) as i64) as u32,
        h as u32,
    )
}

#[component]
pub fn SppWindow() -> impl IntoView {
    let i18n = use_i18n();
    let session = SppSession::use_or_new();
    let scene_pixels = RwSignal::new(Vec::<f32>::new());
    let faces = RwSignal::new(Vec::<[f64; 4]>::new());
    let pooled = RwSignal::new(None::<Pooled>);
    let source = Memo::new(move |_| session.state.get().scene);
    Effect::new(move |_| {
        let k = source.get();
        spawn_local(async move {
            match scene_source().await.and_then(|f| f.scene(k)) {
                Ok(s) => {
                    faces.set(s.faces.iter().map(|f| f.bbox).collect());
                    scene_pixels.set(s.pixels);
                }
                Err(e) => session.error.set(Some(SppError::Load(e))),
            }
        });
    });
    let window = Memo::new(move |_| session.state.get().window());
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let w = window.get();
        let image = scene_pixels.get();
        let _epoch = live_backend::gpu_epoch();
        if image.is_empty() {
            return;
        }
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        spawn_local(async move {
            let outcome = async {
                let runner = session.runner().await?;
                let failed = |e: compute::ComputeError| SppError::Failed(e.to_string());
                let (map, pyramid) = runner
                    .pyramids(&image, SIDE, SIDE, &[w.cells()])
                    .await
                    .map_err(failed)?;
                let lap = runner
                    .run(Pipeline::Spp, &image, &[w])
                    .await
                    .map_err(failed)?;
                let o = &lap.outputs;
                let means: Vec<f32> = map
                    .chunks(CHANNELS)
                    .map(|c| c.iter().sum::<f32>() / CHANNELS as f32)
                    .collect();
                let top = means.iter().cloned().fold(1e-6, f32::max);
                Ok::<_, SppError>(Pooled {
                    window: w,
                    map: means.iter().map(|v| v / top).collect(),
                    bins: pyramid
                        .chunks(CHANNELS)
                        .map(|c| c.iter().sum::<f32>() / CHANNELS as f32)
                        .collect(),
                    score: 1.0 / (1.0 + (-o[0]).exp()),
                    refined: refine(&w, [o[1], o[2], o[3], o[4]]),
                })
            }
            .await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            session.finish(outcome, |p| pooled.set(Some(p)));
        });
    });

    // Dragging: the window follows the pointer from where it was grabbed.
    let stage = NodeRef::<html::Div>::new();
    let grab = RwSignal::new(None::<(f64, f64)>);
    let at = move |ev: &web_sys::PointerEvent| -> Option<(f64, f64)> {
        let el = stage.get_untracked()?;
        let rect = el.get_bounding_client_rect();
        Some((
            (ev.client_x() as f64 - rect.left()) / rect.width() * SIDE as f64,
            (ev.client_y() as f64 - rect.top()) / rect.height() * SIDE as f64,
        ))
    };
    let on_down = move |ev: web_sys::PointerEvent| {
        let Some((px, py)) = at(&ev) else { return };
        let w = window.get_untracked();
        // Grabbed inside: keep the offset; outside: centre the window there.
        let inside = px >= w.x as f64
            && px < (w.x + w.w) as f64
            && py >= w.y as f64
            && py < (w.y + w.h) as f64;
        let offset = if inside {
            (px - w.x as f64, py - w.y as f64)
        } else {
            (w.w as f64 / 2.0, w.h as f64 / 2.0)
        };
        grab.set(Some(offset));
        if let Some(el) = stage.get_untracked() {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        let (x, y, h) = clamp_window((px - offset.0) as i64, (py - offset.1) as i64, w.h as i64);
        session.update(|s| (s.wx, s.wy, s.wh) = (x, y, h));
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        let (Some(offset), Some((px, py))) = (grab.get_untracked(), at(&ev)) else {
            return;
        };
        let w = window.get_untracked();
        let (x, y, h) = clamp_window((px - offset.0) as i64, (py - offset.1) as i64, w.h as i64);
        if (x, y) != (w.x as u32, w.y as u32) {
            session.update(|s| (s.wx, s.wy, s.wh) = (x, y, h));
        }
    };
    let on_up = move |_| grab.set(None);
    let on_key = move |ev: web_sys::KeyboardEvent| {
        if let Some((x, y, h)) = key_move(window.get_untracked(), &ev.key(), ev.shift_key()) {
            ev.prevent_default();
            session.update(|s| (s.wx, s.wy, s.wh) = (x, y, h));
        }
    };
    let scene_marks = Signal::derive(move || {
        let mut marks: Vec<Mark> = faces
            .get()
            .into_iter()
            .map(|bbox| Mark {
                bbox,
                colour: FACE_COLOUR,
                text: String::new(),
                dashed: true,
            })
            .collect();
        let w = window.get();
        marks.push(Mark {
            bbox: w.bbox(),
            colour: WINDOW_COLOUR,
            text: pooled
                .get()
                .filter(|p| p.window == w)
                .map(|p| format!("{:.0}%", p.score * 100.0))
                .unwrap_or_default(),
            dashed: false,
        });
        if let Some(p) = pooled.get().filter(|p| p.window == w) {
            marks.push(Mark {
                bbox: p.refined,
                colour: FOUND_COLOUR,
                text: String::new(),
                dashed: true,
            });
        }
        marks
    });
    let side = feature_side(SIDE);
    let cell_marks = Signal::derive(move || {
        let c = window.get().cells();
        vec![Mark {
            bbox: [
                c.x0 as f64,
                c.y0 as f64,
                (c.x1 - c.x0) as f64,
                (c.y1 - c.y0) as f64,
            ],
            colour: WINDOW_COLOUR,
            text: String::new(),
            dashed: false,
        }]
    });
    view! {
        <section class="widget" data-testid="spp-window" aria-labelledby="spp-window-title">
            <h2 id="spp-window-title">{t!(i18n, spp.window_title)}</h2>
            <p>{t!(i18n, spp.window_intro)}</p>
            <UrlNotices notices=session.notices/>
            <SppStatus session/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <ScenePicker session testid="spp-window-scene"/>
                <label>
                    <span>{t!(i18n, spp.window_height)}</span>
                    <input type="range" min=MIN_FACE_HEIGHT max=MAX_FACE_HEIGHT step="4" data-testid="spp-window-height"
                        prop:value=move || session.state.get().wh.to_string()
                        on:input={move |ev| { if let Ok(h) = event_target_value(&ev).parse::<i64>() {
                            let w = window.get_untracked();
                            let (x, y, h) = clamp_window(w.x as i64, w.y as i64, h);
                            session.update(|s| (s.wx, s.wy, s.wh) = (x, y, h));
                        } }}/>
                </label>
            </form>
            <div class="spp-window-views">
                <div class="spp-stage" node_ref=stage tabindex="0" role="application"
                    aria-label=move || {
                        let w = window.get();
                        fill(t_string!(i18n, spp.window_stage_label), &[("x", &w.x), ("y", &w.y), ("w", &w.w), ("h", &w.h)])
                    }
                    data-testid="spp-window-stage"
                    on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up on:pointercancel=on_up
                    on:keydown=on_key>
                    <GreyImage values=scene_pixels width=SIDE height=SIDE
                        label=Signal::derive(move || t_string!(i18n, spp.scene_label).to_string())
                        testid="spp-window-scene-image".into()/>
                    <Marks marks=scene_marks width=SIDE height=SIDE/>
                </div>
                <div class="spp-map">
                    <GreyImage values=Signal::derive(move || pooled.get().map(|p| p.map).unwrap_or_default())
                        width=side height=side
                        label=Signal::derive(move || t_string!(i18n, spp.window_map_label).to_string())
                        testid="spp-window-map".into()/>
                    <Marks marks=cell_marks width=side height=side/>
                </div>
                <div class="spp-pyramid" role="img" data-testid="spp-window-pyramid"
                    aria-label=move || t_string!(i18n, spp.window_pyramid_label)>
                    {move || {
                        let Some(p) = pooled.get() else { return ().into_any() };
                        let top = p.bins.iter().cloned().fold(1e-6, f32::max);
                        let mut at = 0;
                        LEVELS.iter().map(|&n| {
                            let cells: Vec<f32> = p.bins[at..at + n * n].to_vec();
                            at += n * n;
                            view! {
                                <span class="spp-level" style=format!("grid-template-columns:repeat({n},1fr)")>
                                    {cells.into_iter().map(|v| {
                                        let g = (255.0 * v / top) as u8;
                                        view! { <span style=format!("background:rgb({g},{g},{g})")></span> }
                                    }).collect_view()}
                                </span>
                            }
                        }).collect_view().into_any()
                    }}
                </div>
            </div>
            <p class="spp-window-facts" data-testid="spp-window-facts"
                data-score=move || pooled.get().map(|p| p.score.to_string()).unwrap_or_default()>
                {move || pooled.get().map(|p| {
                    let c = p.window.cells();
                    let (cw, ch) = (c.x1 - c.x0, c.y1 - c.y0);
                    let bins: Vec<String> = LEVELS.iter().map(|&n| {
                        let (a, b) = bin_bounds(0, n, cw);
                        let (d, e) = bin_bounds(0, n, ch);
                        format!("{n}×{n}: {}×{}", b - a, e - d)
                    }).collect();
                    fill(t_string!(i18n, spp.window_facts), &[
                        ("w", &p.window.w), ("h", &p.window.h), ("cw", &cw), ("ch", &ch),
                        ("bins", &bins.join(", ")), ("score", &format!("{:.1}", p.score * 100.0)),
                    ])
                })}
            </p>
            <FacesCredit/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_move_and_resize_within_the_scene() {
        let w = PixelWindow {
            x: 0,
            y: 10,
            w: face_width(40),
            h: 40,
            scale: 0,
        };
        assert_eq!(key_move(w, "ArrowLeft", false), Some((0, 10, 40)));
        assert_eq!(key_move(w, "ArrowDown", true), Some((0, 26, 40)));
        assert_eq!(key_move(w, "+", false), Some((0, 10, 44)));
        assert_eq!(key_move(w, "x", false), None);
        assert_eq!(clamp_window(1000, -5, 500), ((SIDE - 92) as u32, 0, 112));
    }
}
