//! Chapter 1's widgets. They share one URL schema, [`ArState`], so a link
//! to the chapter, a lecture slide and an embedded widget all reproduce the
//! same model, seed, drawing and completion.

pub mod complete;
pub mod costs;
pub mod pixels;
pub mod receptive;
pub mod sample;
pub mod score;

use compute::models::ar::{image_from_code, ArKind, PIXELS, SIDE};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    chapters::autoregressive::session::ModelLoadError,
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{
        format::fill,
        url_state::{use_widget_state, Invalid, Parsed, WidgetState},
    },
};

/// Pixels per animation frame the sampler may advance.
pub const SPEEDS: [u32; 6] = [1, 4, 16, 56, 196, 784];
/// [`SPEEDS`] as a URL notice names them.
const SPEED_OPTIONS: &str = "1, 4, 16, 56, 196, 784";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArState {
    /// fvsbn, nade, made or pixelcnn.
    pub model: String,
    pub seed: u64,
    /// Pixels per frame while sampling.
    pub speed: u32,
    /// Rows of the drawing kept when completing.
    pub rows: u32,
    /// The drawing: 784 bits in base64url, or empty for a blank grid.
    pub x: String,
    /// The pixel whose conditional "What does pixel i see?" opens, 0–783
    /// in raster order.
    pub pixel: u32,
}

impl Default for ArState {
    fn default() -> Self {
        ArState {
            model: "nade".into(),
            seed: 1,
            speed: 16,
            rows: 14,
            x: String::new(),
            // Row 14, column 8: mid-image, where PixelCNN's blind spot shows.
            pixel: 400,
        }
    }
}

impl WidgetState for ArState {
    fn validate(&self) -> Result<(), Invalid> {
        if ArKind::from_slug(&self.model).is_none() {
            return Err(Invalid::OneOf {
                field: "model",
                options: "fvsbn, nade, made, pixelcnn",
            });
        }
        if !SPEEDS.contains(&self.speed) {
            return Err(Invalid::OneOf {
                field: "speed",
                options: SPEED_OPTIONS,
            });
        }
        if self.rows as usize >= SIDE {
            return Err(Invalid::Range {
                field: "rows",
                lo: "0".into(),
                hi: (SIDE - 1).to_string(),
            });
        }
        if self.pixel as usize >= PIXELS {
            return Err(Invalid::Range {
                field: "pixel",
                lo: "0".into(),
                hi: (PIXELS - 1).to_string(),
            });
        }
        if !self.x.is_empty() && image_from_code(&self.x).is_none() {
            return Err(Invalid::Drawing {
                field: "x",
                side: SIDE,
            });
        }
        Ok(())
    }
}

impl ArState {
    pub fn kind(&self) -> ArKind {
        ArKind::from_slug(&self.model).unwrap_or(ArKind::Nade)
    }

    /// The drawing as 784 binary pixels.
    pub fn image(&self) -> Vec<f32> {
        image_from_code(&self.x).unwrap_or_else(|| vec![0.0; PIXELS])
    }
}

/// The chapter state from the URL, and its writer.
pub fn use_ar_state() -> (
    Memo<ArState>,
    Signal<Vec<crate::shell::url_state::Notice>>,
    impl Fn(ArState) + Clone + 'static,
) {
    let (parsed, write) = use_widget_state::<ArState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || {
        let p: Parsed<ArState> = parsed.get();
        p.notices
    });
    (state, notices, write)
}

/// The model picker every sampling widget shows.
#[component]
pub fn ModelSelect(
    state: Memo<ArState>,
    write: impl Fn(ArState) + Clone + 'static,
    testid: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label>
            <span>{t!(i18n, autoregressive.model_label)}</span>
            <select
                data-testid=testid
                on:change=move |ev| {
                    let mut next = state.get_untracked();
                    next.model = event_target_value(&ev);
                    write(next);
                }
            >
                {ArKind::ALL
                    .into_iter()
                    .map(|k| {
                        view! {
                            <option value=k.slug() selected=move || state.get().model == k.slug()>
                                {k.title()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

/// A download's progress, or the error that stopped it.
#[component]
pub fn LoadStatus(
    #[prop(into)] what: Signal<String>,
    progress: ReadSignal<(u64, u64)>,
    error: ReadSignal<Option<ModelLoadError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        {move || match error.get() {
            Some(e) => view! {
                <p class="error" role="alert" data-testid="ar-load-error">{move || e.say(i18n.get_locale())}</p>
            }.into_any(),
            None => {
                let (loaded, total) = progress.get();
                (total > 0 && loaded < total)
                    .then(|| view! {
                        <p class="loading" role="status">
                            {move || fill(t_string!(i18n, autoregressive.load_downloading), &[("what", &what.get())])}
                            <progress max=total value=loaded></progress>
                            {move || fill(
                                t_string!(i18n, autoregressive.load_progress),
                                &[("loaded", &(loaded / 1000)), ("total", &(total / 1000))],
                            )}
                        </p>
                    })
                    .into_any()
            }
        }}
    }
}

/// A model's figure while its weights download: the bytes so far.
#[component]
pub fn ModelLoading(progress: RwSignal<(u64, u64)>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p role="status">
            {t!(i18n, autoregressive.score_loading)}
            <progress max=move || progress.get().1.max(1) value=move || progress.get().0></progress>
        </p>
    }
}

/// "NADE weights": what [`LoadStatus`] says it is downloading.
pub fn weights_of(locale: Locale, state: &ArState) -> String {
    fill(
        td_string!(locale, autoregressive.weights_what),
        &[("model", &state.kind().title())],
    )
}

/// A model that could not be loaded, or a run that failed (compute's
/// error, as it words it).
#[derive(Debug, Clone, PartialEq)]
pub enum RunFailure {
    Load(ModelLoadError),
    Compute(String),
}

impl RunFailure {
    pub fn say(&self, locale: Locale) -> String {
        match self {
            RunFailure::Load(e) => e.say(locale),
            RunFailure::Compute(e) => e.clone(),
        }
    }
}

/// Resolves after one frame's worth of time, so the page can paint between
/// sampling chunks.
pub async fn next_frame() {
    gloo_timers::future::TimeoutFuture::new(16).await;
}
