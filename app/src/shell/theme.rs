//! Light, dark or auto (the system's `prefers-color-scheme`), for the whole
//! app. The choice comes from `theme=` in the URL, else from the browser's
//! storage (the toggle's last choice), else auto. It is applied as
//! `data-theme="light|dark"` on `<html>`, which `style.css` keys every
//! colour on; canvases and charts take their colours from the same CSS
//! variables, so nothing draws in a theme of its own.

use std::cell::Cell;

use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast};

use crate::{
    i18n::{t_string, use_i18n},
    shell::format::fill,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
    Auto,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::Light, Theme::Dark, Theme::Auto];

    pub fn slug(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::Auto => "auto",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|t| t.slug() == slug)
    }

    /// The toggle's order: light → dark → auto → light.
    pub fn next(self) -> Theme {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Auto,
            Theme::Auto => Theme::Light,
        }
    }
}

/// Where the toggle's choice is remembered.
const STORAGE_KEY: &str = "glassbox-theme";
const DARK_QUERY: &str = "(prefers-color-scheme: dark)";

thread_local! {
    static CHOICE: ArcRwSignal<Theme> = ArcRwSignal::new(Theme::Auto);
    static WATCHING_SYSTEM: Cell<bool> = const { Cell::new(false) };
}

/// The theme chosen now (reactive).
pub fn choice() -> Theme {
    CHOICE.with(|c| c.get())
}

/// Reads `theme=` (or the stored choice) and applies it; once, at start-up.
/// A `theme=` value that is not a theme is ignored with a console warning,
/// since the page's other notices belong to widgets.
pub fn init() {
    let from_url = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(search.trim_start_matches('?')).ok()
        })
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "theme"))
        .map(|(_, v)| v);
    let theme = match from_url.as_deref().map(|v| (v, Theme::from_slug(v))) {
        Some((_, Some(theme))) => theme,
        Some((bad, None)) => {
            web_sys::console::warn_1(
                &format!("glassbox: ignored theme={bad} (light, dark or auto)").into(),
            );
            stored().unwrap_or(Theme::Auto)
        }
        None => stored().unwrap_or(Theme::Auto),
    };
    apply(theme);
    watch_system();
}

/// The visitor's choice from the toggle: applied and remembered.
pub fn choose(theme: Theme) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        // Storage can be full or forbidden (private modes); the theme still applies.
        let _ = storage.set_item(STORAGE_KEY, theme.slug());
    }
    apply(theme);
}

/// Applies a theme for this page only (an embedding host's `setTheme`).
pub fn apply(theme: Theme) {
    CHOICE.with(|c| c.set(theme));
    paint(theme);
}

fn stored() -> Option<Theme> {
    let storage = web_sys::window()?.local_storage().ok()??;
    Theme::from_slug(&storage.get_item(STORAGE_KEY).ok()??)
}

fn system_is_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media(DARK_QUERY).ok().flatten())
        .is_some_and(|m| m.matches())
}

/// Sets `data-theme` (the resolved light or dark) and `data-theme-choice`.
fn paint(theme: Theme) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return;
    };
    let dark = match theme {
        Theme::Light => false,
        Theme::Dark => true,
        Theme::Auto => system_is_dark(),
    };
    let _ = root.set_attribute("data-theme", if dark { "dark" } else { "light" });
    let _ = root.set_attribute("data-theme-choice", theme.slug());
}

/// In auto, follow the system when it switches (a laptop's evening mode).
fn watch_system() {
    if WATCHING_SYSTEM.with(|w| w.replace(true)) {
        return;
    }
    let Some(query) = web_sys::window().and_then(|w| w.match_media(DARK_QUERY).ok().flatten())
    else {
        return;
    };
    let on_change = Closure::<dyn Fn()>::new(|| {
        if CHOICE.with(|c| c.get_untracked()) == Theme::Auto {
            paint(Theme::Auto);
        }
    });
    let _ = query.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
    // The page lives as long as the listener.
    on_change.forget();
}

/// The header's button: cycles light → dark → auto, and says which is on.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let i18n = use_i18n();
    let choice_name = move || match choice() {
        Theme::Light => t_string!(i18n, common.theme_light),
        Theme::Dark => t_string!(i18n, common.theme_dark),
        Theme::Auto => t_string!(i18n, common.theme_auto),
    };
    let label = move || {
        fill(
            t_string!(i18n, common.theme_label),
            &[("choice", &choice_name())],
        )
    };
    // "Theme: " alone; a phone shows only the choice, and the button's name
    // stays whole.
    let prefix = move || fill(t_string!(i18n, common.theme_label), &[("choice", &"")]);
    view! {
        <button
            type="button"
            class="theme-toggle"
            data-testid="theme-toggle"
            data-value=move || choice().slug()
            aria-label=label
            title=move || t_string!(i18n, common.theme_title)
            on:click=move |_| choose(choice().next())
        >
            <span class="theme-prefix" aria-hidden="true">{prefix}</span>
            <span aria-hidden="true">{choice_name}</span>
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_the_toggle_visits_every_theme() {
        let mut seen = Vec::new();
        let mut t = Theme::Light;
        for _ in 0..3 {
            assert_eq!(Theme::from_slug(t.slug()), Some(t));
            seen.push(t);
            t = t.next();
        }
        assert_eq!(t, Theme::Light);
        assert_eq!(seen, Theme::ALL.to_vec());
        assert_eq!(Theme::from_slug("purple"), None);
    }
}
