//! "Attention": where a query looks (the decoder's cross-attention over the
//! 12×12 cells, per head and layer), and where a cell looks (the encoder's
//! self-attention from a clicked pixel).

use compute::models::detr::{
    config::{CELLS, ENCODER_LAYERS, FEATURE_SIDE, HEADS, QUERIES},
    scenes::CANVAS,
};
use leptos::prelude::*;

use super::{
    queries::LayerSelect, query_colour, query_label, BoxMark, BoxOverlay, DetrSession, DetrStatus,
    GrayImage,
};
use crate::{
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, widget::UrlNotices},
};

/// One attention map over the image: the canvas, dimmed, under the 12×12
/// weights as a heat map.
#[component]
fn AttentionMap(
    #[prop(into)] pixels: Signal<Vec<f32>>,
    #[prop(into)] weights: Signal<Vec<f32>>,
    #[prop(into)] caption: Signal<String>,
    testid: String,
) -> impl IntoView {
    let i18n = use_i18n();
    let label = move || {
        fill(
            t_string!(i18n, detr.map_label),
            &[("caption", &caption.get())],
        )
    };
    view! {
        <figure class="attention-map">
            <span class="map-stack">
                <GrayImage values=pixels side=CANVAS label=caption testid=format!("{testid}-image")/>
                <GrayImage values=weights side=FEATURE_SIDE heat=true label testid=testid.clone() class="heat"/>
            </span>
            <figcaption>{move || caption.get()}</figcaption>
        </figure>
    }
}

#[component]
pub fn DetrAttention() -> impl IntoView {
    let i18n = use_i18n();
    let session = DetrSession::use_or_new();
    let state = session.state;
    let pixels =
        Signal::derive(move || session.detected.get().map(|d| d.pixels).unwrap_or_default());
    // Cross-attention of the selected query: [head][cell], plus the mean.
    let cross = Memo::new(move |_| {
        let s = state.get();
        session
            .detected
            .get()
            .map(|d| {
                let probs = &d.trace.cross_attention[s.layer as usize];
                let q = s.query as usize;
                (0..HEADS)
                    .map(|h| probs[(h * QUERIES + q) * CELLS..][..CELLS].to_vec())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let encoder = Memo::new(move |_| {
        let s = state.get();
        let cell = usize::try_from(s.cell).ok()?;
        session.detected.get().map(|d| {
            let probs = &d.trace.encoder_attention[s.enc_layer as usize];
            (0..HEADS)
                .map(|h| probs[(h * CELLS + cell) * CELLS..][..CELLS].to_vec())
                .collect::<Vec<_>>()
        })
    });
    let query_box = Signal::derive(move || {
        let q = state.get().query as usize;
        session
            .detected
            .get()
            .map(|d| {
                let out = &d.trace.layer_queries(state.get().layer as usize)[q];
                vec![BoxMark {
                    bbox: out.bbox,
                    colour: query_colour(q).into(),
                    text: query_label(out),
                    dashed: out.is_empty(),
                }]
            })
            .unwrap_or_default()
    });
    let cell_mark = Signal::derive(move || {
        usize::try_from(state.get().cell)
            .ok()
            .map(|c| {
                let side = (CANVAS / FEATURE_SIDE) as f64;
                vec![BoxMark {
                    bbox: [
                        (c % FEATURE_SIDE) as f64 * side,
                        (c / FEATURE_SIDE) as f64 * side,
                        side,
                        side,
                    ],
                    colour: "#f59e0b".into(),
                    text: String::new(),
                    dashed: false,
                }]
            })
            .unwrap_or_default()
    });
    let pick_cell = move |ev: web_sys::MouseEvent| {
        use wasm_bindgen::JsCast;
        let Some(el) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let r = el.get_bounding_client_rect();
        let fx = (ev.client_x() as f64 - r.left()) / r.width();
        let fy = (ev.client_y() as f64 - r.top()) / r.height();
        if (0.0..1.0).contains(&fx) && (0.0..1.0).contains(&fy) {
            let cell = (fy * FEATURE_SIDE as f64) as i32 * FEATURE_SIDE as i32
                + (fx * FEATURE_SIDE as f64) as i32;
            session.update(|s| s.cell = cell);
        }
    };
    let on_cell_key = move |ev: web_sys::KeyboardEvent| {
        let c = state.get_untracked().cell.max(0) as usize;
        let (r, col) = (c / FEATURE_SIDE, c % FEATURE_SIDE);
        let next = match ev.key().as_str() {
            "ArrowUp" => r.saturating_sub(1) * FEATURE_SIDE + col,
            "ArrowDown" => (r + 1).min(FEATURE_SIDE - 1) * FEATURE_SIDE + col,
            "ArrowLeft" => r * FEATURE_SIDE + col.saturating_sub(1),
            "ArrowRight" => r * FEATURE_SIDE + (col + 1).min(FEATURE_SIDE - 1),
            _ => return,
        };
        ev.prevent_default();
        session.update(|s| s.cell = next as i32);
    };
    let head = move |h: usize| {
        Signal::derive(move || fill(t_string!(i18n, detr.head_n), &[("head", &(h + 1))]))
    };
    view! {
        <section class="widget" data-testid="detr-attention" aria-labelledby="detr-attention-title">
            <h2 id="detr-attention-title">{t!(i18n, detr.attention_title)}</h2>
            <p>{t!(i18n, detr.attention_intro)}</p>
            <UrlNotices notices=session.notices/>
            <DetrStatus session/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, detr.query)}</span>
                    <select data-testid="detr-attention-query" on:change=move |ev| {
                        if let Ok(q) = event_target_value(&ev).parse::<u32>() {
                            session.update(|s| s.query = q.min(QUERIES as u32 - 1));
                        }
                    }>
                        {(0..QUERIES).map(|q| view! {
                            <option value=q.to_string() selected=move || state.get().query as usize == q>{move || fill(t_string!(i18n, detr.query_n), &[("query", &q)])}</option>
                        }).collect_view()}
                    </select>
                </label>
                <LayerSelect session testid="detr-attention-layer"/>
            </form>
            <div class="attention-row" data-testid="detr-cross-maps" data-heads=move || cross.get().len()>
                <figure class="attention-map">
                    <span class="map-stack">
                        <GrayImage values=pixels side=CANVAS label=move || t_string!(i18n, detr.the_canvas) testid="detr-query-box-image".into()/>
                        <BoxOverlay marks=query_box/>
                    </span>
                    <figcaption>{move || fill(t_string!(i18n, detr.query_box), &[("query", &state.get().query)])}</figcaption>
                </figure>
                {move || cross.get().into_iter().enumerate().map(|(h, w)| view! {
                    <AttentionMap pixels weights=Signal::stored(w) caption=head(h) testid=format!("detr-cross-{h}")/>
                }).collect_view()}
            </div>
            <h3>{t!(i18n, detr.encoder_title)}</h3>
            <p>{t!(i18n, detr.encoder_intro)}</p>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, detr.encoder_layer)}</span>
                    <select data-testid="detr-encoder-layer" on:change=move |ev| {
                        if let Ok(l) = event_target_value(&ev).parse::<u32>() {
                            session.update(|s| s.enc_layer = l.min(ENCODER_LAYERS as u32 - 1));
                        }
                    }>
                        {(0..ENCODER_LAYERS).map(|l| view! {
                            <option value=l.to_string() selected=move || state.get().enc_layer as usize == l>{(l + 1).to_string()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </form>
            <div class="attention-row" data-testid="detr-encoder-maps" data-cell=move || state.get().cell>
                <figure class="attention-map">
                    <span
                        class="map-stack clickable"
                        tabindex="0"
                        role="button"
                        aria-label=move || t_string!(i18n, detr.cell_picker)
                        data-testid="detr-cell-picker"
                        on:click=pick_cell
                        on:keydown=on_cell_key
                    >
                        <GrayImage values=pixels side=CANVAS label=move || t_string!(i18n, detr.the_canvas) testid="detr-cell-image".into()/>
                        <BoxOverlay marks=cell_mark/>
                    </span>
                    <figcaption>{move || match usize::try_from(state.get().cell) {
                        Ok(c) => fill(
                            t_string!(i18n, detr.cell_at),
                            &[("row", &(c / FEATURE_SIDE + 1)), ("column", &(c % FEATURE_SIDE + 1))],
                        ),
                        Err(_) => t_string!(i18n, detr.cell_none).to_string(),
                    }}</figcaption>
                </figure>
                {move || encoder.get().unwrap_or_default().into_iter().enumerate().map(|(h, w)| view! {
                    <AttentionMap pixels weights=Signal::stored(w) caption=head(h) testid=format!("detr-encoder-{h}")/>
                }).collect_view()}
            </div>
        </section>
    }
}
