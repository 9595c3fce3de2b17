//! The detector's pipeline: the canvas, each convolution's feature maps,
//! the 144 encoder tokens, the 10 queries after each decoder layer, and
//! the predictions, each labelled with its tensor shape. The activations
//! are the live pass's own (`Detr::forward_stages`, one readback on the
//! GPU), refreshed on every change to the canvas.

use compute::models::detr::{
    config::{BACKBONE, QUERIES},
    model::Stage,
    scenes::CANVAS,
};
use leptos::{html, prelude::*};

use super::{
    paint_gray, query_colour, query_label, BoxMark, BoxOverlay, DetrSession, DetrStatus, STAGES,
};
use crate::{
    chapters::autoregressive::widgets::pixels::{paint_signed, RowMark},
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{format::fill, widget::UrlNotices},
};

const FIRST_CONV: usize = 1;
const ENCODER: usize = 1 + BACKBONE.len();
const FIRST_DECODER: usize = ENCODER + 1;
const PREDICTIONS: usize = STAGES - 1;

/// How a stage's values are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Paint {
    /// 0 black … 1 white, as the detector sees the canvas.
    Gray,
    /// Non-negative activations (after ReLU), black to yellow.
    Heat,
    /// Signed vectors, rows of a matrix.
    Signed,
}

/// What one stage shows: its shape and the values drawn (a feature map's
/// chosen channel), as `width`×`height`.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    shape: Vec<usize>,
    values: Vec<f32>,
    width: usize,
    height: usize,
    paint: Paint,
}

fn stage_name(stage: usize, locale: Locale) -> String {
    match stage {
        0 => td_string!(locale, detr.pipeline_image).to_string(),
        ENCODER => td_string!(locale, detr.pipeline_encoder).to_string(),
        PREDICTIONS => td_string!(locale, detr.pipeline_predictions).to_string(),
        s if s < ENCODER => fill(
            td_string!(locale, detr.pipeline_conv),
            &[("n", &(s - FIRST_CONV + 1))],
        ),
        s => fill(
            td_string!(locale, detr.pipeline_decoder),
            &[("n", &(s - FIRST_DECODER + 1))],
        ),
    }
}

fn shape_text(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" × ")
}

fn matrix(stage: &Stage) -> Shown {
    let (height, width) = (stage.shape[0], stage.shape[1]);
    Shown {
        shape: stage.shape.clone(),
        values: stage.values.clone(),
        width,
        height,
        paint: Paint::Signed,
    }
}

/// The stage's values as drawn; `None` before the first pass with stages.
fn shown(session: &DetrSession, stage: usize, channel: usize) -> Option<Shown> {
    session.detected.with(|d| {
        let d = d.as_ref()?;
        if stage == 0 {
            return Some(Shown {
                shape: vec![1, CANVAS, CANVAS],
                values: d.pixels.clone(),
                width: CANVAS,
                height: CANVAS,
                paint: Paint::Gray,
            });
        }
        if stage == PREDICTIONS {
            let s = d.trace.prediction_stage();
            return Some(Shown {
                width: s.shape[1],
                height: s.shape[0],
                shape: s.shape,
                values: s.values,
                paint: Paint::Signed,
            });
        }
        let p = d.pipeline.as_ref()?;
        if stage < ENCODER {
            let s = p.features.get(stage - FIRST_CONV)?;
            let (c, h, w) = (s.shape[0], s.shape[1], s.shape[2]);
            let ch = channel.min(c - 1);
            return Some(Shown {
                shape: s.shape.clone(),
                values: s.values[ch * h * w..(ch + 1) * h * w].to_vec(),
                width: w,
                height: h,
                paint: Paint::Heat,
            });
        }
        if stage == ENCODER {
            return Some(matrix(&p.encoder_tokens));
        }
        p.decoder_queries.get(stage - FIRST_DECODER).map(matrix)
    })
}

fn paint(canvas: &web_sys::HtmlCanvasElement, s: &Shown) {
    match s.paint {
        Paint::Gray => paint_gray(canvas, &s.values, s.width, false),
        Paint::Heat => paint_gray(canvas, &s.values, s.width, true),
        Paint::Signed => paint_signed(canvas, &s.values, s.width, s.height),
    }
}

/// A stage drawn on a canvas, with a row mark (the chosen query) where
/// the rows are queries.
#[component]
fn StageCanvas(
    #[prop(into)] shown: Signal<Option<Shown>>,
    #[prop(into)] mark: Signal<Option<usize>>,
    #[prop(into)] label: Signal<String>,
    testid: String,
    /// Publish the drawn values (thumbnails only: tests compare them).
    publish: bool,
) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        if let (Some(s), Some(c)) = (shown.get(), canvas.get()) {
            paint(&c, &s);
        }
    });
    let size = move || shown.with(|s| s.as_ref().map_or((1, 1), |s| (s.width, s.height)));
    view! {
        <div class="grid-frame">
            <canvas node_ref=canvas class="pixels stage-canvas"
                width=move || size().0 height=move || size().1
                role="img" aria-label=move || label.get()
                data-testid=testid
                data-shape={move || shown.with(|s| s.as_ref().map(|s| s.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",")))}
                data-values={move || publish.then(|| shown.with(|s| s.as_ref().map(|s| s.values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",")))).flatten()}
            ></canvas>
            {move || {
                // Only over drawn rows: nothing is marked before the first pass.
                let rows = shown.with(|s| s.as_ref().map(|s| s.height))?;
                mark.get().filter(|&m| m < rows).map(|m| view! { <RowMark row=m rows/> })
            }}
        </div>
    }
}

#[component]
pub fn DetrPipeline() -> impl IntoView {
    let i18n = use_i18n();
    let session = DetrSession::use_or_new();
    session.want_stages.set(true);
    let open = Memo::new(move |_| (session.state.get().stage as usize).min(STAGES - 1));
    let channel = Memo::new(move |_| session.state.get().channel as usize);
    let query = Memo::new(move |_| session.state.get().query as usize);
    let query_rows =
        move |stage: usize| Signal::derive(move || (stage >= FIRST_DECODER).then(|| query.get()));
    let stages = (0..STAGES)
        .map(|stage| {
            let shown_here = Memo::new(move |_| shown(&session, stage, channel.get()));
            let label = Signal::derive(move || {
                let locale = i18n.get_locale();
                let shape = shown_here.with(|s| s.as_ref().map(|s| shape_text(&s.shape)));
                fill(
                    td_string!(locale, detr.pipeline_stage_label),
                    &[
                        ("stage", &stage_name(stage, locale)),
                        ("shape", &shape.unwrap_or_default()),
                    ],
                )
            });
            view! {
                <li>
                    <button type="button" class="stage"
                        data-testid=format!("detr-stage-{stage}")
                        aria-pressed=move || (open.get() == stage).to_string()
                        on:click=move |_| session.update(|s| s.stage = stage as u32)>
                        <StageCanvas shown=shown_here mark=query_rows(stage) label
                            testid=format!("detr-stage-{stage}-canvas") publish=true/>
                        <span class="stage-name">{move || stage_name(stage, i18n.get_locale())}</span>
                        <span class="shape" data-testid=format!("detr-stage-{stage}-shape")>
                            {move || shown_here.with(|s| s.as_ref().map(|s| shape_text(&s.shape)))}
                        </span>
                    </button>
                </li>
            }
        })
        .collect_view();

    view! {
        <section class="widget" data-testid="detr-pipeline" aria-labelledby="detr-pipeline-title"
            data-runs=move || session.runs.get().to_string()
            data-staged={move || session.detected.with(|d| d.as_ref().is_some_and(|d| d.pipeline.is_some())).to_string()}>
            <h2 id="detr-pipeline-title">{t!(i18n, detr.pipeline_title)}</h2>
            <p>{t!(i18n, detr.pipeline_intro)}</p>
            <UrlNotices notices=session.notices/>
            <DetrStatus session/>
            <ol class="pipeline-strip">{stages}</ol>
            <div class="stage-open" data-testid="detr-pipeline-open" data-stage=move || open.get().to_string()>
                <h3>{move || stage_name(open.get(), i18n.get_locale())}</h3>
                {move || match open.get() {
                    s if (FIRST_CONV..ENCODER).contains(&s) => view! { <Channels session stage=s/> }.into_any(),
                    PREDICTIONS => view! { <Predictions session/> }.into_any(),
                    s => {
                        let big = Memo::new(move |_| shown(&session, s, channel.get()));
                        view! {
                            <div class="stage-large">
                                <StageCanvas shown=big mark=query_rows(s)
                                    label=Signal::derive(move || stage_name(s, i18n.get_locale()))
                                    testid="detr-pipeline-large".to_string() publish=false/>
                            </div>
                            {(s >= FIRST_DECODER).then(|| view! { <QueryPicker session/> })}
                            <p class="note">{move || match s {
                                0 => t_string!(i18n, detr.pipeline_about_image),
                                ENCODER => t_string!(i18n, detr.pipeline_about_encoder),
                                _ => t_string!(i18n, detr.pipeline_about_decoder),
                            }}</p>
                        }.into_any()
                    }
                }}
            </div>
        </section>
    }
}

/// Every channel of a convolution stage; clicking one shows it in the strip.
#[component]
fn Channels(session: DetrSession, stage: usize) -> impl IntoView {
    let i18n = use_i18n();
    let count = BACKBONE[stage - FIRST_CONV].1;
    let chosen = Memo::new(move |_| session.state.get().channel as usize);
    view! {
        <ul class="channels">
            {(0..count).map(|ch| {
                let map = Memo::new(move |_| shown(&session, stage, ch));
                view! {
                    <li>
                        <button type="button" class="channel"
                            aria-pressed=move || (chosen.get().min(count - 1) == ch).to_string()
                            on:click=move |_| session.update(|s| s.channel = ch as u32)>
                            <StageCanvas shown=map mark=Signal::stored(None)
                                label=Signal::derive(move || fill(t_string!(i18n, detr.pipeline_channel), &[("channel", &ch)]))
                                testid=format!("detr-channel-{ch}") publish=false/>
                            <span>{ch}</span>
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
        <p class="note">{t!(i18n, detr.pipeline_about_conv)}</p>
    }
}

/// Buttons for the 10 queries: choosing one highlights it in every view.
#[component]
fn QueryPicker(session: DetrSession) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="query-picker" role="group" aria-label=move || t_string!(i18n, detr.pipeline_pick_query)>
            {(0..QUERIES).map(|q| view! {
                <button type="button" data-testid=format!("detr-pipeline-query-{q}")
                    style=format!("border-color: {}", query_colour(q))
                    aria-pressed=move || (session.state.get().query as usize == q).to_string()
                    on:click=move |_| session.update(|s| s.query = q as u32)>
                    {format!("q{q}")}
                </button>
            }).collect_view()}
        </p>
    }
}

/// The final predictions: the canvas with the kept boxes, and each query's
/// reading.
#[component]
fn Predictions(session: DetrSession) -> impl IntoView {
    let i18n = use_i18n();
    let image = Memo::new(move |_| shown(&session, 0, 0));
    let queries = Memo::new(move |_| {
        session
            .detected
            .with(|d| d.as_ref().map(|d| d.queries()).unwrap_or_default())
    });
    let marks = Signal::derive(move || {
        let conf = session.state.get().conf as f64 / 100.0;
        let chosen = session.state.get().query as usize;
        queries
            .get()
            .iter()
            .enumerate()
            .filter(|(q, o)| !o.is_empty() && (o.score >= conf || *q == chosen))
            .map(|(q, o)| BoxMark {
                bbox: o.bbox,
                colour: query_colour(q).into(),
                text: format!("q{q}: {}", query_label(o)),
                dashed: q != chosen,
            })
            .collect::<Vec<_>>()
    });
    view! {
        <div class="stage-large detr-view">
            <StageCanvas shown=image mark=Signal::stored(None)
                label=Signal::derive(move || t_string!(i18n, detr.pipeline_image).to_string())
                testid="detr-pipeline-large".to_string() publish=false/>
            <BoxOverlay marks/>
        </div>
        <QueryPicker session/>
        <table class="numbers">
            <thead><tr>
                <th scope="col">{t!(i18n, detr.pipeline_query)}</th>
                <th scope="col">{t!(i18n, detr.pipeline_class)}</th>
                <th scope="col">{t!(i18n, detr.pipeline_score)}</th>
                <th scope="col">"x, y, w, h"</th>
            </tr></thead>
            <tbody>
                {move || queries.get().into_iter().enumerate().map(|(q, o)| view! {
                    <tr class:chosen=move || session.state.get().query as usize == q>
                        <th scope="row" style=format!("color: {}", query_colour(q))>{format!("q{q}")}</th>
                        <td>{query_label(&o)}</td>
                        <td>{format!("{:.0}%", 100.0 * o.score)}</td>
                        <td>{format!("{:.0}, {:.0}, {:.0}, {:.0}", o.bbox[0], o.bbox[1], o.bbox[2], o.bbox[3])}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chapters::detr::widgets::MAX_CHANNELS;

    #[test]
    fn stages_follow_the_config() {
        assert_eq!(STAGES, 10);
        assert_eq!(ENCODER, 5);
        assert_eq!(PREDICTIONS, 9);
        assert_eq!(MAX_CHANNELS, BACKBONE.iter().map(|b| b.1).max().unwrap());
    }
}
