//! Presentation mode, `/<chapter>?present=1&step=N`: a chapter's deck
//! (`Chapter::deck`) one step at a time, in large type, stepped by keyboard.
//!
//! Each step is its own history entry (`step=` is 1-based), so Back and
//! Forward move between steps and a lecturer's slide can link to one. A
//! widget step's preset state is written into the same URL, and the widget
//! reads it as on the chapter page; what the lecturer changes on a step
//! replaces that step's entry. Each step is scaled to fit the screen, so no
//! step ever scrolls.

use leptos::{context::Provider, html, prelude::*};
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};
use wasm_bindgen::{closure::Closure, JsCast};

use crate::{
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{
        chapter::{Chapter, Page, Step},
        chunks::WidgetView,
        format::fill,
        math::Prose,
        offline::OfflineSave,
        theme::{choice, choose, ThemeToggle},
        url_state::{path_with_query, PAGE_PARAMS},
    },
};

/// Context for the widgets of a step: which step (0-based) they are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentedStep(pub usize);

/// Whether the URL asks for presentation mode.
pub fn presenting() -> Memo<bool> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| q.get("present").is_some_and(|v| v == "1")))
}

/// `step=` as a 0-based index into a deck of `len` steps; anything that is
/// not a step number in range shows the nearest step.
pub fn step_index(param: Option<&str>, len: usize) -> usize {
    let last = len.saturating_sub(1);
    match param.map(|p| p.trim().parse::<i64>()) {
        Some(Ok(n)) => (n.clamp(1, len.max(1) as i64) as usize - 1).min(last),
        _ => 0,
    }
}

/// The query for step `index` (0-based): the page's own parameters that
/// are kept across steps (backend, theme, language, debugging), then
/// presentation mode's, then the step's preset.
pub fn step_query(kept: &[(String, String)], index: usize, step: &Step) -> String {
    let mut pairs: Vec<(String, String)> = kept
        .iter()
        .filter(|(k, _)| PAGE_PARAMS.contains(&k.as_str()) && k != "present" && k != "step")
        .cloned()
        .collect();
    pairs.push(("present".into(), "1".into()));
    pairs.push(("step".into(), (index + 1).to_string()));
    if let Step::Widget { query, .. } = step {
        pairs
            .extend(serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default());
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// What a key does in presentation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Next,
    Previous,
    First,
    Last,
    FullScreen,
    Theme,
    Help,
    Leave,
}

/// The key's action, by `KeyboardEvent.key`.
pub fn key_action(key: &str) -> Option<KeyAction> {
    Some(match key {
        "ArrowRight" | " " | "PageDown" => KeyAction::Next,
        "ArrowLeft" | "PageUp" => KeyAction::Previous,
        "Home" => KeyAction::First,
        "End" => KeyAction::Last,
        "f" | "F" => KeyAction::FullScreen,
        "t" | "T" => KeyAction::Theme,
        "?" => KeyAction::Help,
        "Escape" => KeyAction::Leave,
        _ => return None,
    })
}

/// The keys, for the help overlay: the keys' names and what they do.
fn keys_help(locale: Locale) -> [(&'static str, &'static str); 8] {
    [
        (
            td_string!(locale, shell.present_keys_next),
            td_string!(locale, common.present_key_next),
        ),
        ("←  Page Up", td_string!(locale, common.present_key_prev)),
        ("Home", td_string!(locale, common.present_key_first)),
        ("End", td_string!(locale, common.present_key_last)),
        ("F", td_string!(locale, common.present_key_full)),
        ("T", td_string!(locale, common.present_key_theme)),
        ("?", td_string!(locale, common.present_key_help)),
        ("Esc", td_string!(locale, common.present_key_esc)),
    ]
}

/// Keys typed into a field belong to the field; Space on a button presses it.
fn belongs_to_target(event: &web_sys::KeyboardEvent) -> bool {
    let Some(target) = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return false;
    };
    let tag = target.tag_name().to_ascii_lowercase();
    let editable = target
        .get_attribute("contenteditable")
        .is_some_and(|v| v != "false");
    let typing = matches!(tag.as_str(), "input" | "textarea" | "select") || editable;
    let pressing = event.key() == " " && matches!(tag.as_str(), "button" | "a" | "summary");
    typing || pressing
}

fn toggle_full_screen() {
    let document = document();
    if document.fullscreen_element().is_some() {
        document.exit_fullscreen();
    } else if let Some(root) = document.document_element() {
        // Refused without a user gesture or in some iframes; nothing to do then.
        let _ = root.request_fullscreen();
    }
}

#[component]
pub fn Presentation(chapter: &'static Chapter) -> impl IntoView {
    let steps = chapter.deck;
    let len = steps.len();
    let query = use_query_map();
    let index = Memo::new(move |_| query.with(|q| step_index(q.get_str("step"), len)));
    let help = RwSignal::new(false);
    let navigate = use_navigate();
    let go = {
        let navigate = navigate.clone();
        move |to: usize| {
            let to = to.min(len - 1);
            let kept: Vec<(String, String)> = query
                .get_untracked()
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v))
                .collect();
            let url = path_with_query(
                &format!("/{}", chapter.slug()),
                &step_query(&kept, to, &steps[to]),
            );
            navigate(
                &url,
                NavigateOptions {
                    scroll: false,
                    ..Default::default()
                },
            );
        }
    };
    let leave = move || {
        let kept: Vec<(String, String)> = query
            .get_untracked()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .filter(|(k, _)| k != "present" && k != "step")
            .collect();
        let rest = serde_urlencoded::to_string(kept).unwrap_or_default();
        navigate(
            &path_with_query(&format!("/{}", chapter.slug()), &rest),
            NavigateOptions::default(),
        );
    };
    let i18n = use_i18n();
    Effect::new(move |_| {
        let locale = i18n.get_locale();
        document().set_title(&fill(
            td_string!(locale, shell.present_doc_title),
            &[("title", &chapter.title(locale))],
        ))
    });

    // Keys on the whole window, so they work without a click first.
    let on_key = {
        let go = go.clone();
        move |event: &web_sys::KeyboardEvent| {
            if event.default_prevented()
                || event.ctrl_key()
                || event.meta_key()
                || event.alt_key()
                || belongs_to_target(event)
            {
                return;
            }
            let Some(action) = key_action(&event.key()) else {
                return;
            };
            event.prevent_default();
            let at = index.get_untracked();
            match action {
                KeyAction::Next => go(at + 1),
                KeyAction::Previous => go(at.saturating_sub(1)),
                KeyAction::First => go(0),
                KeyAction::Last => go(len - 1),
                KeyAction::FullScreen => toggle_full_screen(),
                KeyAction::Theme => choose(choice().next()),
                KeyAction::Help => help.update(|h| *h = !*h),
                KeyAction::Leave if help.get_untracked() => help.set(false),
                KeyAction::Leave => leave(),
            }
        }
    };
    // Not passive: the keys' default actions (Space scrolls) are prevented.
    let options = gloo_events::EventListenerOptions::enable_prevent_default();
    let listener =
        gloo_events::EventListener::new_with_options(&window(), "keydown", options, move |event| {
            if let Some(event) = event.dyn_ref::<web_sys::KeyboardEvent>() {
                on_key(event);
            }
        });
    // Dropping the listener removes it, when the presentation unmounts.
    let listener = StoredValue::new_local(Some(listener));
    on_cleanup(move || listener.update_value(|l| *l = None));

    let stage = NodeRef::<html::Div>::new();
    let slide = NodeRef::<html::Div>::new();
    let scale = fit_to_stage(stage, slide);

    let prev = {
        let go = go.clone();
        move |_| go(index.get_untracked().saturating_sub(1))
    };
    let next = move |_| go(index.get_untracked() + 1);
    view! {
        <div
            class="present"
            data-testid="present"
            data-step=move || index.get() + 1
            data-steps=len
        >
            <div class="present-stage" node_ref=stage>
                <div
                    class="present-slide"
                    node_ref=slide
                    data-testid="present-slide"
                    data-scale=move || format!("{:.3}", scale.get())
                    style:transform=move || format!("scale({:.4})", scale.get())
                >
                    {move || {
                        let at = index.get();
                        // Each step in its own owner: a widget's context (DETR's
                        // session) must not outlive its step and be found, disposed,
                        // by the next step's widget.
                        view! { <Provider value=PresentedStep(at)>{render_step(&chapter.page, steps[at])}</Provider> }
                    }}
                </div>
            </div>
            <nav class="present-bar" aria-label=move || t_string!(i18n, common.present_controls)>
                <button
                    type="button"
                    data-testid="present-prev"
                    aria-label=move || t_string!(i18n, common.present_prev)
                    disabled=move || index.get() == 0
                    on:click=prev
                >"←"</button>
                <span class="present-counter" data-testid="present-counter" aria-live="polite">
                    {move || format!("{} / {len}", index.get() + 1)}
                </span>
                <progress
                    class="present-progress"
                    max=len
                    value=move || index.get() + 1
                    aria-label=move || t_string!(i18n, common.present_progress)
                ></progress>
                <button
                    type="button"
                    data-testid="present-next"
                    aria-label=move || t_string!(i18n, common.present_next)
                    disabled=move || index.get() + 1 == len
                    on:click=next
                >"→"</button>
                <span class="present-title">{move || chapter.title(i18n.get_locale())}</span>
                <button
                    type="button"
                    class="secondary"
                    data-testid="present-fullscreen"
                    on:click=|_| toggle_full_screen()
                >{t!(i18n, common.present_fullscreen)}</button>
                <ThemeToggle/>
                <button
                    type="button"
                    class="secondary"
                    data-testid="present-help-button"
                    aria-expanded=move || help.get().to_string()
                    on:click=move |_| help.update(|h| *h = !*h)
                >{t!(i18n, common.present_help_button)}</button>
                <a
                    class="present-leave"
                    data-testid="present-leave"
                    href=format!("/{}", chapter.slug())
                >{t!(i18n, common.present_leave)}</a>
            </nav>
            <Show when=move || help.get()>
                <div class="present-help" role="dialog" aria-label=move || t_string!(i18n, common.present_help_label) data-testid="present-help">
                    <h2>{t!(i18n, common.present_keys)}</h2>
                    <dl>
                        {move || keys_help(i18n.get_locale())
                            .into_iter()
                            .map(|(keys, what)| view! { <dt><kbd>{keys}</kbd></dt><dd>{what}</dd> })
                            .collect_view()}
                    </dl>
                    <p>{t!(i18n, common.present_fields)}</p>
                    <h2>{t!(i18n, common.present_before)}</h2>
                    <OfflineSave/>
                    <button type="button" on:click=move |_| help.set(false)>{t!(i18n, common.close)}</button>
                </div>
            </Show>
        </div>
    }
}

fn render_step(page: &'static Page, step: Step) -> AnyView {
    let i18n = use_i18n();
    match step {
        Step::Text { heading, body } => view! {
            <section class="present-text" data-testid="present-text">
                <h1>{move || heading(i18n.get_locale())}</h1>
                <p>{move || view! { <Prose text=body(i18n.get_locale())/> }}</p>
            </section>
        }
        .into_any(),
        Step::Widget {
            widget, caption, ..
        } => view! {
            <section class="present-widget" data-testid="present-widget" data-widget=widget.slug()>
                <p class="present-caption">{move || view! { <Prose text=caption(i18n.get_locale())/> }}</p>
                <WidgetView page widget/>
            </section>
        }
        .into_any(),
    }
}

/// The slide's scale: 1 when it fits the stage, else the factor that makes
/// it fit, kept up to date as the slide's content or the window changes.
fn fit_to_stage(stage: NodeRef<html::Div>, slide: NodeRef<html::Div>) -> ReadSignal<f64> {
    let (scale, set_scale) = signal(1.0f64);
    let measure = move || {
        let (Some(stage), Some(slide)) = (stage.get_untracked(), slide.get_untracked()) else {
            return;
        };
        // Layout sizes ignore the transform, so measuring never feeds back.
        let (avail_w, avail_h) = (stage.client_width() as f64, stage.client_height() as f64);
        let (w, h) = (slide.scroll_width() as f64, slide.scroll_height() as f64);
        if w <= 0.0 || h <= 0.0 || avail_h <= 0.0 {
            return;
        }
        let fit = (avail_h / h).min(avail_w / w).min(1.0);
        if (fit - scale.get_untracked()).abs() > 1e-3 {
            set_scale.set(fit);
        }
    };
    let on_resize = Closure::<dyn Fn()>::new(measure);
    let observer = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok();
    let held = StoredValue::new_local((observer.clone(), Some(on_resize)));
    Effect::new(move |_| {
        if let (Some(observer), Some(stage), Some(slide)) = (&observer, stage.get(), slide.get()) {
            observer.observe(&stage);
            observer.observe(&slide);
        }
    });
    on_cleanup(move || {
        held.update_value(|(observer, closure)| {
            if let Some(o) = observer {
                o.disconnect();
            }
            *closure = None;
        })
    });
    scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::widget::Widget;

    const SAMPLE: Widget = Widget {
        slug: "ar-sample",
        title: |_| "",
    };

    #[test]
    fn step_numbers_are_one_based_and_clamped() {
        assert_eq!(step_index(None, 9), 0);
        assert_eq!(step_index(Some("1"), 9), 0);
        assert_eq!(step_index(Some("3"), 9), 2);
        assert_eq!(step_index(Some("9"), 9), 8);
        assert_eq!(step_index(Some("40"), 9), 8);
        assert_eq!(step_index(Some("0"), 9), 0);
        assert_eq!(step_index(Some("-2"), 9), 0);
        assert_eq!(step_index(Some("banana"), 9), 0);
    }

    #[test]
    fn a_step_keeps_page_parameters_and_brings_its_preset() {
        let kept = vec![
            ("backend".to_string(), "cpu".to_string()),
            ("theme".to_string(), "dark".to_string()),
            ("present".to_string(), "1".to_string()),
            ("step".to_string(), "2".to_string()),
            ("seed".to_string(), "9".to_string()),
        ];
        let widget = Step::Widget {
            widget: SAMPLE,
            query: "model=nade&seed=3",
            caption: |_| "",
        };
        assert_eq!(
            step_query(&kept, 3, &widget),
            "backend=cpu&theme=dark&present=1&step=4&model=nade&seed=3"
        );
        let text = Step::Text {
            heading: |_| "",
            body: |_| "",
        };
        assert_eq!(
            step_query(&kept, 0, &text),
            "backend=cpu&theme=dark&present=1&step=1"
        );
    }

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(key_action("ArrowRight"), Some(KeyAction::Next));
        assert_eq!(key_action(" "), Some(KeyAction::Next));
        assert_eq!(key_action("PageDown"), Some(KeyAction::Next));
        assert_eq!(key_action("PageUp"), Some(KeyAction::Previous));
        assert_eq!(key_action("End"), Some(KeyAction::Last));
        assert_eq!(key_action("F"), Some(KeyAction::FullScreen));
        assert_eq!(key_action("?"), Some(KeyAction::Help));
        assert_eq!(key_action("Escape"), Some(KeyAction::Leave));
        assert_eq!(key_action("x"), None);
    }
}
