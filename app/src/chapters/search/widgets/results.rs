//! The search box: a Boolean or phrase query, its matches ranked by BM25
//! with k1 and b on sliders, each term's share of each score, the matches
//! highlighted, and WAND's top 10 against exhaustive evaluation.

use compute::search::{highlight, rank::Hit, Segmentation};
use leptos::prelude::*;

use super::{
    use_search_run, use_search_session, use_search_state, IndexStatus, QueryError, SearchState,
    Shared,
};
use crate::shell::script::{use_poem_script, ScriptSwitch};
use crate::{
    chapters::search::session::{SearchSession, TOP_K},
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, format::group, widget::UrlNotices},
};

/// A poem as a list shows it: title, author, j, and the text with the
/// query's terms marked.
#[component]
pub fn PoemHit(
    session: Shared<SearchSession>,
    id: u32,
    terms: Vec<String>,
    /// Each term's share of the score, when the list is BM25's.
    #[prop(optional)]
    contributions: Option<Vec<(String, f64)>>,
    #[prop(optional)] score: Option<f64>,
) -> impl IntoView {
    let i18n = use_i18n();
    let poems = use_poem_script();
    let Some((_, poem)) = session.0.poem(id) else {
        return ().into_any();
    };
    let text = SearchSession::doc_text(poem);
    let marked = highlight(&text, &session.0.fold, &terms, Segmentation::Bigrams);
    let chars: Vec<(char, bool)> = text.chars().zip(marked).collect();
    // Title, author and poem, as the index saw them.
    let mut fields: Vec<Vec<(char, bool)>> = vec![Vec::new()];
    for (c, m) in chars {
        if c == '\n' {
            fields.push(Vec::new());
        } else {
            fields.last_mut().expect("one field at least").push((c, m));
        }
    }
    let marks = |field: &[(char, bool)]| {
        field
            .iter()
            .map(|&(c, m)| {
                let shown = move || poems.char(c).to_string();
                if m {
                    view! { <mark>{shown}</mark> }.into_any()
                } else {
                    shown.into_any()
                }
            })
            .collect_view()
    };
    let title = marks(fields.first().map_or(&[][..], |f| f));
    let author = marks(fields.get(1).map_or(&[][..], |f| f));
    let body = marks(fields.get(2).map_or(&[][..], |f| f));
    let total = score;
    view! {
        <li class="search-hit" data-id=id>
            <p class="search-hit-head">
                <strong lang=move || poems.lang()>{title}</strong>
                " · "
                <span lang=move || poems.lang()>{author}</span>
                <span class="search-hit-id">{format!(" · j = {id}")}</span>
                {total.map(|s| view! { <span class="search-hit-score">{format!(" · {s:.3}")}</span> })}
            </p>
            <p class="search-hit-text" lang=move || poems.lang()>{body}</p>
            {contributions.map(|parts| {
                let top = parts.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9);
                view! {
                    <ul class="search-contributions" aria-label=move || t_string!(i18n, search.contributions_label)>
                        {parts
                            .into_iter()
                            .map(|(term, share)| view! {
                                <li>
                                    <span lang="zh-Hans">{term}</span>
                                    <span class="choice-bar" style=format!("width: {:.1}%", 60.0 * share / top)></span>
                                    <span>{format!("{share:.3}")}</span>
                                </li>
                            })
                            .collect_view()}
                    </ul>
                }
            })}
        </li>
    }
    .into_any()
}

/// The query's terms paired with a hit's contributions.
pub fn contributions(terms: &[String], hit: &Hit) -> Vec<(String, f64)> {
    terms
        .iter()
        .cloned()
        .zip(hit.contributions.iter().copied())
        .collect()
}

#[component]
pub fn SearchResults() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_search_state();
    let signals = use_search_session();
    let session = signals.session;
    let run = use_search_run(state, session);
    let set = {
        let write = write.clone();
        move |change: &dyn Fn(&mut SearchState, &str), value: String| {
            let mut next = state.get_untracked();
            change(&mut next, value.trim());
            write(next);
        }
    };
    let set_q = set.clone();
    let set_k1 = set.clone();
    let set_b = set.clone();

    let results = move || {
        let s = session.get()?;
        let r = match run.get()? {
            Ok(r) => r,
            Err(detail) => return Some(view! { <QueryError detail/> }.into_any()),
        };
        let run = &r.0;
        let ids = run
            .ranked
            .iter()
            .take(TOP_K)
            .map(|h| h.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let matches = run.matches.len();
        let ms = run.query_ms();
        let terms = run.terms.terms.clone();
        let hits = run
            .ranked
            .iter()
            .take(TOP_K)
            .map(|hit| {
                view! {
                    <PoemHit
                        session=s.clone()
                        id=hit.id
                        terms=terms.clone()
                        contributions=contributions(&terms, hit)
                        score=hit.score
                    />
                }
            })
            .collect_view();
        let wand = &run.wand;
        let (scored, candidates, agrees) = (wand.scored, wand.candidates, run.wand_agrees());
        let (wand_ms, exhaustive_ms) = (run.wand_ms, run.exhaustive_ms);
        Some(view! {
            <p class="status" role="status" data-testid="search-status" data-matches=matches data-ms=format!("{ms:.3}")>
                {move || fill(
                    t_string!(i18n, search.status),
                    &[("matches", &group(matches as u64)), ("ms", &format!("{ms:.2}"))],
                )}
            </p>
            <ol class="search-hits" data-testid="search-results" data-ids=ids>{hits}</ol>
            <p class="search-wand" data-testid="search-wand"
                data-scored=scored data-candidates=candidates data-agrees=agrees.to_string()>
                {move || fill(
                    t_string!(i18n, search.wand),
                    &[
                        ("scored", &group(scored as u64)),
                        ("candidates", &group(candidates as u64)),
                        ("percent", &format!("{:.1}", 100.0 * scored as f64 / candidates.max(1) as f64)),
                        ("wand_ms", &format!("{wand_ms:.2}")),
                        ("exhaustive_ms", &format!("{exhaustive_ms:.2}")),
                        ("same", &if agrees { t_string!(i18n, search.wand_same) } else { t_string!(i18n, search.wand_differs) }),
                    ],
                )}
            </p>
        }.into_any())
    };

    view! {
        <section class="widget" data-testid="search-query" aria-labelledby="search-query-title">
            <h2 id="search-query-title">{t!(i18n, search.query_title)}</h2>
            <p>{t!(i18n, search.query_intro)}</p>
            <UrlNotices notices/>
            <ScriptSwitch poems=use_poem_script()/>
            <form class="controls" role="search" on:submit=|ev| ev.prevent_default()>
                <label class="search-box">
                    <span>{t!(i18n, search.query_label)}</span>
                    <input type="search" lang="zh" data-testid="search-q" maxlength="100"
                        prop:value=move || state.get().q
                        on:change=move |ev| set_q(&|s, v| { s.q = v.to_string(); s.term.clear(); s.at = 0; }, event_target_value(&ev))/>
                </label>
                <label>
                    <span>{move || fill(t_string!(i18n, search.k1_label), &[("k1", &format!("{:.1}", state.get().k1))])}</span>
                    <input type="range" min="0" max="3" step="0.1" data-testid="search-k1"
                        prop:value=move || state.get().k1.to_string()
                        on:change=move |ev| set_k1(&|s, v| if let Ok(k) = v.parse::<f32>() { s.k1 = k.clamp(0.0, 3.0) }, event_target_value(&ev))/>
                </label>
                <label>
                    <span>{move || fill(t_string!(i18n, search.b_label), &[("b", &format!("{:.2}", state.get().b))])}</span>
                    <input type="range" min="0" max="1" step="0.05" data-testid="search-b"
                        prop:value=move || state.get().b.to_string()
                        on:change=move |ev| set_b(&|s, v| if let Ok(b) = v.parse::<f32>() { s.b = b.clamp(0.0, 1.0) }, event_target_value(&ev))/>
                </label>
            </form>
            <p class="hint">{t!(i18n, search.syntax)}</p>
            <IndexStatus progress=signals.progress error=signals.error session/>
            {results}
        </section>
    }
}
