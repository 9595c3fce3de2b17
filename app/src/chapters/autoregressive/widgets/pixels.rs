//! 28×28 grids on a canvas: one pixel of the canvas per image pixel, scaled
//! up crisply by CSS. Rendering only; the numbers come from the models.

use compute::models::ar::{PIXELS, SIDE};
use leptos::{html, prelude::*};
use wasm_bindgen::{Clamped, JsCast};

use crate::{
    i18n::t_string,
    shell::{
        format::fill,
        pad_keys::{moved, pad_key, summary, PadKey},
    },
};

/// How values map to colours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Palette {
    /// 0 white, 1 black.
    Ink,
    /// A probability in [0, 1]: white to blue.
    Probability,
    /// −log p in nats, white (0) to red (`max` and above).
    Surprise { max: f32 },
}

fn colour(p: Palette, v: f32) -> [u8; 4] {
    if v.is_nan() {
        return [236, 239, 243, 255];
    }
    let mix = |t: f32, to: [f32; 3]| {
        let t = t.clamp(0.0, 1.0);
        let c = |k: usize| (255.0 + (to[k] - 255.0) * t) as u8;
        [c(0), c(1), c(2), 255]
    };
    match p {
        Palette::Ink => mix(v, [17.0, 24.0, 39.0]),
        Palette::Probability => mix(v, [29.0, 78.0, 216.0]),
        Palette::Surprise { max } => mix(v / max, [200.0, 30.0, 30.0]),
    }
}

/// A signed value in [−1, 1]: blue for positive, orange-brown for
/// negative, white for zero (the views inside the models share it).
pub fn diverging(v: f32) -> [u8; 4] {
    let t = v.abs().clamp(0.0, 1.0);
    let to = if v >= 0.0 {
        [29.0, 78.0, 216.0]
    } else {
        [180.0, 83.0, 9.0]
    };
    let c = |k: usize| (255.0 + (to[k] - 255.0) * t) as u8;
    [c(0), c(1), c(2), 255]
}

/// `values` (`width`×`height`, row-major) painted with [`diverging`],
/// scaled by their largest magnitude; NaN is "nothing here" grey.
pub fn paint_signed(
    canvas: &web_sys::HtmlCanvasElement,
    values: &[f32],
    width: usize,
    height: usize,
) {
    let max = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(1e-9f32, |m, v| m.max(v.abs()));
    let mut rgba = Vec::with_capacity(width * height * 4);
    for k in 0..width * height {
        rgba.extend_from_slice(&match values.get(k) {
            Some(v) if v.is_finite() => diverging(v / max),
            _ => [236, 239, 243, 255],
        });
    }
    put_rgba_rect(canvas, &rgba, width, height);
}

/// An outline over row `row` of `rows` of the canvas it sits on (inside a
/// positioned frame): the inspected cache position, the chosen query.
#[component]
pub fn RowMark(row: usize, rows: usize) -> impl IntoView {
    view! {
        <span class="row-mark" style=format!(
            "top: {:.3}%; height: {:.3}%",
            100.0 * row as f64 / rows as f64,
            100.0 / rows as f64
        )></span>
    }
}

/// Puts `side`×`side` RGBA pixels into a canvas's top-left corner.
pub fn put_rgba(canvas: &web_sys::HtmlCanvasElement, rgba: &[u8], side: usize) {
    put_rgba_rect(canvas, rgba, side, side);
}

/// Puts `width`×`height` RGBA pixels into a canvas's top-left corner.
pub fn put_rgba_rect(
    canvas: &web_sys::HtmlCanvasElement,
    rgba: &[u8],
    width: usize,
    height: usize,
) {
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    if let Ok(img) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(rgba),
        width as u32,
        height as u32,
    ) {
        let _ = ctx.put_image_data(&img, 0.0, 0.0);
    }
}

fn paint(
    canvas: &web_sys::HtmlCanvasElement,
    values: &[f32],
    palette: Palette,
    marker: Option<usize>,
) {
    let mut rgba = Vec::with_capacity(PIXELS * 4);
    for i in 0..PIXELS {
        let c = if Some(i) == marker {
            [245, 158, 11, 255]
        } else {
            colour(palette, values.get(i).copied().unwrap_or(f32::NAN))
        };
        rgba.extend_from_slice(&c);
    }
    put_rgba(canvas, &rgba, SIDE);
}

/// A read-only grid. `marker` paints one pixel orange (the next to draw).
#[component]
pub fn PixelCanvas(
    #[prop(into)] values: Signal<Vec<f32>>,
    palette: Palette,
    #[prop(into, optional)] marker: Signal<Option<usize>>,
    /// What the grid shows now, for screen readers (`role="img"`).
    #[prop(into)]
    label: Signal<String>,
    testid: String,
) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        let v = values.get();
        let m = marker.get();
        if let Some(c) = canvas.get() {
            paint(&c, &v, palette, m);
        }
    });
    view! {
        <canvas
            node_ref=canvas
            class="pixels"
            width=SIDE
            height=SIDE
            role="img"
            aria-label=move || label.get()
            data-testid=testid
        ></canvas>
    }
}

/// A drawable grid: pointer (mouse, pen, touch) paints or erases a 2×2
/// brush. By keyboard (`pad_keys`), arrows move a visible cursor, Shift +
/// arrow draws as it moves, Space inks, Delete erases and Escape leaves;
/// a live region says what changed. `commit` receives the image when a
/// stroke or a key's change ends.
#[component]
pub fn DrawPad(
    #[prop(into)] image: Signal<Vec<f32>>,
    erase: ReadSignal<bool>,
    commit: impl Fn(Vec<f32>) + Clone + 'static,
) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    let live = RwSignal::new(image.get_untracked());
    let drawing = RwSignal::new(false);
    let cursor = RwSignal::new(None::<(usize, usize)>);
    let said = RwSignal::new(String::new());
    let i18n = crate::i18n::use_i18n();
    Effect::new(move |_| live.set(image.get()));
    Effect::new(move |_| {
        let v = live.get();
        if let Some(c) = canvas.get() {
            paint(&c, &v, Palette::Ink, None);
        }
    });
    let inked = move || live.with(|x| x.iter().filter(|&&v| v > 0.5).count());
    let pixel_at = move |ev: &web_sys::PointerEvent| -> Option<(usize, usize)> {
        let c = canvas.get_untracked()?;
        let rect = c.get_bounding_client_rect();
        let fx = (ev.client_x() as f64 - rect.left()) / rect.width();
        let fy = (ev.client_y() as f64 - rect.top()) / rect.height();
        ((0.0..1.0).contains(&fx) && (0.0..1.0).contains(&fy))
            .then_some(((fy * SIDE as f64) as usize, (fx * SIDE as f64) as usize))
    };
    let stroke = move |ev: &web_sys::PointerEvent| {
        if let Some((r, c)) = pixel_at(ev) {
            let v = if erase.get_untracked() { 0.0 } else { 1.0 };
            live.update(|x| {
                for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    if r + dr < SIDE && c + dc < SIDE {
                        x[(r + dr) * SIDE + c + dc] = v;
                    }
                }
            });
        }
    };
    let commit_up = commit.clone();
    let end = move |ev: web_sys::PointerEvent| {
        if drawing.get_untracked() {
            drawing.set(false);
            if let Some(c) = canvas.get_untracked() {
                let _ = c.release_pointer_capture(ev.pointer_id());
            }
            commit_up(live.get_untracked());
        }
    };
    let end_cancel = end.clone();
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let Some(action) = pad_key(&ev.key(), ev.shift_key()) else {
            return;
        };
        ev.prevent_default();
        let at = cursor.get_untracked().unwrap_or((SIDE / 2, SIDE / 2));
        let (at, ink) = match action {
            PadKey::Move { rows, cols, paint } => {
                (moved(at, rows, cols, SIDE), paint.then_some(1.0))
            }
            PadKey::Paint => (at, Some(1.0)),
            PadKey::Erase => (at, Some(0.0)),
            PadKey::Leave => {
                if let Some(c) = canvas.get_untracked() {
                    let _ = c.blur();
                }
                return;
            }
        };
        cursor.set(Some(at));
        if let Some(v) = ink {
            live.update(|x| x[at.0 * SIDE + at.1] = v);
            commit(live.get_untracked());
        }
        said.set(summary(
            i18n.get_locale_untracked(),
            at,
            Some(action),
            inked(),
            PIXELS,
        ));
    };
    view! {
        <div class="pad-wrap">
            <canvas
                node_ref=canvas
                class="pixels drawpad"
                width=SIDE
                height=SIDE
                tabindex="0"
                role="application"
                aria-label=move || fill(
                    t_string!(i18n, autoregressive.pad_label),
                    &[("inked", &inked()), ("total", &PIXELS)],
                )
                data-testid="ar-drawpad"
                data-bits=move || compute::models::ar::image_to_code(&live.get())
                on:pointerdown=move |ev| {
                    ev.prevent_default();
                    drawing.set(true);
                    if let Some(c) = canvas.get_untracked() {
                        let _ = c.set_pointer_capture(ev.pointer_id());
                    }
                    stroke(&ev);
                }
                on:pointermove=move |ev| {
                    if drawing.get_untracked() {
                        stroke(&ev);
                    }
                }
                on:pointerup=end
                on:pointercancel=end_cancel
                on:keydown=on_key
                on:focus=move |_| {
                    let at = cursor.get_untracked().unwrap_or((SIDE / 2, SIDE / 2));
                    cursor.set(Some(at));
                }
                on:blur=move |_| cursor.set(None)
            ></canvas>
            {move || cursor.get().map(|(r, c)| view! {
                <div
                    class="pad-cursor"
                    data-testid="ar-drawpad-cursor"
                    style=format!(
                        "left:{:.3}%;top:{:.3}%;width:{:.3}%;height:{:.3}%",
                        c as f64 * 100.0 / SIDE as f64,
                        r as f64 * 100.0 / SIDE as f64,
                        100.0 / SIDE as f64,
                        100.0 / SIDE as f64
                    )
                ></div>
            })}
            <p class="pad-status" aria-live="polite" data-testid="ar-drawpad-status">{move || said.get()}</p>
        </div>
    }
}
