//! "Any size in, one length out": one held-out face at three sizes and
//! aspect ratios. Each gives a feature map of its own shape, and the
//! pyramid over the whole map gives 21 × 32 numbers every time. The bins
//! are drawn on the map; a bin's 32 channel maxima show when it is picked.

use compute::{
    faces::{HEIGHT, WIDTH},
    image::resize_bilinear,
    kernels::spp::{bin_bounds, Window},
    models::spp::config::{feature_side, BINS, CHANNELS, LEVELS},
};
use leptos::{prelude::*, task::spawn_local};

use super::{FacesCredit, GreyImage, SppError, SppSession, SppStatus, FACES, INPUTS};
use crate::{
    chapters::spp::session::scene_source,
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, live_backend, widget::UrlNotices},
};

/// (width, height) of the three inputs: ORL's own, half of it, and
/// squashed to a wide strip.
pub const SIZES: [(usize, usize); INPUTS] = [(WIDTH, HEIGHT), (46, 56), (120, 60)];

/// Bin `bin` of the pyramid: its level's side n and its row and column.
pub fn bin_place(mut bin: usize) -> (usize, usize, usize) {
    for &n in LEVELS {
        if bin < n * n {
            return (n, bin / n, bin % n);
        }
        bin -= n * n;
    }
    (1, 0, 0)
}

/// One input's run: its pixels, its map (channels last) and its pyramid.
#[derive(Debug, Clone, PartialEq)]
struct Input {
    width: usize,
    height: usize,
    pixels: Vec<f32>,
    map: Vec<f32>,
    pooled: Vec<f32>,
}

impl Input {
    fn map_side(&self) -> (usize, usize) {
        (feature_side(self.width), feature_side(self.height))
    }

    /// The map's mean over channels, scaled to [0, 1] for display.
    fn map_picture(&self) -> Vec<f32> {
        let means: Vec<f32> = self
            .map
            .chunks(CHANNELS)
            .map(|c| c.iter().sum::<f32>() / CHANNELS as f32)
            .collect();
        let top = means.iter().cloned().fold(1e-6, f32::max);
        means.iter().map(|v| v / top).collect()
    }
}

#[component]
pub fn SppAnySize() -> impl IntoView {
    let i18n = use_i18n();
    let session = SppSession::use_or_new();
    let inputs = RwSignal::new(Vec::<Input>::new());
    let face = Memo::new(move |_| session.state.get().face);
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let k = face.get() as usize;
        let _epoch = live_backend::gpu_epoch();
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        spawn_local(async move {
            let outcome = async {
                let faces = scene_source().await.map_err(SppError::Load)?;
                let runner = session.runner().await?;
                let person = faces.atlas.first + k / 10;
                let photo = k % 10 + 1;
                let face: Vec<f32> = faces
                    .atlas
                    .face(person, photo)
                    .ok_or_else(|| SppError::Failed(format!("no face s{person}/{photo}")))?
                    .iter()
                    .map(|&v| v as f32 / 255.0)
                    .collect();
                let mut out = Vec::new();
                for (width, height) in SIZES {
                    let pixels = resize_bilinear(&face, WIDTH, HEIGHT, width, height);
                    let whole = [Window {
                        x0: 0,
                        y0: 0,
                        x1: feature_side(width),
                        y1: feature_side(height),
                    }];
                    let (map, pooled) = runner
                        .pyramids(&pixels, width, height, &whole)
                        .await
                        .map_err(|e| SppError::Failed(e.to_string()))?;
                    out.push(Input {
                        width,
                        height,
                        pixels,
                        map,
                        pooled,
                    });
                }
                Ok::<_, SppError>(out)
            }
            .await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            session.finish(outcome, |out| inputs.set(out));
        });
    });
    let opened = move || session.state.get().input as usize;
    let bin = move || session.state.get().bin as usize;
    view! {
        <section class="widget" data-testid="spp-any-size" aria-labelledby="spp-any-size-title">
            <h2 id="spp-any-size-title">{t!(i18n, spp.any_size_title)}</h2>
            <p>{t!(i18n, spp.any_size_intro)}</p>
            <UrlNotices notices=session.notices/>
            <SppStatus session/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, spp.face)}</span>
                    <input type="number" min="0" max=FACES - 1 data-testid="spp-any-size-face"
                        prop:value=move || session.state.get().face.to_string()
                        on:change={move |ev| { if let Ok(f) = event_target_value(&ev).parse::<u32>() {
                            session.update(|s| s.face = f.min(FACES - 1));
                        } }}/>
                </label>
            </form>
            <div class="spp-inputs" data-testid="spp-any-size-inputs" data-count=move || inputs.get().len()>
                {move || inputs.get().into_iter().enumerate().map(|(i, input)| {
                    let (fw, fh) = input.map_side();
                    let len = input.pooled.len();
                    let (n, by, bx) = bin_place(bin());
                    let grid: Vec<(usize, usize, usize, usize, bool)> = (0..n).flat_map(|r| (0..n).map(move |c| {
                        let (ya, yb) = bin_bounds(r, n, fh);
                        let (xa, xb) = bin_bounds(c, n, fw);
                        (xa, ya, xb - xa, yb - ya, r == by && c == bx)
                    })).collect();
                    let map = input.map_picture();
                    view! {
                        <button type="button" class="spp-input" aria-pressed=move || (opened() == i).to_string()
                            data-testid=format!("spp-any-size-input-{i}")
                            on:click=move |_| session.update(|s| s.input = i as u32)>
                            <span class="spp-input-pictures">
                                <GreyImage values=Signal::stored(input.pixels.clone()) width=input.width height=input.height
                                    label=fill(t_string!(i18n, spp.any_size_input_label), &[("w", &input.width), ("h", &input.height)])
                                    testid=format!("spp-any-size-image-{i}")/>
                                <span class="spp-map">
                                    <GreyImage values=Signal::stored(map) width=fw height=fh
                                        label=fill(t_string!(i18n, spp.any_size_map_label), &[("w", &fw), ("h", &fh)])
                                        testid=format!("spp-any-size-map-{i}")/>
                                    <svg class="box-overlay" viewBox=format!("0 0 {fw} {fh}") aria-hidden="true">
                                        {grid.into_iter().map(|(x, y, w, h, on)| view! {
                                            <rect x=x y=y width=w height=h fill=if on { "rgba(224,112,26,0.35)" } else { "none" }
                                                stroke="#e0701a" stroke-width="0.15"/>
                                        }).collect_view()}
                                    </svg>
                                </span>
                            </span>
                            <span class="spp-input-facts" data-testid=format!("spp-any-size-length-{i}")
                                data-length=len data-shape=format!("{fh}x{fw}")>
                                {fill(t_string!(i18n, spp.any_size_facts), &[
                                    ("w", &input.width), ("h", &input.height), ("fw", &fw), ("fh", &fh),
                                    ("c", &CHANNELS), ("bins", &BINS), ("len", &len),
                                ])}
                            </span>
                        </button>
                    }
                }).collect_view()}
            </div>
            <fieldset class="spp-bins">
                <legend>{t!(i18n, spp.any_size_bins)}</legend>
                {(0..BINS).map(|b| {
                    let (n, r, c) = bin_place(b);
                    view! {
                        <button type="button" aria-pressed=move || (bin() == b).to_string()
                            data-testid=format!("spp-bin-{b}")
                            on:click=move |_| session.update(|s| s.bin = b as u32)>
                            {format!("{n}×{n}: {},{}", r + 1, c + 1)}
                        </button>
                    }
                }).collect_view()}
            </fieldset>
            <div class="spp-channels" data-testid="spp-any-size-channels" role="img"
                aria-label=move || {
                    let (n, r, c) = bin_place(bin());
                    fill(t_string!(i18n, spp.any_size_channels_label), &[("n", &n), ("row", &(r + 1)), ("col", &(c + 1))])
                }>
                {move || {
                    let list = inputs.get();
                    let Some(input) = list.get(opened()) else { return ().into_any() };
                    let values: Vec<f32> = input.pooled[bin() * CHANNELS..][..CHANNELS].to_vec();
                    let top = values.iter().cloned().fold(1e-6, f32::max);
                    view! {
                        <span class="bars">
                            {values.iter().enumerate().map(|(c, v)| view! {
                                <span class="bar" title=format!("{c}: {v:.3}") style=format!("height:{:.1}%", 100.0 * v / top)></span>
                            }).collect_view()}
                        </span>
                    }.into_any()
                }}
            </div>
            <FacesCredit/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_placed_level_by_level() {
        assert_eq!(bin_place(0), (1, 0, 0));
        assert_eq!(bin_place(1), (2, 0, 0));
        assert_eq!(bin_place(4), (2, 1, 1));
        assert_eq!(bin_place(5), (4, 0, 0));
        assert_eq!(bin_place(20), (4, 3, 3));
        // Three shapes of map, one length of vector.
        let shapes: Vec<_> = SIZES
            .iter()
            .map(|&(w, h)| (feature_side(w), feature_side(h)))
            .collect();
        assert_eq!(shapes, [(23, 28), (12, 14), (30, 15)]);
    }
}
