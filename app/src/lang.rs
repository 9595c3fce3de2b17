//! The page's language. `lang=en` or `lang=zh` in the URL wins; else the
//! visitor's last choice in the header's switcher (remembered by the
//! browser); else the browser's own languages (leptos_i18n matches
//! `navigator.languages`). `<html lang>` follows, as `en` or `zh-Hans`, so
//! the browser picks Simplified Chinese glyphs and screen readers a voice.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

use crate::{
    i18n::{t, use_i18n, Locale},
    url_state::{in_place, path_with_query},
};

const STORAGE_KEY: &str = "glassbox-lang";

/// A `lang=` value, or `None` for one glassbox does not have.
pub fn parse(value: &str) -> Option<Locale> {
    match value.to_ascii_lowercase().as_str() {
        "en" => Some(Locale::en),
        "zh" | "zh-cn" | "zh-hans" => Some(Locale::zh),
        _ => None,
    }
}

/// The `lang=` value, and `<html lang>`, for a language.
pub fn slug(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "en",
        Locale::zh => "zh",
    }
}

fn html_lang(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "en",
        Locale::zh => "zh-Hans",
    }
}

fn stored() -> Option<Locale> {
    let storage = web_sys::window()?.local_storage().ok()??;
    parse(&storage.get_item(STORAGE_KEY).ok()??)
}

/// Applies `lang=` (or the remembered choice) and keeps `<html lang>` in
/// step. Sits inside the router and below the i18n provider, so its first
/// run comes after the provider's own choice from the browser.
#[component]
pub fn LangSync() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    Effect::new(move |_| {
        let asked = query.with(|q| q.get("lang")).and_then(|v| parse(&v));
        if let Some(locale) = asked.or_else(stored) {
            if i18n.get_locale_untracked() != locale {
                i18n.set_locale(locale);
            }
        }
    });
    Effect::new(move |_| {
        let lang = html_lang(i18n.get_locale());
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", lang);
        }
    });
}

/// The header's switcher: one button naming the other language, in that
/// language. The choice is remembered, and a `lang=` in the URL follows it.
#[component]
pub fn LangSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let navigate = use_navigate();
    let other = move || match i18n.get_locale() {
        Locale::en => Locale::zh,
        Locale::zh => Locale::en,
    };
    let switch = move |_| {
        let next = other();
        i18n.set_locale(next);
        if let Some(storage) = window().local_storage().ok().flatten() {
            let _ = storage.set_item(STORAGE_KEY, slug(next));
        }
        let search = location.search.get_untracked();
        if search.contains("lang=") {
            let query: Vec<(String, String)> =
                serde_urlencoded::from_str::<Vec<(String, String)>>(search.trim_start_matches('?'))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| {
                        let v = if k == "lang" {
                            slug(next).to_string()
                        } else {
                            v
                        };
                        (k, v)
                    })
                    .collect();
            let search = serde_urlencoded::to_string(query).unwrap_or_default();
            navigate(
                &path_with_query(&location.pathname.get_untracked(), &search),
                in_place(),
            );
        }
    };
    view! {
        <button
            type="button"
            class="lang-switch"
            data-testid="lang-switch"
            data-value=move || slug(i18n.get_locale())
            lang=move || html_lang(other())
            aria-label=move || t_string_label(i18n.get_locale())
            on:click=switch
        >
            {t!(i18n, common.switch_language)}
        </button>
    }
}

fn t_string_label(locale: Locale) -> &'static str {
    crate::i18n::td_string!(locale, common.switch_language_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_values() {
        assert_eq!(parse("zh"), Some(Locale::zh));
        assert_eq!(parse("zh-CN"), Some(Locale::zh));
        assert_eq!(parse("en"), Some(Locale::en));
        assert_eq!(parse("fr"), None);
        for locale in [Locale::en, Locale::zh] {
            assert_eq!(parse(slug(locale)), Some(locale));
        }
    }

    /// Both languages have the same keys, file by file (build.rs also stops
    /// the build when one lacks a key).
    #[test]
    fn both_languages_have_every_key() {
        fn keys(path: &str) -> Vec<String> {
            let text = std::fs::read_to_string(path).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/locales");
        let mut files = 0;
        for entry in std::fs::read_dir(format!("{dir}/en")).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let en = keys(&format!("{dir}/en/{name}"));
            let zh = keys(&format!("{dir}/zh/{name}"));
            assert_eq!(en, zh, "{name}");
            assert!(!en.is_empty());
            files += 1;
        }
        assert!(files >= 2);
    }
}
