//! One schema for a widget's state, shared by deep links, lectures and embeds.
//!
//! A widget's state is a flat serde struct; its URL query is that struct
//! serialized with `serde_urlencoded`. Parsing is per parameter: a bad or
//! unknown parameter falls back to the default and yields a notice, so a
//! mangled link still shows a working widget and says what it ignored.

use leptos::prelude::*;
use leptos_router::{
    hooks::{use_location, use_navigate, use_query_map},
    NavigateOptions,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    i18n::{td_string, Locale},
    shell::format::fill,
};

pub trait WidgetState:
    Serialize + DeserializeOwned + Default + Clone + PartialEq + Send + Sync + 'static
{
    /// Range checks beyond what the types express; the error names the
    /// problem, worded when shown.
    fn validate(&self) -> Result<(), Invalid>;
}

/// A parsed query: the state to show and what was ignored on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<S> {
    pub state: S,
    pub notices: Vec<Notice>,
}

/// Why a value was refused: a widget's range check, or a value that did
/// not parse (serde's own words, kept for English only).
#[derive(Debug, Clone, PartialEq)]
pub enum Invalid {
    /// `field` must be `lo` to `hi`.
    Range {
        field: &'static str,
        lo: String,
        hi: String,
    },
    /// `field` must be one of `options`.
    OneOf {
        field: &'static str,
        options: &'static str,
    },
    /// `field` is not the URL code of a `side`×`side` drawing.
    Drawing {
        field: &'static str,
        side: usize,
    },
    /// `labels` must be digits separated by commas.
    Labels,
    /// The value did not parse, or the configuration it makes is
    /// impossible: the detail from serde or compute, in English.
    Parse(String),
    Config(String),
}

impl Invalid {
    pub fn say(&self, locale: Locale) -> String {
        match self {
            Invalid::Range { field, lo, hi } => fill(
                td_string!(locale, shell.invalid_range),
                &[("field", field), ("lo", lo), ("hi", hi)],
            ),
            Invalid::OneOf { field, options } => fill(
                td_string!(locale, shell.invalid_one_of),
                &[("field", field), ("options", options)],
            ),
            Invalid::Drawing { field, side } => fill(
                td_string!(locale, shell.invalid_drawing),
                &[("field", field), ("side", side)],
            ),
            Invalid::Labels => td_string!(locale, shell.invalid_labels).to_string(),
            Invalid::Parse(detail) => match locale {
                Locale::en => detail.clone(),
                _ => td_string!(locale, shell.invalid_parse).to_string(),
            },
            Invalid::Config(detail) => fill(
                td_string!(locale, shell.invalid_config),
                &[("detail", detail)],
            ),
        }
    }
}

/// One thing the parser ignored; [`Notice::say`] words it in the page's
/// language.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    UnknownParameter {
        key: String,
    },
    BadValue {
        key: String,
        value: String,
        why: Invalid,
        kept: String,
    },
}

impl Notice {
    pub fn say(&self, locale: Locale) -> String {
        match self {
            Notice::UnknownParameter { key } => {
                fill(td_string!(locale, shell.notice_unknown), &[("key", key)])
            }
            Notice::BadValue {
                key,
                value,
                why,
                kept,
            } => fill(
                td_string!(locale, shell.notice_bad_value),
                &[
                    ("key", key),
                    ("value", value),
                    ("why", &why.say(locale)),
                    ("kept", kept),
                ],
            ),
        }
    }
}

pub fn to_query<S: WidgetState>(state: &S) -> String {
    // A flat struct of numbers and enums always serializes.
    serde_urlencoded::to_string(state).unwrap_or_default()
}

/// Parameters that belong to the whole page, not to one widget: widgets
/// neither parse them nor drop them when they write. The backend choice,
/// debugging switches, the theme, an embed's `hide=` and trusted host
/// `origin=`, the language (reserved for the translation work), and
/// presentation mode's `present=` and `step=`.
pub const PAGE_PARAMS: [&str; 9] = [
    "backend", "debug", "theme", "hide", "origin", "lang", "script", "present", "step",
];

pub fn parse_query<S: WidgetState>(pairs: &[(String, String)]) -> Parsed<S> {
    let mut accepted: Vec<(String, String)> =
        serde_urlencoded::from_str(&to_query(&S::default())).unwrap_or_default();
    let mut notices = Vec::new();
    for (key, value) in pairs {
        if PAGE_PARAMS.contains(&key.as_str()) {
            continue;
        }
        let Some(index) = accepted.iter().position(|(k, _)| k == key) else {
            notices.push(Notice::UnknownParameter { key: key.clone() });
            continue;
        };
        let mut candidate = accepted.clone();
        candidate[index].1 = value.clone();
        match decode::<S>(&candidate) {
            Ok(_) => accepted = candidate,
            Err(why) => notices.push(Notice::BadValue {
                key: key.clone(),
                value: value.clone(),
                why,
                kept: accepted[index].1.clone(),
            }),
        }
    }
    let state = decode(&accepted).unwrap_or_default();
    Parsed { state, notices }
}

/// `path?query`, or just `path` when there is no query; a leading `?` on
/// `query` is tolerated.
/// `search` (with or without its `?`) with every `key=` set to `value`, the
/// other parameters kept in order: a page-wide switch (language, script)
/// rewriting its own parameter when the URL has one.
pub fn with_param(search: &str, key: &str, value: &str) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(search.trim_start_matches('?'))
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let v = if k == key { value.to_string() } else { v };
                (k, v)
            })
            .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

pub fn path_with_query(path: &str, query: &str) -> String {
    match query.trim_start_matches('?') {
        "" => path.to_string(),
        query => format!("{path}?{query}"),
    }
}

/// Parameters that describe how one page is being viewed, not what it
/// shows: a link handed on (an embed snippet, an "open in glassbox" link)
/// drops them.
const VIEW_PARAMS: [&str; 5] = ["debug", "present", "step", "hide", "origin"];

/// A query to hand on (an embed snippet, an "open in glassbox" link):
/// everything but the debugging switches and how this page is viewed.
pub fn shareable_query(search: &str) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(search.trim_start_matches('?')).unwrap_or_default();
    let kept: Vec<_> = pairs
        .into_iter()
        .filter(|(k, _)| !VIEW_PARAMS.contains(&k.as_str()))
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// The widget's query followed by the page's own parameters.
pub fn with_page_params<S: WidgetState>(state: &S, page: &[(String, String)]) -> String {
    let widget = to_query(state);
    let page = serde_urlencoded::to_string(page).unwrap_or_default();
    match (widget.is_empty(), page.is_empty()) {
        (_, true) => widget,
        (true, false) => page,
        (false, false) => format!("{widget}&{page}"),
    }
}

fn decode<S: WidgetState>(pairs: &[(String, String)]) -> Result<S, Invalid> {
    let parse = |e: String| Invalid::Parse(e);
    let query = serde_urlencoded::to_string(pairs).map_err(|e| parse(e.to_string()))?;
    let state: S = serde_urlencoded::from_str(&query).map_err(|e| parse(e.to_string()))?;
    state.validate()?;
    Ok(state)
}

/// The widget's state, read from the URL, plus the one function that writes it.
/// Writing replaces the history entry, so the back button leaves the page
/// instead of stepping through every slider move.
pub fn use_widget_state<S: WidgetState>() -> (Memo<Parsed<S>>, impl Fn(S) + Clone) {
    let query = use_query_map();
    let parsed = Memo::new(move |_| {
        let pairs: Vec<(String, String)> = query
            .get()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect();
        parse_query::<S>(&pairs)
    });
    let navigate = use_navigate();
    let pathname = use_location().pathname;
    let write = move |state: S| {
        let page: Vec<(String, String)> = query
            .get_untracked()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .filter(|(k, _)| PAGE_PARAMS.contains(&k.as_str()))
            .collect();
        let url = path_with_query(&pathname.get_untracked(), &with_page_params(&state, &page));
        navigate(&url, in_place());
    };
    (parsed, write)
}

/// Navigation that replaces the current history entry and keeps the scroll:
/// how a widget's state reaches the URL (a history entry per slider move, or
/// per embed command, would fill the Back button).
pub fn in_place() -> NavigateOptions {
    NavigateOptions {
        replace: true,
        scroll: false,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Demo {
        size: u32,
        seed: u64,
    }

    impl Default for Demo {
        fn default() -> Self {
            Demo { size: 8, seed: 1 }
        }
    }

    impl WidgetState for Demo {
        fn validate(&self) -> Result<(), Invalid> {
            if (1..=64).contains(&self.size) {
                Ok(())
            } else {
                Err(Invalid::Range {
                    field: "size",
                    lo: "1".into(),
                    hi: "64".into(),
                })
            }
        }
    }

    fn pairs(q: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(q).unwrap()
    }

    #[test]
    fn with_param_rewrites_only_its_key() {
        assert_eq!(
            with_param("?q=a&script=hans&lang=zh", "script", "hant"),
            "q=a&script=hant&lang=zh"
        );
        assert_eq!(with_param("lang=en", "lang", "zh"), "lang=zh");
    }

    #[test]
    fn path_with_query_adds_one_question_mark() {
        assert_eq!(path_with_query("/gpu", "m=2"), "/gpu?m=2");
        assert_eq!(path_with_query("/gpu", "?m=2"), "/gpu?m=2");
        assert_eq!(path_with_query("/gpu", ""), "/gpu");
    }

    #[test]
    fn round_trips_through_the_query() {
        let state = Demo { size: 33, seed: 9 };
        let parsed = parse_query::<Demo>(&pairs(&to_query(&state)));
        assert_eq!(
            parsed,
            Parsed {
                state,
                notices: vec![]
            }
        );
    }

    #[test]
    fn missing_parameters_keep_their_defaults() {
        let parsed = parse_query::<Demo>(&pairs("seed=5"));
        assert_eq!(parsed.state, Demo { size: 8, seed: 5 });
        assert!(parsed.notices.is_empty());
    }

    #[test]
    fn bad_values_fall_back_per_parameter_with_a_notice() {
        let parsed = parse_query::<Demo>(&pairs("size=banana&seed=5"));
        assert_eq!(parsed.state, Demo { size: 8, seed: 5 });
        assert_eq!(parsed.notices.len(), 1);
        assert!(
            parsed.notices[0].say(Locale::en).contains("size=banana"),
            "{:?}",
            parsed.notices
        );

        let parsed = parse_query::<Demo>(&pairs("size=1000"));
        assert_eq!(parsed.state.size, 8);
        assert!(
            parsed.notices[0].say(Locale::en).contains("1 to 64"),
            "{:?}",
            parsed.notices
        );
    }

    #[test]
    fn notices_read_in_chinese_too() {
        let parsed = parse_query::<Demo>(&pairs("size=1000&seed=x"));
        let said: Vec<String> = parsed.notices.iter().map(|n| n.say(Locale::zh)).collect();
        assert_eq!(
            said,
            vec![
                "已忽略 size=1000（size 须在 1 到 64 之间），改用 size=8。",
                "已忽略 seed=x（这个参数不接受该值），改用 seed=1。",
            ]
        );
    }

    #[test]
    fn page_parameters_are_neither_parsed_nor_dropped() {
        let parsed = parse_query::<Demo>(&pairs("backend=cpu&size=2"));
        assert_eq!(parsed.state, Demo { size: 2, seed: 1 });
        assert!(parsed.notices.is_empty(), "{:?}", parsed.notices);
        let page = vec![("backend".to_string(), "cpu".to_string())];
        assert_eq!(
            with_page_params(&Demo { size: 3, seed: 4 }, &page),
            "size=3&seed=4&backend=cpu"
        );
    }

    #[test]
    fn shared_links_drop_debugging_switches() {
        assert_eq!(
            shareable_query("?m=2&debug=lose-device&backend=gpu"),
            "m=2&backend=gpu"
        );
        assert_eq!(shareable_query(""), "");
        assert_eq!(
            shareable_query("?present=1&step=3&seed=2&hide=text&origin=https%3A%2F%2Fa.b"),
            "seed=2"
        );
    }

    #[test]
    fn unknown_parameters_are_ignored_with_a_notice() {
        let parsed = parse_query::<Demo>(&pairs("colour=red&size=2"));
        assert_eq!(parsed.state, Demo { size: 2, seed: 1 });
        assert_eq!(
            parsed.notices,
            vec![Notice::UnknownParameter {
                key: "colour".into()
            }]
        );
    }
}
