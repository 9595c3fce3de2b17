//! Chapter 6's widgets. They share one URL schema, [`SearchState`]: the
//! query, BM25's k1 and b, the term whose list is opened, the intersection's
//! method and step, and the popularity weight, so a link, a slide and an
//! embed show the same search.

pub mod build;
pub mod intersect;
pub mod pipeline;
pub mod results;

use std::sync::Arc;

use compute::search::rank::Bm25;
use leptos::{prelude::*, task::spawn_local};
use serde::{Deserialize, Serialize};

use crate::{
    chapters::{
        autoregressive::session::ModelLoadError,
        search::session::{search_session, shared_run, SearchProgress, SearchRun, SearchSession},
    },
    i18n::{t_string, use_i18n},
    shell::{
        format::fill,
        format::group,
        url_state::{use_widget_state, Invalid, Notice, WidgetState},
    },
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchState {
    pub q: String,
    pub k1: f32,
    pub b: f32,
    /// The term whose posting list the compression view opens; empty for
    /// the query's first.
    pub term: String,
    /// merge or gallop.
    pub mode: String,
    /// The intersection's step shown (0 is before the first comparison).
    pub at: u32,
    /// The popularity prior's weight in the re-ranking.
    pub w: f32,
}

impl Default for SearchState {
    fn default() -> Self {
        SearchState {
            q: "明月 故乡".into(),
            k1: 1.2,
            b: 0.75,
            term: String::new(),
            mode: "gallop".into(),
            at: 0,
            w: 0.3,
        }
    }
}

pub const MODES: [&str; 2] = ["merge", "gallop"];

impl WidgetState for SearchState {
    fn validate(&self) -> Result<(), Invalid> {
        if self.q.chars().count() > 100 {
            return Err(Invalid::Range {
                field: "q",
                lo: "0".into(),
                hi: "100 characters".into(),
            });
        }
        if !(0.0..=3.0).contains(&self.k1) {
            return Err(Invalid::Range {
                field: "k1",
                lo: "0".into(),
                hi: "3".into(),
            });
        }
        if !(0.0..=1.0).contains(&self.b) {
            return Err(Invalid::Range {
                field: "b",
                lo: "0".into(),
                hi: "1".into(),
            });
        }
        if self.term.chars().count() > 8 {
            return Err(Invalid::Range {
                field: "term",
                lo: "0".into(),
                hi: "8 characters".into(),
            });
        }
        if !MODES.contains(&self.mode.as_str()) {
            return Err(Invalid::OneOf {
                field: "mode",
                options: "merge, gallop",
            });
        }
        if self.at > 1_000_000 {
            return Err(Invalid::Range {
                field: "at",
                lo: "0".into(),
                hi: "1000000".into(),
            });
        }
        if !(0.0..=1.0).contains(&self.w) {
            return Err(Invalid::Range {
                field: "w",
                lo: "0".into(),
                hi: "1".into(),
            });
        }
        Ok(())
    }
}

impl SearchState {
    pub fn bm25(&self) -> Bm25 {
        Bm25 {
            k1: f64::from(self.k1),
            b: f64::from(self.b),
        }
    }
}

/// The chapter state from the URL, and its writer.
pub fn use_search_state() -> (
    Memo<SearchState>,
    Signal<Vec<Notice>>,
    impl Fn(SearchState) + Clone + 'static,
) {
    let (parsed, write) = use_widget_state::<SearchState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.get().notices);
    (state, notices, write)
}

/// A value compared by identity, so memos can hold big results.
pub struct Shared<T>(pub Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The index (building it on first use), how far it got, and why it
/// failed.
pub struct SessionSignals {
    pub session: RwSignal<Option<Shared<SearchSession>>>,
    pub progress: RwSignal<Option<SearchProgress>>,
    pub error: RwSignal<Option<ModelLoadError>>,
}

pub fn use_search_session() -> SessionSignals {
    let signals = SessionSignals {
        session: RwSignal::new(None),
        progress: RwSignal::new(None),
        error: RwSignal::new(None),
    };
    let (session, progress, error) = (signals.session, signals.progress, signals.error);
    spawn_local(async move {
        match search_session(move |p| {
            let _ = progress.try_set(Some(p));
        })
        .await
        {
            Ok(s) => {
                session.try_set(Some(Shared(s)));
            }
            Err(e) => {
                error.try_set(Some(e));
            }
        }
    });
    signals
}

/// The query's run, again whenever the query or BM25's settings change; the
/// parser's error otherwise.
pub fn use_search_run(
    state: Memo<SearchState>,
    session: RwSignal<Option<Shared<SearchSession>>>,
) -> Memo<Option<Result<Shared<SearchRun>, String>>> {
    let settings = Memo::new(move |_| {
        let s = state.get();
        (s.q, s.k1, s.b)
    });
    Memo::new(move |_| {
        let (q, k1, b) = settings.get();
        let session = session.get()?;
        let bm25 = Bm25 {
            k1: f64::from(k1),
            b: f64::from(b),
        };
        Some(
            shared_run(&session.0, &q, bm25)
                .map(Shared)
                .map_err(|e| e.to_string()),
        )
    })
}

/// The download's or the build's progress, or the error that stopped it.
#[component]
pub fn IndexStatus(
    progress: RwSignal<Option<SearchProgress>>,
    error: RwSignal<Option<ModelLoadError>>,
    session: RwSignal<Option<Shared<SearchSession>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        if let Some(e) = error.get() {
            return view! {
                <p class="error" role="alert" data-testid="search-load-error">{move || e.say(i18n.get_locale())}</p>
            }
            .into_any();
        }
        if session.with(Option::is_some) {
            return ().into_any();
        }
        let (label, done, total) = match progress.get() {
            Some(SearchProgress::Download(l, t)) => (
                fill(
                    t_string!(i18n, search.downloading),
                    &[("loaded", &group(l / 1000)), ("total", &group(t / 1000))],
                ),
                l as f64,
                t.max(1) as f64,
            ),
            Some(SearchProgress::Index(n, t)) => (
                fill(
                    t_string!(i18n, search.indexing),
                    &[("done", &group(n as u64)), ("total", &group(t as u64))],
                ),
                n as f64,
                t.max(1) as f64,
            ),
            None => (t_string!(i18n, search.starting).to_string(), 0.0, 1.0),
        };
        view! {
            <p class="loading" role="status" data-testid="search-progress">
                <span>{label}</span>
                <progress max=total value=done></progress>
            </p>
        }
        .into_any()
    }
}

/// The parser's complaint, framed in the page's language.
#[component]
pub fn QueryError(detail: String) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="error" role="alert" data-testid="search-query-error">
            {move || fill(t_string!(i18n, search.query_error), &[("detail", &detail)])}
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::url_state::{parse_query, to_query};

    #[test]
    fn the_state_round_trips_and_bad_values_fall_back() {
        let s = SearchState {
            q: "\"床前明月\" -李白".into(),
            k1: 2.0,
            b: 0.5,
            term: "明月".into(),
            mode: "merge".into(),
            at: 12,
            w: 0.8,
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&to_query(&s)).unwrap();
        assert_eq!(parse_query::<SearchState>(&pairs).state, s);
        let bad: Vec<(String, String)> = vec![
            ("k1".into(), "9".into()),
            ("mode".into(), "zip".into()),
            ("w".into(), "x".into()),
        ];
        let parsed = parse_query::<SearchState>(&bad);
        assert_eq!(parsed.state, SearchState::default());
        assert_eq!(parsed.notices.len(), 3);
    }
}
