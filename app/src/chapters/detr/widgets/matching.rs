//! "Matching": one training step's view of the canvas. The N × M matching
//! cost in its class, L1 and GIoU parts, the Hungarian assignment, and the
//! loss terms that assignment gives, all computed by compute's
//! `detr::set_loss`, the same code the trainer called.

use compute::models::detr::{
    boxes::Corners,
    drawing::ink_regions,
    scenes::CANVAS,
    set_loss::{
        set_loss, CostMatrix, Prediction, Target, COST_CLASS, COST_GIOU, COST_L1, NO_OBJECT_WEIGHT,
    },
};
use leptos::prelude::*;

use super::{
    format_labels, ground_truth, parse_labels, queries::LayerSelect, query_colour, BoxMark,
    BoxOverlay, DetrSession, DetrStatus, GrayImage,
};
use crate::{
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{format::fill, widget::UrlNotices},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Total,
    Class,
    L1,
    Giou,
}

impl Part {
    const ALL: [Part; 4] = [Part::Total, Part::Class, Part::L1, Part::Giou];

    fn slug(self) -> &'static str {
        match self {
            Part::Total => "total",
            Part::Class => "class",
            Part::L1 => "l1",
            Part::Giou => "giou",
        }
    }

    fn name(self, locale: Locale) -> &'static str {
        match self {
            Part::Total => td_string!(locale, detr.part_total),
            Part::Class => td_string!(locale, detr.part_class),
            Part::L1 => "L1 × 5",
            Part::Giou => "−GIoU × 2",
        }
    }
}

/// Everything the widget shows for one canvas and layer.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    objects: Vec<(u8, [f64; 4], bool)>,
    cost: CostMatrix,
    assignment: Vec<(usize, usize)>,
    class: f64,
    l1: f64,
    giou: f64,
    total: f64,
    /// For each object, how many queries have it as their cheapest object.
    claimants: Vec<usize>,
}

#[component]
pub fn DetrMatching() -> impl IntoView {
    let i18n = use_i18n();
    let session = DetrSession::use_or_new();
    let state = session.state;
    let part = RwSignal::new(Part::Total);
    let step = Memo::new(move |_| {
        let s = state.get();
        let d = session.detected.get()?;
        let canvas = session.canvas.get()?;
        let queries = d.trace.layer_queries(s.layer as usize);
        let labels = parse_labels(&s.labels).unwrap_or_default();
        let objects = ground_truth(&canvas, &labels, &d.queries());
        let side = CANVAS as f64;
        let targets: Vec<Target> = objects
            .iter()
            .map(|(l, b, _)| Target {
                label: *l as usize,
                bbox: Corners::from_xywh(*b)
                    .scale(1.0 / side, 1.0 / side)
                    .to_cxcywh(),
            })
            .collect();
        let predictions: Vec<Prediction> = queries.into_iter().map(|q| q.prediction).collect();
        let cost = CostMatrix::new(&predictions, &targets);
        let assignment = cost.assignment();
        let terms = set_loss(&predictions, &targets, &assignment);
        let total = cost.total();
        let m = targets.len();
        let mut claimants = vec![0; m];
        if m > 0 {
            for q in 0..predictions.len() {
                let best = (0..m)
                    .min_by(|&a, &b| total[q * m + a].total_cmp(&total[q * m + b]))
                    .unwrap_or(0);
                claimants[best] += 1;
            }
        }
        Some(Step {
            objects,
            cost,
            assignment,
            class: terms.class,
            l1: terms.l1,
            giou: terms.giou,
            total: terms.total(),
            claimants,
        })
    });
    let pixels =
        Signal::derive(move || session.detected.get().map(|d| d.pixels).unwrap_or_default());
    let marks = Signal::derive(move || {
        step.get()
            .map(|s| {
                s.objects
                    .iter()
                    .enumerate()
                    .map(|(j, (l, b, _))| BoxMark {
                        bbox: *b,
                        colour: "#f59e0b".into(),
                        text: format!("#{} = {l}", j + 1),
                        dashed: true,
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let is_drawing = move || session.canvas.get().is_some_and(|c| c.scene.is_none());
    let set_label = move |j: usize, v: Option<u8>| {
        let regions = session
            .canvas
            .get_untracked()
            .map(|c| ink_regions(&c.pixels).len())
            .unwrap_or(0);
        session.update(|s| {
            let mut labels = parse_labels(&s.labels).unwrap_or_default();
            labels.resize(regions.max(j + 1), None);
            labels[j] = v;
            s.labels = format_labels(&labels);
        });
    };
    view! {
        <section class="widget" data-testid="detr-matching" aria-labelledby="detr-matching-title">
            <h2 id="detr-matching-title">{t!(i18n, detr.matching_title)}</h2>
            <p>{t!(i18n, detr.matching_intro)}</p>
            <UrlNotices notices=session.notices/>
            <DetrStatus session/>
            <div class="matching-layout">
                <figure class="attention-map">
                    <span class="map-stack">
                        <GrayImage values=pixels side=CANVAS label=move || t_string!(i18n, detr.matching_image) testid="detr-matching-image".into()/>
                        <BoxOverlay marks/>
                    </span>
                    <figcaption>{t!(i18n, detr.ground_truth)}</figcaption>
                </figure>
                <div>
                    <Show
                        when=is_drawing
                        fallback=move || view! { <p class="note">{t!(i18n, detr.scene_truth)}</p> }
                    >
                        <p class="note">{t!(i18n, detr.your_canvas)}</p>
                        <form class="controls" on:submit=|ev| ev.prevent_default()>
                            {move || step.get().map(|s| s.objects.into_iter().enumerate().map(|(j, (l, _, given))| view! {
                                <label>
                                    <span>{fill(t_string!(i18n, detr.digit_n), &[("digit", &(j + 1))])}</span>
                                    <select data-testid=format!("detr-label-{j}") on:change=move |ev| {
                                        let v = event_target_value(&ev).parse::<u8>().ok().filter(|&v| v < 10);
                                        set_label(j, v);
                                    }>
                                        <option value="?" selected=!given>{fill(t_string!(i18n, detr.detector_guess), &[("label", &l)])}</option>
                                        {(0..10u8).map(|d| view! { <option value=d.to_string() selected=given && d == l>{d.to_string()}</option> }).collect_view()}
                                    </select>
                                </label>
                            }).collect_view())}
                        </form>
                    </Show>
                    <form class="controls" on:submit=|ev| ev.prevent_default()>
                        <LayerSelect session testid="detr-matching-layer"/>
                        <span role="group" aria-label=move || t_string!(i18n, detr.which_cost)>
                            {Part::ALL.into_iter().map(|p| view! {
                                <button type="button" aria-pressed=move || (part.get() == p).to_string()
                                    data-testid=format!("detr-part-{}", p.slug())
                                    on:click=move |_| part.set(p)>{move || p.name(i18n.get_locale())}</button>
                            }).collect_view()}
                        </span>
                    </form>
                </div>
            </div>
            {move || match step.get() {
                None => ().into_any(),
                Some(s) if s.objects.is_empty() => view! {
                    <p class="note" data-testid="detr-matching-empty">
                        {t!(i18n, detr.nothing_to_match)}
                    </p>
                }.into_any(),
                Some(s) => {
                    let (n, m) = (s.cost.queries, s.cost.objects);
                    let values = match part.get() {
                        Part::Total => s.cost.total(),
                        Part::Class => s.cost.class.clone(),
                        Part::L1 => s.cost.l1.clone(),
                        Part::Giou => s.cost.giou.clone(),
                    };
                    let assigned = s.assignment.clone();
                    let code = assigned.iter().map(|(q, o)| format!("{q}:{o}")).collect::<Vec<_>>().join(",");
                    view! {
                        <div class="table-scroll" tabindex="0">
                            <table class="cost-matrix" data-testid="detr-cost" data-assignment=code data-queries=n data-objects=m>
                                <caption>{fill(
                                    t_string!(i18n, detr.cost_caption),
                                    &[("part", &part.get().name(i18n.get_locale())), ("queries", &n), ("digits", &m)],
                                )}</caption>
                                <thead><tr><th scope="col">{t!(i18n, detr.query)}</th>
                                    {s.objects.iter().enumerate().map(|(j, (l, _, _))| view! { <th scope="col">{format!("#{} ({l})", j + 1)}</th> }).collect_view()}
                                </tr></thead>
                                <tbody>
                                    {(0..n).map(|q| view! {
                                        <tr>
                                            <th scope="row"><span class="swatch" style=format!("background:{}", query_colour(q))></span>{format!("{q}")}</th>
                                            {(0..m).map(|o| {
                                                let hit = assigned.contains(&(q, o));
                                                view! { <td class:assigned=hit>{format!("{:+.2}", values[q * m + o])}{hit.then_some(" ✓")}</td> }
                                            }).collect_view()}
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <table class="loss-terms" data-testid="detr-loss" data-total=s.total.to_string()>
                            <caption>{t!(i18n, detr.loss_caption)}</caption>
                            <tbody>
                                <tr><th scope="row">{t!(i18n, detr.loss_class)}</th><td>{format!("{:.3}", s.class)}</td><td>{format!("× {COST_CLASS}")}</td></tr>
                                <tr><th scope="row">{t!(i18n, detr.loss_l1)}</th><td>{format!("{:.3}", s.l1)}</td><td>{format!("× {COST_L1}")}</td></tr>
                                <tr><th scope="row">{t!(i18n, detr.loss_giou)}</th><td>{format!("{:.3}", s.giou)}</td><td>{format!("× {COST_GIOU}")}</td></tr>
                                <tr><th scope="row">{t!(i18n, detr.loss_total)}</th><td colspan="2"><strong>{format!("{:.3}", s.total)}</strong></td></tr>
                            </tbody>
                        </table>
                        <p class="note" data-testid="detr-claimants" data-claimants={s.claimants.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")}>
                            {fill(
                                t_string!(i18n, detr.claimants),
                                &[
                                    (
                                        "list",
                                        &s.claimants
                                            .iter()
                                            .enumerate()
                                            .map(|(j, c)| fill(
                                                if *c == 1 {
                                                    t_string!(i18n, detr.claimant_one)
                                                } else {
                                                    t_string!(i18n, detr.claimant_many)
                                                },
                                                &[("count", c), ("digit", &(j + 1))],
                                            ))
                                            .collect::<Vec<_>>()
                                            .join(t_string!(i18n, detr.list_sep)),
                                    ),
                                    ("weight", &NO_OBJECT_WEIGHT),
                                ],
                            )}
                        </p>
                    }.into_any()
                }
            }}
        </section>
    }
}
