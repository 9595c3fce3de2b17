//! The script the poems show in. The corpus is in traditional characters
//! and stays the truth (search and training read it as it is); a reader
//! may see the poems in simplified characters, converted character by
//! character with OpenCC's table read backwards (`ScriptFold`). `script=`
//! in the URL wins (`hans` or `hant`); else the reader's last choice in a
//! poem widget's switch (remembered by the browser); else the page's
//! language: simplified for Chinese pages, the corpus's traditional script
//! for English ones.

use std::sync::Arc;

use compute::search::ScriptFold;
use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

use crate::{
    i18n::{t, t_string, use_i18n, Locale},
    shell::{
        assets::{fetch_asset, manifest},
        url_state::{in_place, path_with_query, with_param},
    },
};

const STORAGE_KEY: &str = "glassbox-script";
/// OpenCC's simplified-to-traditional characters, also what chapters 4 and
/// 6 load; the asset cache keeps one copy.
const TABLE_PATH: &str = "tokenizer/opencc-st-characters.txt";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Simplified,
    Traditional,
}

impl Script {
    /// A `script=` value, or `None` for one glassbox does not have.
    pub fn parse(value: &str) -> Option<Script> {
        match value.to_ascii_lowercase().as_str() {
            "hans" => Some(Script::Simplified),
            "hant" => Some(Script::Traditional),
            _ => None,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Script::Simplified => "hans",
            Script::Traditional => "hant",
        }
    }

    /// The `lang` attribute of a poem in this script, so the browser picks
    /// the right glyphs and screen readers the right reading.
    pub fn lang(self) -> &'static str {
        match self {
            Script::Simplified => "zh-Hans",
            Script::Traditional => "zh-Hant",
        }
    }

    /// Without `script=` or a remembered choice: the page's language's.
    pub fn default_for(locale: Locale) -> Script {
        match locale {
            Locale::zh => Script::Simplified,
            Locale::en => Script::Traditional,
        }
    }
}

/// The table, once loaded (`Failed` keeps the poems traditional, said so).
#[derive(Debug, Clone, PartialEq)]
enum Table {
    Absent,
    Loading,
    Ready(Arc<ScriptFold>),
    Failed(String),
}

thread_local! {
    static TABLE: ArcRwSignal<Table> = ArcRwSignal::new(Table::Absent);
    static CHOSEN: ArcRwSignal<Option<Script>> = ArcRwSignal::new(stored());
}

fn stored() -> Option<Script> {
    let storage = web_sys::window()?.local_storage().ok()??;
    Script::parse(&storage.get_item(STORAGE_KEY).ok()??)
}

/// How a widget shows poems: in the chosen script, with its `lang`.
#[derive(Debug, Clone, Copy)]
pub struct PoemScript {
    pub script: Signal<Script>,
    table: RwSignal<Table>,
}

impl PoemScript {
    /// `text` from the corpus (or the model, which writes its script) as the
    /// reader chose to see it. Tracks the choice and the table.
    pub fn show(&self, text: &str) -> String {
        match (self.script.get(), self.table.get()) {
            (Script::Simplified, Table::Ready(fold)) => fold.text(text),
            _ => text.to_string(),
        }
    }

    /// One character, for text marked character by character.
    pub fn char(&self, c: char) -> char {
        match (self.script.get(), self.table.get()) {
            (Script::Simplified, Table::Ready(fold)) => fold.char(c),
            _ => c,
        }
    }

    /// The `lang` of what [`show`](Self::show) returns.
    pub fn lang(&self) -> &'static str {
        match (self.script.get(), self.table.get()) {
            (Script::Simplified, Table::Ready(_)) => Script::Simplified.lang(),
            _ => Script::Traditional.lang(),
        }
    }
}

/// The poems' script for this page, loading the table when simplified is
/// chosen.
pub fn use_poem_script() -> PoemScript {
    let query = use_query_map();
    let i18n = use_i18n();
    let chosen = RwSignal::from(CHOSEN.with(|c| c.clone()));
    let table = RwSignal::from(TABLE.with(|t| t.clone()));
    let script = Signal::derive(move || {
        query
            .with(|q| q.get("script"))
            .and_then(|v| Script::parse(&v))
            .or_else(|| chosen.get())
            .unwrap_or_else(|| Script::default_for(i18n.get_locale()))
    });
    Effect::new(move |_| {
        if script.get() == Script::Simplified && table.get_untracked() == Table::Absent {
            table.set(Table::Loading);
            spawn_local(async move {
                let loaded = async {
                    let m = manifest().await.map_err(|e| e.to_string())?;
                    let bytes = fetch_asset(TABLE_PATH, &m, |_, _| {})
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok::<_, String>(ScriptFold::from_opencc(&String::from_utf8_lossy(&bytes)))
                };
                table.set(match loaded.await {
                    Ok(fold) => Table::Ready(Arc::new(fold)),
                    Err(e) => Table::Failed(e),
                });
            });
        }
    });
    PoemScript { script, table }
}

/// The switch beside the poems: simplified or traditional. The choice is
/// remembered, and a `script=` in the URL follows it.
#[component]
pub fn ScriptSwitch(poems: PoemScript) -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let navigate = use_navigate();
    let chosen = RwSignal::from(CHOSEN.with(|c| c.clone()));
    let choose = move |next: Script| {
        chosen.set(Some(next));
        if let Some(storage) = window().local_storage().ok().flatten() {
            let _ = storage.set_item(STORAGE_KEY, next.slug());
        }
        let search = location.search.get_untracked();
        if search.contains("script=") {
            let search = with_param(&search, "script", next.slug());
            navigate(
                &path_with_query(&location.pathname.get_untracked(), &search),
                in_place(),
            );
        }
    };
    let option = move |script: Script| {
        let choose = choose.clone();
        let label = move || match script {
            Script::Simplified => t_string!(i18n, shell.script_hans),
            Script::Traditional => t_string!(i18n, shell.script_hant),
        };
        view! {
            <button
                type="button"
                class="script-option"
                data-value=script.slug()
                aria-pressed=move || (poems.script.get() == script).to_string()
                on:click=move |_| choose(script)
            >
                {label}
            </button>
        }
    };
    view! {
        <span class="script-switch" role="group" aria-label=move || t_string!(i18n, shell.script_label) data-testid="script-switch" data-script=move || poems.script.get().slug()>
            <span class="note" aria-hidden="true">{t!(i18n, shell.script_label)}</span>
            {option(Script::Simplified)}
            {option(Script::Traditional)}
            {move || match poems.table.get() {
                Table::Failed(e) => Some(view! {
                    <span class="notices" role="status">{t!(i18n, shell.script_failed)} " (" {e} ")"</span>
                }),
                _ => None,
            }}
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_defaults_follow_the_language() {
        for s in [Script::Simplified, Script::Traditional] {
            assert_eq!(Script::parse(s.slug()), Some(s));
        }
        assert_eq!(Script::parse("HANS"), Some(Script::Simplified));
        assert_eq!(Script::parse("latin"), None);
        assert_eq!(Script::default_for(Locale::zh), Script::Simplified);
        assert_eq!(Script::default_for(Locale::en), Script::Traditional);
    }
}
