//! "Detections": SPP-net over every window of the grid on a held-out scene
//! (people the model never saw), or on a photo the visitor uploads, then
//! non-maximum suppression; the boxes above a threshold, with scores.

use compute::{
    faces::scenes::SIDE,
    models::spp::{
        race::Pipeline,
        windows::{grid, nms, score, Scored},
    },
};
use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::JsCast;

use super::{
    backend_name, join, FacesCredit, GreyImage, Mark, Marks, ScenePicker, SppError, SppSession,
    SppStatus, FACE_COLOUR, FOUND_COLOUR,
};
use crate::{
    chapters::{detr::widgets::detect::read_photo_rgba, spp::session::scene_source},
    i18n::{t, t_string, use_i18n},
    shell::{file_picker::FilePicker, format::fill, live_backend, widget::UrlNotices},
};

/// What is being searched: a held-out scene, or the visitor's photo.
#[derive(Debug, Clone, PartialEq)]
struct Picture {
    pixels: Vec<f32>,
    /// The scene's faces; empty for a photo.
    faces: Vec<[f64; 4]>,
    /// The photo's file name, or None for a scene.
    photo: Option<String>,
    /// The held-out scene's index, or None for a photo.
    scene: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
struct Found {
    scene: Option<u64>,
    kept: Vec<Scored>,
    ms: f64,
    adapter: Option<String>,
}

#[component]
pub fn SppDetect() -> impl IntoView {
    let i18n = use_i18n();
    let session = SppSession::use_or_new();
    let picture = RwSignal::new(None::<Picture>);
    let found = RwSignal::new(None::<Found>);
    let upload_error = RwSignal::new(None::<String>);
    let scene = Memo::new(move |_| session.state.get().scene);
    Effect::new(move |_| {
        let k = scene.get();
        spawn_local(async move {
            match scene_source().await.and_then(|f| f.scene(k)) {
                Ok(s) => picture.set(Some(Picture {
                    faces: s.faces.iter().map(|f| f.bbox).collect(),
                    pixels: s.pixels,
                    photo: None,
                    scene: Some(k),
                })),
                Err(e) => session.error.set(Some(SppError::Load(e))),
            }
        });
    });
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let Some(p) = picture.get() else { return };
        let _epoch = live_backend::gpu_epoch();
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        spawn_local(async move {
            let outcome = async {
                let runner = session.runner().await?;
                let windows = grid();
                let lap = runner
                    .run(Pipeline::Spp, &p.pixels, &windows)
                    .await
                    .map_err(|e| SppError::Failed(e.to_string()))?;
                Ok::<_, SppError>(Found {
                    scene: p.scene,
                    kept: nms(&score(&windows, &lap.outputs)),
                    ms: lap.ms,
                    adapter: runner.adapter_name(),
                })
            }
            .await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            session.finish(outcome, |f| found.set(Some(f)));
        });
    });
    let on_upload = move |ev: web_sys::Event| {
        let Some(file) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|i| i.files())
            .and_then(|f| f.get(0))
        else {
            return;
        };
        spawn_local(async move {
            let name = file.name();
            match read_photo_rgba(file, SIDE).await {
                Ok(rgba) => {
                    upload_error.set(None);
                    picture.set(Some(Picture {
                        pixels: rgba
                            .chunks(4)
                            .map(|p| (p[0] as f32 + p[1] as f32 + p[2] as f32) / (3.0 * 255.0))
                            .collect(),
                        faces: Vec::new(),
                        photo: Some(name),
                        scene: None,
                    }));
                }
                Err(e) => upload_error.set(Some(e.say(i18n.get_locale()))),
            }
        });
    };
    let conf = move || session.state.get().conf as f32 / 100.0;
    let shown = Memo::new(move |_| {
        found
            .get()
            .map(|f| {
                f.kept
                    .into_iter()
                    .filter(|k| k.score >= conf())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let marks = Signal::derive(move || {
        let mut marks: Vec<Mark> = picture
            .get()
            .map(|p| p.faces)
            .unwrap_or_default()
            .into_iter()
            .map(|bbox| Mark {
                bbox,
                colour: FACE_COLOUR,
                text: String::new(),
                dashed: true,
            })
            .collect();
        marks.extend(shown.get().into_iter().map(|k| Mark {
            bbox: k.bbox,
            colour: FOUND_COLOUR,
            text: format!("{:.0}%", k.score * 100.0),
            dashed: false,
        }));
        marks
    });
    view! {
        <section class="widget" data-testid="spp-detect" aria-labelledby="spp-detect-title">
            <h2 id="spp-detect-title">{t!(i18n, spp.detect_title)}</h2>
            <p>{t!(i18n, spp.detect_intro)}</p>
            <p class="note" data-testid="spp-detect-warning">{t!(i18n, spp.detect_warning)}</p>
            <UrlNotices notices=session.notices/>
            <SppStatus session/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <ScenePicker session testid="spp-detect-scene"/>
                <label>
                    <span>{move || fill(t_string!(i18n, spp.detect_conf), &[("percent", &session.state.get().conf)])}</span>
                    <input type="range" min="0" max="100" data-testid="spp-detect-conf"
                        prop:value=move || session.state.get().conf.to_string()
                        on:input={move |ev| { if let Ok(c) = event_target_value(&ev).parse::<u32>() {
                            session.update(|s| s.conf = c.min(100));
                        } }}/>
                </label>
                <FilePicker accept="image/*" testid="spp-upload" on_change=on_upload>
                    {t!(i18n, spp.upload)}
                </FilePicker>
            </form>
            {move || upload_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="spp-stage">
                <GreyImage values=Signal::derive(move || picture.get().map(|p| p.pixels).unwrap_or_default())
                    width=SIDE height=SIDE
                    label=Signal::derive(move || {
                        let n = shown.get().len();
                        match picture.get().and_then(|p| p.photo) {
                            Some(name) => fill(t_string!(i18n, spp.detect_photo_label), &[("name", &name), ("count", &n)]),
                            None => fill(t_string!(i18n, spp.detect_scene_label), &[("count", &n)]),
                        }
                    })
                    testid="spp-detect-image".into()/>
                <Marks marks=marks width=SIDE height=SIDE/>
            </div>
            <p data-testid="spp-detect-result"
                data-count=move || found.get().map(|f| f.kept.len()).unwrap_or(0)
                data-boxes=move || found.get().map(|f| join(f.kept.iter().flat_map(|k| {
                    let [x, y, w, h] = k.bbox;
                    [x, y, w, h, k.score as f64]
                }))).unwrap_or_default()
                data-scene=move || found.get().and_then(|f| f.scene).map(|k| k.to_string()).unwrap_or_default()>
                {move || found.get().map(|f| fill(t_string!(i18n, spp.detect_summary), &[
                    ("count", &shown.get().len()),
                    ("windows", &grid().len()),
                    ("ms", &format!("{:.0}", f.ms)),
                    ("backend", &backend_name(f.adapter.as_deref(), i18n.get_locale())),
                ]))}
            </p>
            <FacesCredit/>
        </section>
    }
}
