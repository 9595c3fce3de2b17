//! Chapter 3's widgets. They share one URL schema, [`DetrState`] (the
//! canvas, the confidence threshold, the selected query, layer and cell,
//! and the visitor's labels), and one detection per canvas, [`DetrSession`],
//! so the page runs the detector once per change however many widgets show
//! it. An embedded widget makes its own session.

pub mod attention;
pub mod detect;
pub mod matching;
pub mod pipeline;
pub mod queries;

use std::rc::Rc;

use compute::{
    inputs::SplitMix64,
    models::detr::{
        config::{DECODER_LAYERS, ENCODER_LAYERS, QUERIES},
        drawing::{canvas_from_code, ink_regions},
        model::{DetrTrace, Pipeline},
        output::QueryOutput,
        scenes::{generate_scene, Scene, CANVAS},
        set_loss::NO_OBJECT,
    },
};
use leptos::{html, prelude::*, task::spawn_local};
use serde::{Deserialize, Serialize};

use crate::chapters::autoregressive::session::test_digits;
use crate::{
    chapters::{
        autoregressive::{session::ModelLoadError, widgets::pixels::put_rgba},
        detr::session::detr_runner,
    },
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{
        format::fill,
        live_backend,
        url_state::{use_widget_state, Invalid, Parsed, WidgetState},
    },
};

/// The pipeline's stages: the image, 4 convolutions, the encoder, 3 decoder
/// layers, the predictions.
pub const STAGES: usize = 1
    + compute::models::detr::config::BACKBONE.len()
    + 1
    + compute::models::detr::config::DECODER_LAYERS
    + 1;
/// The most channels any convolution has.
pub const MAX_CHANNELS: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetrState {
    /// The generated test scene shown while `x` is empty.
    pub scene: u64,
    /// The visitor's canvas (`compute::models::detr::drawing::canvas_to_code`), or
    /// empty for the generated scene.
    pub x: String,
    /// Detections below this score (percent) are not drawn.
    pub conf: u32,
    /// The query whose attention is shown, highlighted in every view.
    pub query: u32,
    /// The pipeline view: the stage opened large (0 the image … 9 the
    /// predictions), and the feature-map channel shown.
    pub stage: u32,
    pub channel: u32,
    /// The decoder layer for the attention maps and the matching.
    pub layer: u32,
    /// The encoder layer, and the clicked 12×12 cell (−1: none yet).
    pub enc_layer: u32,
    pub cell: i32,
    /// The visitor's labels for the digits on their canvas, left to right,
    /// e.g. "3,7"; missing ones default to the detector's reading.
    pub labels: String,
}

impl Default for DetrState {
    fn default() -> Self {
        DetrState {
            scene: 1,
            x: String::new(),
            conf: 50,
            query: 0,
            stage: 1,
            channel: 0,
            layer: DECODER_LAYERS as u32 - 1,
            enc_layer: ENCODER_LAYERS as u32 - 1,
            cell: -1,
            labels: String::new(),
        }
    }
}

impl WidgetState for DetrState {
    fn validate(&self) -> Result<(), Invalid> {
        if self.conf > 100 {
            return Err(Invalid::Range {
                field: "conf",
                lo: "0".into(),
                hi: "100".into(),
            });
        }
        if self.query as usize >= QUERIES {
            return Err(Invalid::Range {
                field: "query",
                lo: "0".into(),
                hi: (QUERIES - 1).to_string(),
            });
        }
        if self.stage as usize >= STAGES {
            return Err(Invalid::Range {
                field: "stage",
                lo: "0".into(),
                hi: (STAGES - 1).to_string(),
            });
        }
        if self.channel as usize >= MAX_CHANNELS {
            return Err(Invalid::Range {
                field: "channel",
                lo: "0".into(),
                hi: (MAX_CHANNELS - 1).to_string(),
            });
        }
        if self.layer as usize >= DECODER_LAYERS {
            return Err(Invalid::Range {
                field: "layer",
                lo: "0".into(),
                hi: (DECODER_LAYERS - 1).to_string(),
            });
        }
        if self.enc_layer as usize >= ENCODER_LAYERS {
            return Err(Invalid::Range {
                field: "enc_layer",
                lo: "0".into(),
                hi: (ENCODER_LAYERS - 1).to_string(),
            });
        }
        if !(-1..144).contains(&self.cell) {
            return Err(Invalid::Range {
                field: "cell",
                lo: "−1".into(),
                hi: "143".into(),
            });
        }
        if !self.x.is_empty() && canvas_from_code(&self.x).is_none() {
            return Err(Invalid::Drawing {
                field: "x",
                side: CANVAS,
            });
        }
        if parse_labels(&self.labels).is_none() {
            return Err(Invalid::Labels);
        }
        Ok(())
    }
}

/// "3,7,?" → [Some(3), Some(7), None]; None when malformed.
pub fn parse_labels(s: &str) -> Option<Vec<Option<u8>>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(',')
        .map(|t| match t.trim() {
            "?" | "" => Some(None),
            d => d.parse::<u8>().ok().filter(|&v| v < 10).map(Some),
        })
        .collect()
}

pub fn format_labels(labels: &[Option<u8>]) -> String {
    labels
        .iter()
        .map(|l| l.map_or("?".to_string(), |v| v.to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The canvas and the ground truth it comes with.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    pub pixels: Vec<f32>,
    /// A generated scene's objects; None for the visitor's own canvas.
    pub scene: Option<Scene>,
}

/// One detection of the current canvas.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub trace: DetrTrace,
    pub ms: f64,
    /// The WebGPU adapter it ran on, or None for the CPU.
    pub adapter: Option<String>,
    /// The canvas it was computed from.
    pub pixels: Vec<f32>,
    /// Every stage's activations, when a pipeline view asked for them.
    pub pipeline: Option<Pipeline>,
    /// The GPU epoch it was computed in (a lost GPU starts a new one).
    pub epoch: u32,
}

impl Detected {
    pub fn queries(&self) -> Vec<QueryOutput> {
        self.trace.queries()
    }
}

/// Why the detector is not showing anything, worded when shown so it
/// follows the page's language.
#[derive(Debug, Clone, PartialEq)]
pub enum DetrError {
    /// The test digits for a generated scene did not load.
    Digits(ModelLoadError),
    /// The detector's weights did not load.
    Load(ModelLoadError),
    /// A forward pass failed: compute's error, as compute words it.
    Failed(String),
}

impl DetrError {
    pub fn say(&self, locale: Locale) -> String {
        match self {
            DetrError::Digits(e) | DetrError::Load(e) => e.say(locale),
            DetrError::Failed(e) => fill(td_string!(locale, detr.error_failed), &[("error", e)]),
        }
    }
}

/// What every chapter-3 widget reads: the URL state, the canvas it
/// describes, and the latest detection of that canvas.
#[derive(Clone, Copy)]
pub struct DetrSession {
    pub state: Memo<DetrState>,
    pub notices: Signal<Vec<crate::shell::url_state::Notice>>,
    write: StoredValue<Rc<dyn Fn(DetrState)>, LocalStorage>,
    pub canvas: RwSignal<Option<Canvas>>,
    pub detected: RwSignal<Option<Detected>>,
    pub progress: RwSignal<(u64, u64)>,
    pub error: RwSignal<Option<DetrError>>,
    /// Detections finished, for tests and the status line.
    pub runs: RwSignal<u32>,
    /// Set by the pipeline view: passes keep every stage's activations.
    pub want_stages: RwSignal<bool>,
}

impl DetrSession {
    pub fn write(&self, next: DetrState) {
        (self.write.get_value())(next)
    }

    /// Changes the state through `f`.
    pub fn update(&self, f: impl FnOnce(&mut DetrState)) {
        let mut next = self.state.get_untracked();
        f(&mut next);
        self.write(next);
    }

    /// The page's session, or a new one for an embedded widget.
    pub fn use_or_new() -> DetrSession {
        if let Some(s) = use_context::<DetrSession>() {
            return s;
        }
        let s = DetrSession::new();
        provide_context(s);
        s
    }

    fn new() -> DetrSession {
        let (parsed, write) = use_widget_state::<DetrState>();
        let state = Memo::new(move |_| parsed.read().state.clone());
        let notices = Signal::derive(move || {
            let p: Parsed<DetrState> = parsed.get();
            p.notices
        });
        let session = DetrSession {
            state,
            notices,
            write: StoredValue::new_local(Rc::new(write)),
            canvas: RwSignal::new(None),
            detected: RwSignal::new(None),
            progress: RwSignal::new((0, 0)),
            error: RwSignal::new(None),
            runs: RwSignal::new(0),
            want_stages: RwSignal::new(false),
        };
        // The canvas follows the URL: the visitor's code, or a generated scene.
        let source = Memo::new(move |_| {
            let s = state.get();
            (s.scene, s.x)
        });
        Effect::new(move |_| {
            let (seed, code) = source.get();
            if let Some(pixels) = canvas_from_code(&code) {
                session.canvas.set(Some(Canvas {
                    pixels,
                    scene: None,
                }));
                return;
            }
            spawn_local(async move {
                match test_digits().await {
                    Ok(d) => {
                        let scene =
                            generate_scene(&d.images, &d.labels, &mut SplitMix64::new(seed));
                        session.canvas.set(Some(Canvas {
                            pixels: scene.pixels.clone(),
                            scene: Some(scene),
                        }));
                    }
                    Err(e) => session.error.set(Some(DetrError::Digits(e))),
                }
            });
        });
        // Each new canvas is detected once; a stale answer is dropped.
        let generation = StoredValue::new(0u64);
        Effect::new(move |_| {
            let Some(canvas) = session.canvas.get() else {
                return;
            };
            // A lost GPU detects again on the new device.
            let epoch = live_backend::gpu_epoch();
            let stages = session.want_stages.get();
            generation.update_value(|g| *g += 1);
            let mine = generation.get_value();
            spawn_local(async move {
                let backend = live_backend::backend().await;
                let runner =
                    match detr_runner(&backend, move |l, t| session.progress.set((l, t))).await {
                        Ok(r) => r,
                        Err(e) => {
                            session.error.set(Some(DetrError::Load(e)));
                            return;
                        }
                    };
                let outcome = if stages {
                    runner
                        .detect_stages(&canvas.pixels)
                        .await
                        .map(|(trace, pipeline, ms)| (trace, Some(pipeline), ms))
                } else {
                    runner
                        .detect(&canvas.pixels)
                        .await
                        .map(|(trace, ms)| (trace, None, ms))
                };
                // A page navigated away from has disposed `generation`: stop.
                if generation.try_get_value() != Some(mine) {
                    return;
                }
                match outcome {
                    Ok((trace, pipeline, ms)) => {
                        session.error.set(None);
                        session.detected.set(Some(Detected {
                            trace,
                            ms,
                            adapter: runner.adapter_name(),
                            pixels: canvas.pixels,
                            pipeline,
                            epoch,
                        }));
                        session.runs.update(|n| *n += 1);
                        live_backend::result_shown();
                    }
                    Err(e) => session.error.set(Some(DetrError::Failed(e.to_string()))),
                }
            });
        });
        session
    }
}

/// The ground truth for the matching: a generated scene's objects, or the
/// visitor's digits (ink regions) with their labels, where a missing label
/// is read from the detection that overlaps the region most.
pub fn ground_truth(
    canvas: &Canvas,
    labels: &[Option<u8>],
    queries: &[QueryOutput],
) -> Vec<(u8, [f64; 4], bool)> {
    use compute::models::detr::boxes::{iou, Corners};
    if let Some(scene) = &canvas.scene {
        return scene
            .objects
            .iter()
            .map(|o| (o.label, o.bbox, true))
            .collect();
    }
    ink_regions(&canvas.pixels)
        .into_iter()
        .enumerate()
        .map(|(i, b)| match labels.get(i).copied().flatten() {
            Some(l) => (l, b, true),
            None => {
                let guess = queries
                    .iter()
                    .max_by(|p, q| {
                        let a = iou(Corners::from_xywh(p.bbox), Corners::from_xywh(b));
                        let c = iou(Corners::from_xywh(q.bbox), Corners::from_xywh(b));
                        a.total_cmp(&c)
                    })
                    .map_or(0, |q| q.label as u8);
                (guess, b, false)
            }
        })
        .collect()
}

/// The label a query shows: its digit, or ∅.
pub fn query_label(q: &QueryOutput) -> String {
    if q.is_empty() {
        "∅".into()
    } else {
        q.label.to_string()
    }
}

pub const CLASS_NAMES: [&str; 11] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "∅"];

/// A distinct colour per query, so a box, its card and its attention map
/// can be matched by eye. Each is text-legible (WCAG AA, 4.5:1) as a label
/// on the black canvas and a visible mark (3:1) on either theme's page.
pub fn query_colour(q: usize) -> &'static str {
    const COLOURS: [&str; 10] = [
        "#4f8ef7", "#e8504a", "#0ea371", "#9a6cf0", "#e0701a", "#0aa2bd", "#e0508f", "#6f9f1a",
        "#b8860b", "#7a8699",
    ];
    COLOURS[q % COLOURS.len()]
}

/// Paints a grayscale `side`×`side` image (0 black … 1 white ink on black,
/// as the detector sees it) into a canvas, or a heat map when `heat`.
pub fn paint_gray(canvas: &web_sys::HtmlCanvasElement, values: &[f32], side: usize, heat: bool) {
    let max = if heat {
        values.iter().cloned().fold(1e-9f32, f32::max)
    } else {
        1.0
    };
    let mut rgba = Vec::with_capacity(side * side * 4);
    for i in 0..side * side {
        let v = (values.get(i).copied().unwrap_or(0.0) / max).clamp(0.0, 1.0);
        let c = if heat {
            // Black through orange to yellow-white.
            [
                (255.0 * (v * 1.6).min(1.0)) as u8,
                (255.0 * v.powf(1.5)) as u8,
                (200.0 * v.powi(4)) as u8,
                255,
            ]
        } else {
            let g = (v * 255.0) as u8;
            [g, g, g, 255]
        };
        rgba.extend_from_slice(&c);
    }
    put_rgba(canvas, &rgba, side);
}

/// A read-only image: the canvas, or an attention map, scaled up by CSS.
#[component]
pub fn GrayImage(
    #[prop(into)] values: Signal<Vec<f32>>,
    side: usize,
    #[prop(optional)] heat: bool,
    #[prop(into)] label: Signal<String>,
    testid: String,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        let v = values.get();
        if let Some(c) = canvas.get() {
            paint_gray(&c, &v, side, heat);
        }
    });
    view! {
        <canvas
            node_ref=canvas
            class=format!("pixels {class}")
            width=side
            height=side
            role="img"
            aria-label=move || label.get()
            data-testid=testid
        ></canvas>
    }
}

/// Boxes over a 96×96 image, in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxMark {
    pub bbox: [f64; 4],
    pub colour: String,
    pub text: String,
    pub dashed: bool,
}

#[component]
pub fn BoxOverlay(#[prop(into)] marks: Signal<Vec<BoxMark>>) -> impl IntoView {
    let side = CANVAS as f64;
    view! {
        <svg class="box-overlay" viewBox=format!("0 0 {side} {side}") aria-hidden="true">
            {move || {
                marks
                    .get()
                    .into_iter()
                    .map(|m| {
                        let [x, y, w, h] = m.bbox;
                        let label_y = if y > 6.0 { y - 1.0 } else { y + h + 5.0 };
                        view! {
                            <g>
                                <rect
                                    x=x y=y width=w height=h fill="none"
                                    stroke=m.colour.clone() stroke-width="0.8"
                                    stroke-dasharray=if m.dashed { "2 1.5" } else { "none" }
                                />
                                <text x=x y=label_y font-size="5" fill=m.colour.clone() class="box-label">{m.text}</text>
                            </g>
                        }
                    })
                    .collect_view()
            }}
        </svg>
    }
}

/// Download progress and errors, shared by the chapter's widgets.
#[component]
pub fn DetrStatus(session: DetrSession) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        {move || match session.error.get() {
            Some(e) => view! { <p class="error" role="alert" data-testid="detr-error">{e.say(i18n.get_locale())}</p> }.into_any(),
            None => {
                let (loaded, total) = session.progress.get();
                (total > 0 && loaded < total)
                    .then(|| view! {
                        <p class="loading" role="status">
                            {t!(i18n, detr.status_downloading)}
                            <progress max=total value=loaded></progress>
                            {move || fill(
                                t_string!(i18n, detr.status_kb),
                                &[("loaded", &(loaded / 1000)), ("total", &(total / 1000))],
                            )}
                        </p>
                    })
                    .into_any()
            }
        }}
        <Show when=move || session.detected.read().is_none() && session.error.read().is_none()>
            <p class="loading" role="status">{t!(i18n, detr.status_running)}</p>
        </Show>
    }
}

/// The ∅ class's index, for widgets that colour it apart.
pub const EMPTY: usize = NO_OBJECT;

/// Gives the widgets inside it one shared session (the chapter page).
#[component]
pub fn DetrSessionScope(children: Children) -> impl IntoView {
    DetrSession::use_or_new();
    children()
}

/// The trained model's measured numbers, next to DETR-R50's published ones.
#[component]
pub fn DetrModelFacts() -> impl IntoView {
    let i18n = use_i18n();
    let metrics = LocalResource::new(crate::chapters::detr::session::detr_metrics);
    view! {
        <Suspense fallback=move || view! { <p role="status">{t!(i18n, detr.facts_loading)}</p> }>
            {move || Suspend::new(async move {
                match metrics.await {
                    Ok(m) => {
                        let ap = format!("{:.3}", m.test_ap);
                        let test_scenes = m.test_scenes;
                        let steps = crate::shell::format::group(m.steps);
                        let scenes_seen = crate::shell::format::group(m.scenes_seen);
                        let minutes = format!("{:.0}", m.train_seconds / 60.0);
                        view! {
                        <table class="facts" data-testid="detr-facts" data-ap=m.test_ap.to_string()>
                            <caption>{t!(i18n, detr.facts_caption)}</caption>
                            <thead><tr><th scope="col"></th><th scope="col">{t!(i18n, detr.facts_ours)}</th><th scope="col">{t!(i18n, detr.facts_theirs)}</th></tr></thead>
                            <tbody>
                                <tr><th scope="row">{t!(i18n, detr.facts_params)}</th><td>{crate::shell::format::group(m.params)}</td><td>"41M"</td></tr>
                                <tr><th scope="row">"AP@[.50:.95]"</th>
                                    <td>{move || fill(
                                        t_string!(i18n, detr.facts_ap_ours),
                                        &[("ap", &ap), ("scenes", &test_scenes)],
                                    )}</td><td>{t!(i18n, detr.facts_ap_theirs)}</td></tr>
                                <tr><th scope="row">"AP50 / AP75"</th><td>{format!("{:.3} / {:.3}", m.test_ap50, m.test_ap75)}</td><td>{t!(i18n, detr.facts_ap5075_theirs)}</td></tr>
                                <tr><th scope="row">{t!(i18n, detr.facts_training)}</th>
                                    <td>{move || fill(
                                        t_string!(i18n, detr.facts_training_ours),
                                        &[
                                            ("steps", &steps),
                                            ("scenes", &scenes_seen),
                                            ("minutes", &minutes),
                                        ],
                                    )}</td>
                                    <td>{t!(i18n, detr.facts_training_theirs)}</td></tr>
                                <tr><th scope="row">{t!(i18n, detr.facts_weights)}</th><td>{format!("{} kB (Q8_0)", m.weights_bytes / 1000)}</td><td>{t!(i18n, detr.facts_weights_theirs)}</td></tr>
                            </tbody>
                        </table>
                        }.into_any()
                    }
                    Err(e) => view! {
                        <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
