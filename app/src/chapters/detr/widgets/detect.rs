//! "Detect": the visitor's 96×96 canvas (drawn with mouse, pen, touch or
//! keys; real test digits dropped in; a photo uploaded), and the detector's
//! boxes, labels and scores over it, above a confidence threshold.

use compute::{
    inputs::SplitMix64,
    models::detr::{
        drawing::{canvas_to_code, drop_digit},
        scenes::{CANVAS, MAX_HEIGHT, MIN_HEIGHT},
    },
};
use leptos::{html, prelude::*, task::spawn_local};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{paint_gray, query_colour, BoxMark, BoxOverlay, DetrSession, DetrStatus};
use crate::chapters::autoregressive::session::test_digits;
use crate::{
    chapters::{autoregressive::session::ModelLoadError, detr::session::backend_name},
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{
        file_picker::FilePicker,
        format::fill,
        pad_keys::{pad_key, summary, PadKey},
        widget::UrlNotices,
    },
};

const PIXELS: usize = CANVAS * CANVAS;

/// Brush radii in canvas pixels: thin strokes are about as wide as a small
/// MNIST digit's.
const BRUSHES: [f64; 3] = [0.8, 1.5, 2.4];

/// A brush's name, thinnest first.
fn brush_name(i: usize, locale: Locale) -> &'static str {
    match i {
        0 => td_string!(locale, detr.brush_thin),
        1 => td_string!(locale, detr.brush_medium),
        _ => td_string!(locale, detr.brush_thick),
    }
}

/// Stamps a soft round brush at (x, y): full ink within `r`, fading over
/// one pixel; erasing takes ink away the same way.
fn stamp(pixels: &mut [f32], x: f64, y: f64, r: f64, erase: bool) {
    let reach = (r + 1.0).ceil() as i64;
    for py in (y as i64 - reach)..=(y as i64 + reach) {
        for px in (x as i64 - reach)..=(x as i64 + reach) {
            if !(0..CANVAS as i64).contains(&px) || !(0..CANVAS as i64).contains(&py) {
                continue;
            }
            let d = ((px as f64 + 0.5 - x).powi(2) + (py as f64 + 0.5 - y).powi(2)).sqrt();
            let v = (r + 0.5 - d).clamp(0.0, 1.0) as f32;
            let p = &mut pixels[py as usize * CANVAS + px as usize];
            *p = if erase { p.min(1.0 - v) } else { p.max(v) };
        }
    }
}

/// A line of stamps from a to b, half a pixel apart.
fn stroke(pixels: &mut [f32], a: (f64, f64), b: (f64, f64), r: f64, erase: bool) {
    let steps = (((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt() * 2.0)
        .ceil()
        .max(1.0) as usize;
    for k in 0..=steps {
        let t = k as f64 / steps as f64;
        stamp(
            pixels,
            a.0 + (b.0 - a.0) * t,
            a.1 + (b.1 - a.1) * t,
            r,
            erase,
        );
    }
}

/// The raw outputs, for tests that compare them with the native reference.
fn join(values: Option<&Vec<f32>>) -> String {
    values
        .map(|v| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// A seed that differs between clicks.
fn fresh_seed() -> u64 {
    (js_sys::Math::random() * 9.0e15) as u64
}

/// Grayscale from RGBA, inverted when the background is light (a photo of
/// dark ink on paper), then stretched so the background is 0 and the
/// strongest ink 1. Returns the pixels and whether it inverted.
pub fn photo_to_canvas(rgba: &[u8]) -> (Vec<f32>, bool) {
    let mut gray: Vec<f32> = rgba
        .chunks(4)
        .map(|p| (p[0] as f32 + p[1] as f32 + p[2] as f32) / (3.0 * 255.0))
        .collect();
    let mut sorted = gray.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    let inverted = median > 0.5;
    if inverted {
        gray.iter_mut().for_each(|v| *v = 1.0 - *v);
        sorted = gray.clone();
        sorted.sort_by(f32::total_cmp);
    }
    let background = sorted[sorted.len() * 3 / 5];
    // The 99.9th percentile: a few hot pixels do not set the scale.
    let ink = sorted[sorted.len() - 1 - sorted.len() / 1000];
    let span = (ink - background).max(1e-3);
    let out = gray
        .iter()
        .map(|v| {
            let s = ((v - background) / span).clamp(0.0, 1.0);
            if s < 0.25 {
                0.0
            } else {
                s
            }
        })
        .collect();
    (out, inverted)
}

/// Why a file could not become the canvas.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoError {
    NoWindow,
    NoDocument,
    NoCanvas,
    NoContext,
    Unreadable,
    /// Not an image the browser decodes; the file's name.
    Undecodable(String),
    NoImage,
    Empty,
    CannotDraw,
    CannotRead,
}

impl PhotoError {
    pub fn say(&self, locale: Locale) -> String {
        match self {
            PhotoError::NoWindow => td_string!(locale, detr.photo_no_window).into(),
            PhotoError::NoDocument => td_string!(locale, detr.photo_no_document).into(),
            PhotoError::NoCanvas => td_string!(locale, detr.photo_no_canvas).into(),
            PhotoError::NoContext => td_string!(locale, detr.photo_no_context).into(),
            PhotoError::Unreadable => td_string!(locale, detr.photo_unreadable).into(),
            PhotoError::Undecodable(name) => fill(
                td_string!(locale, detr.photo_undecodable),
                &[("name", name)],
            ),
            PhotoError::NoImage => td_string!(locale, detr.photo_no_image).into(),
            PhotoError::Empty => td_string!(locale, detr.photo_empty).into(),
            PhotoError::CannotDraw => td_string!(locale, detr.photo_cannot_draw).into(),
            PhotoError::CannotRead => td_string!(locale, detr.photo_cannot_read).into(),
        }
    }
}

/// The line under the controls: what the last button or upload did. Kept
/// as what happened, and worded when shown, so it follows the language.
#[derive(Debug, Clone, PartialEq)]
enum Note {
    None,
    Added { index: usize, label: u8 },
    NoSpace,
    DigitsFailed(ModelLoadError),
    Reading(String),
    PhotoLoaded { inverted: bool },
    UploadFailed(PhotoError),
}

impl Note {
    fn say(&self, locale: Locale) -> String {
        match self {
            Note::None => String::new(),
            Note::Added { index, label } => fill(
                td_string!(locale, detr.note_added),
                &[("index", index), ("label", label)],
            ),
            Note::NoSpace => td_string!(locale, detr.note_no_space).into(),
            Note::DigitsFailed(e) => fill(
                td_string!(locale, detr.note_digits_failed),
                &[("error", &e.say(locale))],
            ),
            Note::Reading(name) => fill(td_string!(locale, detr.note_reading), &[("name", name)]),
            Note::PhotoLoaded { inverted: true } => {
                td_string!(locale, detr.note_photo_inverted).into()
            }
            Note::PhotoLoaded { inverted: false } => {
                td_string!(locale, detr.note_photo_loaded).into()
            }
            Note::UploadFailed(e) => fill(
                td_string!(locale, detr.note_upload_failed),
                &[("error", &e.say(locale))],
            ),
        }
    }
}

/// A photo fitted whole, centred, into a `side` × `side` square on a
/// background of its own corner colour: RGBA bytes (chapter 9 reads it too).
pub async fn read_photo_rgba(file: web_sys::File, side: usize) -> Result<Vec<u8>, PhotoError> {
    let window = web_sys::window().ok_or(PhotoError::NoWindow)?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(
        window
            .create_image_bitmap_with_blob(&file)
            .map_err(|_| PhotoError::Unreadable)?,
    )
    .await
    .map_err(|_| PhotoError::Undecodable(file.name()))?
    .dyn_into()
    .map_err(|_| PhotoError::NoImage)?;
    let document = window.document().ok_or(PhotoError::NoDocument)?;
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .map_err(|_| PhotoError::NoCanvas)?
        .dyn_into()
        .map_err(|_| PhotoError::NoCanvas)?;
    canvas.set_width(side as u32);
    canvas.set_height(side as u32);
    let ctx: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or(PhotoError::NoContext)?;
    // Fit the whole photo, centred, on a background of its own corner colour.
    let (w, h) = (bitmap.width() as f64, bitmap.height() as f64);
    if w < 1.0 || h < 1.0 {
        return Err(PhotoError::Empty);
    }
    let scale = side as f64 / w.max(h);
    let (dw, dh) = (w * scale, h * scale);
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, 1.0, 1.0)
        .map_err(|_| PhotoError::CannotDraw)?;
    let corner = ctx
        .get_image_data(0.0, 0.0, 1.0, 1.0)
        .map_err(|_| PhotoError::CannotRead)?
        .data();
    ctx.set_fill_style_str(&format!("rgb({},{},{})", corner[0], corner[1], corner[2]));
    ctx.fill_rect(0.0, 0.0, side as f64, side as f64);
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(
        &bitmap,
        (side as f64 - dw) / 2.0,
        (side as f64 - dh) / 2.0,
        dw,
        dh,
    )
    .map_err(|_| PhotoError::CannotDraw)?;
    let data = ctx
        .get_image_data(0.0, 0.0, side as f64, side as f64)
        .map_err(|_| PhotoError::CannotRead)?
        .data();
    Ok(data.to_vec())
}

async fn read_photo(file: web_sys::File) -> Result<(Vec<f32>, bool), PhotoError> {
    Ok(photo_to_canvas(&read_photo_rgba(file, CANVAS).await?))
}

#[component]
pub fn DetrDetect() -> impl IntoView {
    let session = DetrSession::use_or_new();
    let state = session.state;
    let canvas_el = NodeRef::<html::Canvas>::new();
    let live = RwSignal::new(vec![0.0f32; PIXELS]);
    let erase = RwSignal::new(false);
    let brush = RwSignal::new(1usize);
    let last = RwSignal::new(None::<(f64, f64)>);
    let cursor = RwSignal::new(None::<(f64, f64)>);
    let note = RwSignal::new(Note::None);
    Effect::new(move |_| {
        if let Some(c) = session.canvas.get() {
            live.set(c.pixels);
        }
    });
    Effect::new(move |_| {
        let v = live.get();
        if let Some(c) = canvas_el.get() {
            paint_gray(&c, &v, CANVAS, false);
        }
    });
    let commit = move |pixels: Vec<f32>| {
        session.update(|s| s.x = canvas_to_code(&pixels));
    };
    let at = move |ev: &web_sys::PointerEvent| -> Option<(f64, f64)> {
        let c = canvas_el.get_untracked()?;
        let rect = c.get_bounding_client_rect();
        let fx = (ev.client_x() as f64 - rect.left()) / rect.width();
        let fy = (ev.client_y() as f64 - rect.top()) / rect.height();
        ((0.0..1.0).contains(&fx) && (0.0..1.0).contains(&fy))
            .then_some((fx * CANVAS as f64, fy * CANVAS as f64))
    };
    let paint_to = move |p: (f64, f64)| {
        let r = BRUSHES[brush.get_untracked()];
        let from = last.get_untracked().unwrap_or(p);
        live.update(|x| stroke(x, from, p, r, erase.get_untracked()));
        last.set(Some(p));
    };
    let end = move |ev: web_sys::PointerEvent| {
        if last.get_untracked().is_some() {
            last.set(None);
            if let Some(c) = canvas_el.get_untracked() {
                let _ = c.release_pointer_capture(ev.pointer_id());
            }
            commit(live.get_untracked());
        }
    };
    // Keys (pad_keys): a step is 2 canvas pixels, about a stroke's width.
    let said = RwSignal::new(String::new());
    let i18n = use_i18n();
    let inked = move || live.with(|p| p.iter().filter(|&&v| v > 0.5).count());
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let Some(action) = pad_key(&ev.key(), ev.shift_key()) else {
            return;
        };
        ev.prevent_default();
        let (x, y) = cursor.get_untracked().unwrap_or((48.0, 48.0));
        let step = 2.0;
        let clampc = |v: f64| v.clamp(0.5, CANVAS as f64 - 0.5);
        let r = BRUSHES[brush.get_untracked()];
        let next = match action {
            PadKey::Move { rows, cols, paint } => {
                let to = (
                    clampc(x + cols as f64 * step),
                    clampc(y + rows as f64 * step),
                );
                if paint {
                    live.update(|p| stroke(p, (x, y), to, r, false));
                    commit(live.get_untracked());
                }
                to
            }
            PadKey::Paint | PadKey::Erase => {
                live.update(|p| stamp(p, x, y, r, action == PadKey::Erase));
                commit(live.get_untracked());
                (x, y)
            }
            PadKey::Leave => {
                if let Some(c) = canvas_el.get_untracked() {
                    let _ = c.blur();
                }
                return;
            }
        };
        cursor.set(Some(next));
        said.set(summary(
            i18n.get_locale_untracked(),
            (next.1 as usize, next.0 as usize),
            Some(action),
            inked(),
            PIXELS,
        ));
    };
    let add_digit = move |_| {
        spawn_local(async move {
            match test_digits().await {
                Ok(d) => {
                    let mut rng = SplitMix64::new(fresh_seed());
                    let index = (rng.next_u64() % d.labels.len() as u64) as usize;
                    let height = MIN_HEIGHT
                        + 6
                        + (rng.next_u64() % (MAX_HEIGHT - MIN_HEIGHT - 6) as u64) as usize;
                    let Some(mut pixels) = live.try_get_untracked() else {
                        return;
                    };
                    match drop_digit(
                        &mut pixels,
                        &d.images[index * 784..(index + 1) * 784],
                        height,
                        &mut rng,
                    ) {
                        Some(_) => {
                            note.set(Note::Added {
                                index,
                                label: d.labels[index],
                            });
                            commit(pixels);
                        }
                        None => note.set(Note::NoSpace),
                    }
                }
                Err(e) => note.set(Note::DigitsFailed(e)),
            }
        });
    };
    let on_upload = move |ev: web_sys::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        note.set(Note::Reading(file.name()));
        spawn_local(async move {
            match read_photo(file).await {
                Ok((pixels, inverted)) => {
                    note.set(Note::PhotoLoaded { inverted });
                    session.update(|s| {
                        s.x = canvas_to_code(&pixels);
                        s.labels.clear();
                    });
                }
                Err(e) => note.set(Note::UploadFailed(e)),
            }
        });
        input.set_value("");
    };
    let threshold = move || state.get().conf as f64 / 100.0;
    let kept = Memo::new(move |_| {
        let t = threshold();
        session
            .detected
            .get()
            .map(|d| {
                let mut q: Vec<(usize, compute::models::detr::output::QueryOutput)> = d
                    .queries()
                    .into_iter()
                    .enumerate()
                    .filter(|(_, q)| q.score >= t)
                    .collect();
                q.sort_by(|a, b| a.1.bbox[0].total_cmp(&b.1.bbox[0]));
                q
            })
            .unwrap_or_default()
    });
    let marks = Signal::derive(move || {
        kept.get()
            .into_iter()
            .map(|(i, q)| BoxMark {
                bbox: q.bbox,
                colour: query_colour(i).into(),
                text: format!("{} {:.0}%", q.label, q.score * 100.0),
                dashed: false,
            })
            .collect::<Vec<_>>()
    });
    view! {
        <section class="widget" data-testid="detr-detect" aria-labelledby="detr-detect-title">
            <h2 id="detr-detect-title">{t!(i18n, detr.detect_title)}</h2>
            <p>{t!(i18n, detr.detect_intro)}</p>
            <UrlNotices notices=session.notices/>
            <DetrStatus session/>
            <div class="detr-layout">
                <div class="detr-canvas-wrap">
                    <canvas
                        node_ref=canvas_el
                        class="pixels detr-canvas drawpad"
                        width=CANVAS
                        height=CANVAS
                        tabindex="0"
                        role="application"
                        aria-label=move || {
                            let found = kept.get();
                            let what = match found.len() {
                                0 => t_string!(i18n, detr.found_none).to_string(),
                                n => fill(
                                    if n == 1 {
                                        t_string!(i18n, detr.found_one)
                                    } else {
                                        t_string!(i18n, detr.found_many)
                                    },
                                    &[
                                        ("count", &n),
                                        (
                                            "list",
                                            &found
                                                .iter()
                                                .map(|(_, q)| fill(
                                                    t_string!(i18n, detr.found_item),
                                                    &[
                                                        ("label", &q.label),
                                                        ("score", &format!("{:.0}", q.score * 100.0)),
                                                    ],
                                                ))
                                                .collect::<Vec<_>>()
                                                .join(t_string!(i18n, detr.list_sep)),
                                        ),
                                    ],
                                ),
                            };
                            fill(
                                t_string!(i18n, detr.canvas_label),
                                &[("inked", &inked()), ("total", &PIXELS), ("found", &what)],
                            )
                        }
                        data-testid="detr-canvas"
                        data-code=move || canvas_to_code(&live.get())
                        on:pointerdown=move |ev| {
                            ev.prevent_default();
                            if let Some(c) = canvas_el.get_untracked() {
                                let _ = c.set_pointer_capture(ev.pointer_id());
                            }
                            if let Some(p) = at(&ev) {
                                last.set(None);
                                paint_to(p);
                            }
                        }
                        on:pointermove=move |ev| {
                            if last.get_untracked().is_some() {
                                if let Some(p) = at(&ev) {
                                    paint_to(p);
                                }
                            }
                        }
                        on:pointerup=end
                        on:pointercancel=end
                        on:keydown=on_key
                        on:focus=move |_| cursor.set(Some(cursor.get_untracked().unwrap_or((48.0, 48.0))))
                        on:blur=move |_| cursor.set(None)
                    ></canvas>
                    <BoxOverlay marks/>
                    {move || cursor.get().map(|(x, y)| view! {
                        <div class="detr-cursor" style=format!("left:{:.2}%;top:{:.2}%", x / 0.96, y / 0.96)></div>
                    })}
                    <p class="pad-status" aria-live="polite" data-testid="detr-canvas-status">{move || said.get()}</p>
                </div>
                <div class="detr-side">
                    <form class="controls" on:submit=|ev| ev.prevent_default()>
                        <button type="button" data-testid="detr-pen" aria-pressed=move || (!erase.get()).to_string() on:click=move |_| erase.set(false)>{t!(i18n, detr.pen)}</button>
                        <button type="button" data-testid="detr-eraser" aria-pressed=move || erase.get().to_string() on:click=move |_| erase.set(true)>{t!(i18n, detr.eraser)}</button>
                        <label>
                            <span>{t!(i18n, detr.brush)}</span>
                            <select data-testid="detr-brush" on:change=move |ev| {
                                if let Ok(i) = event_target_value(&ev).parse::<usize>() {
                                    brush.set(i.min(BRUSHES.len() - 1));
                                }
                            }>
                                {(0..BRUSHES.len()).map(|i| view! {
                                    <option value=i.to_string() selected=move || brush.get() == i>{move || brush_name(i, i18n.get_locale())}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <button type="button" data-testid="detr-clear" on:click=move |_| {
                            note.set(Note::None);
                            session.update(|s| {
                                s.x = canvas_to_code(&[0.0; PIXELS]);
                                s.labels.clear();
                            });
                        }>{t!(i18n, detr.clear)}</button>
                        <button type="button" data-testid="detr-invert" on:click=move |_| {
                            let pixels: Vec<f32> = live.get_untracked().iter().map(|v| 1.0 - v).collect();
                            commit(pixels);
                        }>{t!(i18n, detr.invert)}</button>
                    </form>
                    <form class="controls" on:submit=|ev| ev.prevent_default()>
                        <button type="button" data-testid="detr-add-digit" on:click=add_digit>{t!(i18n, detr.add_digit)}</button>
                        <button type="button" data-testid="detr-new-scene" on:click=move |_| {
                            note.set(Note::None);
                            session.update(|s| {
                                s.scene = fresh_seed() % 1_000_000;
                                s.x.clear();
                                s.labels.clear();
                            });
                        }>{t!(i18n, detr.new_scene)}</button>
                        <FilePicker accept="image/*" testid="detr-upload" on_change=on_upload>
                            {t!(i18n, detr.upload)}
                        </FilePicker>
                    </form>
                    <p class="note" role="status" data-testid="detr-note">{move || note.with(|n| n.say(i18n.get_locale()))}</p>
                    <label class="slider">
                        <span>{move || fill(t_string!(i18n, detr.threshold), &[("conf", &state.get().conf)])}</span>
                        <input
                            type="range" min="0" max="100" step="5"
                            data-testid="detr-conf"
                            prop:value=move || state.get().conf
                            on:input=move |ev| {
                                if let Ok(v) = event_target_value(&ev).parse::<u32>() {
                                    session.update(|s| s.conf = v.min(100));
                                }
                            }
                        />
                    </label>
                    <div
                        data-testid="detr-detections"
                        data-labels={move || kept.get().iter().map(|(_, q)| q.label.to_string()).collect::<Vec<_>>().join(",")}
                        data-scores={move || kept.get().iter().map(|(_, q)| format!("{:.6}", q.score)).collect::<Vec<_>>().join(",")}
                        data-runs=move || session.runs.get()
                        data-epoch={move || session.detected.get().map(|d| d.epoch.to_string()).unwrap_or_default()}
                        data-logits={move || session.detected.get().map(|d| join(d.trace.logits.last())).unwrap_or_default()}
                        data-boxes={move || session.detected.get().map(|d| join(d.trace.boxes.last())).unwrap_or_default()}
                    >
                        {move || {
                            let k = kept.get();
                            let count = if k.len() == 1 {
                                t_string!(i18n, detr.count_one)
                            } else {
                                t_string!(i18n, detr.count_many)
                            };
                            view! {
                                <p><strong>{fill(count, &[("count", &k.len())])}</strong>
                                    {fill(t_string!(i18n, detr.count_floor), &[("conf", &state.get().conf)])}</p>
                                <ul class="detections">
                                    {k.into_iter().map(|(i, q)| {
                                        let [x, y, w, h] = q.bbox;
                                        view! {
                                            <li>
                                                <span class="swatch" style=format!("background:{}", query_colour(i))></span>
                                                {fill(
                                                    t_string!(i18n, detr.detection_item),
                                                    &[
                                                        ("query", &i),
                                                        ("label", &q.label),
                                                        ("score", &format!("{:.2}", q.score)),
                                                        ("x", &format!("{x:.0}")),
                                                        ("y", &format!("{y:.0}")),
                                                        ("w", &format!("{w:.0}")),
                                                        ("h", &format!("{h:.0}")),
                                                    ],
                                                )}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }
                        }}
                    </div>
                    <p class="note" data-testid="detr-timing" data-ms=move || session.detected.get().map(|d| d.ms.to_string()).unwrap_or_default()>
                        {move || session.detected.get().map(|d| {
                            let locale = i18n.get_locale();
                            let pass = fill(
                                td_string!(locale, detr.timing),
                                &[
                                    ("ms", &format!("{:.1}", d.ms)),
                                    ("backend", &backend_name(d.adapter.as_deref(), locale)),
                                ],
                            );
                            if d.epoch > 0 {
                                pass + td_string!(locale, detr.timing_lost)
                            } else {
                                pass
                            }
                        })}
                        // Both backends side by side, once Auto has measured them.
                        {move || {
                            session.detected.track();
                            crate::shell::live_backend::calibration("DETR")
                                .map(|c| fill(
                                    t_string!(i18n, detr.calibration),
                                    &[("reason", &crate::shell::live_backend::reason_in(i18n.get_locale(), &c))],
                                ))
                        }}
                    </p>
                </div>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_of_dark_ink_on_paper_are_inverted_and_stretched() {
        // A light-gray page with one dark stroke.
        let mut rgba = vec![200u8; PIXELS * 4];
        for i in 0..40 {
            rgba[(48 * CANVAS + 20 + i) * 4..][..3].copy_from_slice(&[30, 30, 30]);
        }
        let (px, inverted) = photo_to_canvas(&rgba);
        assert!(inverted);
        assert_eq!(px[0], 0.0);
        assert!((px[48 * CANVAS + 30] - 1.0).abs() < 1e-6);
        // White ink on black stays as it is.
        let mut dark = vec![0u8; PIXELS * 4];
        dark[(10 * CANVAS + 10) * 4..][..3].copy_from_slice(&[255, 255, 255]);
        let (px, inverted) = photo_to_canvas(&dark);
        assert!(!inverted && px[10 * CANVAS + 10] > 0.9 && px[0] == 0.0);
    }

    #[test]
    fn strokes_ink_and_the_eraser_removes_it() {
        let mut p = vec![0.0f32; PIXELS];
        stroke(&mut p, (10.0, 10.0), (30.0, 10.0), 1.5, false);
        assert_eq!(p[10 * CANVAS + 20], 1.0);
        assert_eq!(p[20 * CANVAS + 20], 0.0);
        stroke(&mut p, (10.0, 10.0), (30.0, 10.0), 2.4, true);
        assert!(p.iter().all(|&v| v == 0.0));
    }
}
