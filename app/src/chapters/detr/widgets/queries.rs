//! "Queries": all N object queries side by side, each with its class
//! distribution (∅ included) and its box, at any decoder layer. The ∅
//! queries are shown, not hidden: predicting "nothing here" is how DETR
//! says no to a duplicate.

use compute::models::detr::config::{DECODER_LAYERS, QUERIES};
use leptos::prelude::*;

use super::{
    query_colour, query_label, BoxMark, BoxOverlay, DetrSession, DetrStatus, GrayImage,
    CLASS_NAMES, EMPTY,
};
use crate::{
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, widget::UrlNotices},
};

/// Decoder-layer picker shared by the queries, attention and matching widgets.
#[component]
pub fn LayerSelect(session: DetrSession, testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label>
            <span>{t!(i18n, detr.decoder_layer)}</span>
            <select data-testid=testid on:change=move |ev| {
                if let Ok(l) = event_target_value(&ev).parse::<u32>() {
                    session.update(|s| s.layer = l.min(DECODER_LAYERS as u32 - 1));
                }
            }>
                {(0..DECODER_LAYERS).map(|l| view! {
                    <option value=l.to_string() selected=move || session.state.get().layer as usize == l>
                        {move || fill(
                            if l + 1 == DECODER_LAYERS {
                                t_string!(i18n, detr.layer_output)
                            } else {
                                t_string!(i18n, detr.layer_auxiliary)
                            },
                            &[("layer", &(l + 1))],
                        )}
                    </option>
                }).collect_view()}
            </select>
        </label>
    }
}

#[component]
pub fn DetrQueries() -> impl IntoView {
    let i18n = use_i18n();
    let session = DetrSession::use_or_new();
    let layer = move || session.state.get().layer as usize;
    let cards = Memo::new(move |_| {
        session
            .detected
            .get()
            .map(|d| d.trace.layer_queries(layer().min(DECODER_LAYERS - 1)))
            .unwrap_or_default()
    });
    let pixels =
        Signal::derive(move || session.detected.get().map(|d| d.pixels).unwrap_or_default());
    view! {
        <section class="widget" data-testid="detr-queries" aria-labelledby="detr-queries-title">
            <h2 id="detr-queries-title">{t!(i18n, detr.queries_title)}</h2>
            <p>{move || fill(t_string!(i18n, detr.queries_intro), &[("count", &QUERIES)])}</p>
            <UrlNotices notices=session.notices/>
            <DetrStatus session/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <LayerSelect session testid="detr-queries-layer"/>
            </form>
            <div class="query-cards" data-testid="detr-query-cards" data-count=move || cards.get().len()
                data-empty=move || cards.get().iter().filter(|q| q.is_empty()).count()>
                {move || cards.get().into_iter().enumerate().map(|(i, q)| {
                    let selected = move || session.state.get().query as usize == i;
                    let probs = q.probs;
                    let mark = vec![BoxMark {
                        bbox: q.bbox,
                        colour: query_colour(i).into(),
                        text: query_label(&q),
                        dashed: q.is_empty(),
                    }];
                    // The cards re-render with the language (this closure reads it).
                    let summary = if q.is_empty() {
                        fill(
                            t_string!(i18n, detr.query_empty),
                            &[("percent", &format!("{:.0}", q.probs[EMPTY] * 100.0))],
                        )
                    } else {
                        fill(
                            t_string!(i18n, detr.query_digit),
                            &[("label", &q.label), ("percent", &format!("{:.0}", q.score * 100.0))],
                        )
                    };
                    view! {
                        <button
                            type="button"
                            class="query-card"
                            class:empty=q.is_empty()
                            aria-pressed=move || selected().to_string()
                            data-testid=format!("detr-query-{i}")
                            data-label=query_label(&q)
                            on:click=move |_| session.update(|s| s.query = i as u32)
                        >
                            <span class="query-title" style=format!("border-color:{}", query_colour(i))>
                                {fill(t_string!(i18n, detr.query_n), &[("query", &i)])}
                            </span>
                            <span class="query-thumb">
                                <GrayImage values=pixels side=96 label=fill(t_string!(i18n, detr.query_thumb), &[("query", &i)]) testid=format!("detr-query-thumb-{i}")/>
                                <BoxOverlay marks=Signal::stored(mark)/>
                            </span>
                            <span class="query-summary">{summary}</span>
                            <span class="class-bars" aria-hidden="true">
                                {(0..CLASS_NAMES.len()).map(|k| view! {
                                    <span class="class-bar" class:empty-class=k == EMPTY>
                                        <span class="bar" style=format!("height:{:.1}%", probs[k] * 100.0)></span>
                                        <span class="bar-label">{CLASS_NAMES[k]}</span>
                                    </span>
                                }).collect_view()}
                            </span>
                        </button>
                    }
                }).collect_view()}
            </div>
        </section>
    }
}
