//! The page's language. `lang=en` or `lang=zh` in the URL wins; else the
//! visitor's last choice in the header's switcher (remembered by the
//! browser); else the browser's own languages (leptos_i18n matches
//! `navigator.languages`). `<html lang>` follows, as `en` or `zh-Hans`, so
//! the browser picks Simplified Chinese glyphs and screen readers a voice.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

use crate::{
    i18n::{t, use_i18n, Locale},
    shell::url_state::{in_place, path_with_query, with_param},
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
            let search = with_param(&search, "lang", slug(next));
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
    use crate::shell::format::fill;

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

    /// Every translation file: its name, and its English and Chinese.
    fn locale_files() -> Vec<(String, serde_json::Value, serde_json::Value)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/locales");
        let read = |lang: &str, name: &str| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{lang}/{name}")).unwrap())
                .unwrap()
        };
        std::fs::read_dir(format!("{dir}/en"))
            .unwrap()
            .map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                (name.clone(), read("en", &name), read("zh", &name))
            })
            .collect()
    }

    #[test]
    fn fill_names() {
        let n = 3;
        assert_eq!(
            fill("{n} of {total}", &[("n", &n), ("total", &"7")]),
            "3 of 7"
        );
        assert_eq!(fill("第 {n} 个", &[("n", &n)]), "第 3 个");
        assert_eq!(fill("{missing} {", &[("n", &n)]), "{missing} {");
    }

    /// Every key names the same `{placeholders}` in both languages, so
    /// [`fill`] never leaves one unfilled in Chinese that English fills.
    #[test]
    fn both_languages_have_the_same_placeholders() {
        fn placeholders(text: &str) -> Vec<String> {
            let mut names: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
                .filter(|name| {
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .collect();
            names.sort();
            names
        }
        let mut checked = 0;
        for (name, en, zh) in locale_files() {
            for (key, text) in en.as_object().unwrap() {
                let other = zh[key].as_str().unwrap_or_default();
                assert_eq!(
                    placeholders(text.as_str().unwrap()),
                    placeholders(other),
                    "{name} {key}"
                );
                checked += 1;
            }
        }
        assert!(checked > 100);
    }

    /// Both languages have the same keys, file by file (build.rs also stops
    /// the build when one lacks a key).
    #[test]
    fn both_languages_have_every_key() {
        fn keys(value: &serde_json::Value) -> Vec<String> {
            let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        }
        let files = locale_files();
        for (name, en, zh) in &files {
            assert_eq!(keys(en), keys(zh), "{name}");
            assert!(!keys(en).is_empty());
        }
        assert!(files.len() >= 2);
    }
}
