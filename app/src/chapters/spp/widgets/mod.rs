//! Chapter 9's widgets. They share one URL schema, [`SppState`] (the
//! held-out scene, the face and bin opened in "any size in", the dragged
//! window, the race's window count, the detection threshold), and one
//! session for the state, the download's progress and errors. An embedded
//! widget makes its own session.

pub mod any_size;
pub mod detect;
pub mod race;
pub mod window;

use std::rc::Rc;

use compute::{
    faces::scenes::{face_width, MAX_FACE_HEIGHT, MIN_FACE_HEIGHT, SIDE},
    models::spp::{
        config::BINS,
        windows::{grid, PixelWindow},
    },
};
use leptos::{html, prelude::*};
use serde::{Deserialize, Serialize};

use crate::{
    chapters::{
        autoregressive::session::ModelLoadError,
        autoregressive::widgets::pixels::put_rgba_rect,
        spp::session::{spp_runner, SppRunner},
    },
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{
        format::fill,
        live_backend,
        url_state::{use_widget_state, Invalid, Parsed, WidgetState},
    },
};

/// Held-out scenes the page can show (`cargo xtask scenes faces` writes 500).
pub const SCENES: u64 = 500;
/// Faces of the held-out people: 12 people × 10 photos.
pub const FACES: u32 = 120;
/// "Any size in" shows one face at three sizes and aspect ratios.
pub const INPUTS: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SppState {
    /// The held-out scene (0–499 of seed 29) shown by "a window, pooled"
    /// and "detections".
    pub scene: u64,
    /// "Any size in": the held-out face (person 29 + face / 10, photo
    /// face % 10 + 1), the input opened (0–2) and its clicked bin (0–20).
    pub face: u32,
    pub input: u32,
    pub bin: u32,
    /// "A window, pooled": its top-left corner and height in scene pixels;
    /// its width follows ORL's 92:112.
    pub wx: u32,
    pub wy: u32,
    pub wh: u32,
    /// The race: how many of the grid's windows both pipelines score.
    pub windows: u32,
    /// Detections below this score (percent) are not drawn.
    pub conf: u32,
}

impl Default for SppState {
    fn default() -> Self {
        SppState {
            scene: 0,
            face: 0,
            input: 0,
            bin: 0,
            wx: 96,
            wy: 80,
            wh: 64,
            windows: 500,
            conf: 50,
        }
    }
}

fn range(field: &'static str, lo: impl ToString, hi: impl ToString) -> Result<(), Invalid> {
    Err(Invalid::Range {
        field,
        lo: lo.to_string(),
        hi: hi.to_string(),
    })
}

impl WidgetState for SppState {
    fn validate(&self) -> Result<(), Invalid> {
        if self.scene >= SCENES {
            return range("scene", 0, SCENES - 1);
        }
        if self.face >= FACES {
            return range("face", 0, FACES - 1);
        }
        if self.input as usize >= INPUTS {
            return range("input", 0, INPUTS - 1);
        }
        if self.bin as usize >= BINS {
            return range("bin", 0, BINS - 1);
        }
        let h = self.wh as usize;
        if !(MIN_FACE_HEIGHT..=MAX_FACE_HEIGHT).contains(&h) {
            return range("wh", MIN_FACE_HEIGHT, MAX_FACE_HEIGHT);
        }
        if self.wx as usize + face_width(h) > SIDE {
            return range("wx", 0, SIDE - face_width(h));
        }
        if self.wy as usize + h > SIDE {
            return range("wy", 0, SIDE - h);
        }
        let all = grid().len() as u32;
        if !(1..=all).contains(&self.windows) {
            return range("windows", 1, all);
        }
        if self.conf > 100 {
            return range("conf", 0, 100);
        }
        Ok(())
    }
}

impl SppState {
    /// The dragged window.
    pub fn window(&self) -> PixelWindow {
        let h = self.wh as usize;
        PixelWindow {
            x: self.wx as usize,
            y: self.wy as usize,
            w: face_width(h),
            h,
            scale: 0,
        }
    }
}

/// Why a widget is not showing anything, worded when shown.
#[derive(Debug, Clone, PartialEq)]
pub enum SppError {
    Load(ModelLoadError),
    /// A pass failed: compute's error, as compute words it.
    Failed(String),
}

impl SppError {
    pub fn say(&self, locale: Locale) -> String {
        match self {
            SppError::Load(e) => e.say(locale),
            SppError::Failed(e) => fill(td_string!(locale, spp.error_failed), &[("error", e)]),
        }
    }
}

/// What every chapter-9 widget reads: the URL state, the download's
/// progress and the latest error.
#[derive(Clone, Copy)]
pub struct SppSession {
    pub state: Memo<SppState>,
    pub notices: Signal<Vec<crate::shell::url_state::Notice>>,
    write: StoredValue<Rc<dyn Fn(SppState)>, LocalStorage>,
    pub progress: RwSignal<(u64, u64)>,
    pub error: RwSignal<Option<SppError>>,
}

impl SppSession {
    pub fn write(&self, next: SppState) {
        (self.write.get_value())(next)
    }

    pub fn update(&self, f: impl FnOnce(&mut SppState)) {
        let mut next = self.state.get_untracked();
        f(&mut next);
        self.write(next);
    }

    /// The detector on the page's backend, its download shown as progress.
    pub async fn runner(&self) -> Result<Rc<SppRunner>, SppError> {
        let progress = self.progress;
        let backend = live_backend::backend().await;
        spp_runner(&backend, move |l, t| progress.set((l, t)))
            .await
            .map_err(SppError::Load)
    }

    /// A finished pass: its result handed to `show`, or its error shown.
    pub fn finish<T>(&self, outcome: Result<T, SppError>, show: impl FnOnce(T)) {
        match outcome {
            Ok(v) => {
                self.error.set(None);
                show(v);
                live_backend::result_shown();
            }
            Err(e) => self.error.set(Some(e)),
        }
    }

    /// The page's session, or a new one for an embedded widget.
    pub fn use_or_new() -> SppSession {
        if let Some(s) = use_context::<SppSession>() {
            return s;
        }
        let (parsed, write) = use_widget_state::<SppState>();
        let state = Memo::new(move |_| parsed.read().state.clone());
        let notices = Signal::derive(move || {
            let p: Parsed<SppState> = parsed.get();
            p.notices
        });
        let s = SppSession {
            state,
            notices,
            write: StoredValue::new_local(Rc::new(write)),
            progress: RwSignal::new((0, 0)),
            error: RwSignal::new(None),
        };
        provide_context(s);
        s
    }
}

/// Gives the widgets inside it one shared session (the chapter page).
#[component]
pub fn SppSessionScope(children: Children) -> impl IntoView {
    SppSession::use_or_new();
    children()
}

/// Download progress and errors, shared by the chapter's widgets.
#[component]
pub fn SppStatus(session: SppSession) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        {move || match session.error.get() {
            Some(e) => view! { <p class="error" role="alert" data-testid="spp-error">{e.say(i18n.get_locale())}</p> }.into_any(),
            None => {
                let (loaded, total) = session.progress.get();
                (total > 0 && loaded < total)
                    .then(|| view! {
                        <p class="loading" role="status">
                            {t!(i18n, spp.status_downloading)}
                            <progress max=total value=loaded></progress>
                            {move || fill(
                                t_string!(i18n, spp.status_kb),
                                &[("loaded", &(loaded / 1000)), ("total", &(total / 1000))],
                            )}
                        </p>
                    })
                    .into_any()
            }
        }}
    }
}

/// Where a pass ran, in the page's language.
pub fn backend_name(adapter: Option<&str>, locale: Locale) -> String {
    match adapter {
        Some(a) => format!("WebGPU ({a})"),
        None => td_string!(locale, spp.backend_cpu).to_string(),
    }
}

/// Paints grey intensities in [0, 1] (`width` × `height`) into a canvas.
pub fn paint_grey(
    canvas: &web_sys::HtmlCanvasElement,
    values: &[f32],
    width: usize,
    height: usize,
) {
    let rgba: Vec<u8> = (0..width * height)
        .flat_map(|i| {
            let g = (values.get(i).copied().unwrap_or(0.0).clamp(0.0, 1.0) * 255.0) as u8;
            [g, g, g, 255]
        })
        .collect();
    put_rgba_rect(canvas, &rgba, width, height);
}

/// A read-only grey image, scaled up by CSS.
#[component]
pub fn GreyImage(
    #[prop(into)] values: Signal<Vec<f32>>,
    width: usize,
    height: usize,
    #[prop(into)] label: Signal<String>,
    testid: String,
) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        let v = values.get();
        if let Some(c) = canvas.get() {
            paint_grey(&c, &v, width, height);
        }
    });
    view! {
        <canvas node_ref=canvas class="pixels spp-image" width=width height=height role="img"
            aria-label=move || label.get() data-testid=testid></canvas>
    }
}

/// A box drawn over an image, in the image's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub bbox: [f64; 4],
    pub colour: &'static str,
    pub text: String,
    pub dashed: bool,
}

pub const FACE_COLOUR: &str = "#0ea371";
pub const FOUND_COLOUR: &str = "#e0701a";
pub const WINDOW_COLOUR: &str = "#4f8ef7";

/// Boxes over a `width` × `height` image.
#[component]
pub fn Marks(#[prop(into)] marks: Signal<Vec<Mark>>, width: usize, height: usize) -> impl IntoView {
    let font = (height as f64 / 22.0).max(4.0);
    view! {
        <svg class="box-overlay" viewBox=format!("0 0 {width} {height}") aria-hidden="true">
            {move || marks.get().into_iter().map(|m| {
                let [x, y, w, h] = m.bbox;
                let label_y = if y > font { y - 2.0 } else { y + h + font };
                view! {
                    <g>
                        <rect x=x y=y width=w height=h fill="none" stroke=m.colour
                            stroke-width=font / 6.0
                            stroke-dasharray=if m.dashed { "4 3" } else { "none" }/>
                        <text x=x y=label_y font-size=font fill=m.colour class="box-label">{m.text}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
}

/// Scene picker shared by the window and detection widgets.
#[component]
pub fn ScenePicker(session: SppSession, testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label>
            <span>{t!(i18n, spp.scene)}</span>
            <input type="number" min="0" max=SCENES - 1 data-testid=testid
                prop:value=move || session.state.get().scene.to_string()
                on:change=move |ev| {
                    if let Ok(k) = event_target_value(&ev).parse::<u64>() {
                        session.update(|s| s.scene = k.min(SCENES - 1));
                    }
                }/>
        </label>
        <button type="button" data-testid=format!("{testid}-next")
            on:click=move |_| session.update(|s| s.scene = (s.scene + 1) % SCENES)>
            {t!(i18n, spp.next_scene)}
        </button>
    }
}

/// The numbers the tests compare with the native pipeline, comma-separated.
pub fn join(values: impl IntoIterator<Item = f64>) -> String {
    values
        .into_iter()
        .map(|v| format!("{v:.4}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The faces' credit, as their authors ask, under everything that shows
/// them (an embedded widget too).
#[component]
pub fn FacesCredit() -> impl IntoView {
    let i18n = use_i18n();
    view! { <p class="credit" data-testid="spp-faces-credit">{t!(i18n, spp.credit)}</p> }
}

/// The trained detector's measured numbers, next to the paper's claim.
#[component]
pub fn SppModelFacts() -> impl IntoView {
    let i18n = use_i18n();
    let metrics = LocalResource::new(crate::chapters::spp::session::spp_metrics);
    view! {
        <Suspense fallback=move || view! { <p role="status">{t!(i18n, spp.facts_loading)}</p> }>
            {move || Suspend::new(async move {
                match metrics.await {
                    Ok(m) => {
                        let scenes = m.test_scenes;
                        let windows = m.windows_per_scene;
                        let spp = format!("{:.3}", m.spp.ap50);
                        let rcnn = format!("{:.3}", m.rcnn.ap50);
                        let steps = crate::shell::format::group(m.steps);
                        let seen = crate::shell::format::group(m.scenes_seen);
                        let minutes = format!("{:.0}", m.train_seconds / 60.0);
                        view! {
                        <table class="facts" data-testid="spp-facts" data-ap50=m.spp.ap50.to_string()>
                            <caption>{t!(i18n, spp.facts_caption)}</caption>
                            <tbody>
                                <tr><th scope="row">"AP50"</th>
                                    <td>{move || fill(t_string!(i18n, spp.facts_ap50), &[
                                        ("spp", &spp), ("rcnn", &rcnn), ("scenes", &scenes), ("windows", &windows),
                                    ])}</td></tr>
                                <tr><th scope="row">"AP@[.50:.95]"</th>
                                    <td>{format!("{:.3} / {:.3}", m.spp.ap, m.rcnn.ap)}</td></tr>
                                <tr><th scope="row">{t!(i18n, spp.facts_params)}</th>
                                    <td>{crate::shell::format::group(m.params)}</td></tr>
                                <tr><th scope="row">{t!(i18n, spp.facts_weights)}</th>
                                    <td>{format!("{} kB (Q8_0)", m.weights_bytes / 1000)}</td></tr>
                                <tr><th scope="row">{t!(i18n, spp.facts_training)}</th>
                                    <td>{move || fill(t_string!(i18n, spp.facts_training_ours), &[
                                        ("steps", &steps), ("scenes", &seen), ("minutes", &minutes),
                                    ])}</td></tr>
                                <tr><th scope="row">{t!(i18n, spp.facts_paper)}</th>
                                    <td>{t!(i18n, spp.facts_paper_claim)}</td></tr>
                            </tbody>
                        </table>
                        <FacesCredit/>
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
