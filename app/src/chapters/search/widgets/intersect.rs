//! Intersecting two posting lists one comparison at a time: two cursors,
//! the plain merge against galloping, and every comparison counted.

use compute::search::query::{intersect_gallop, intersect_merge, Intersection, Outcome};
use leptos::prelude::*;

use super::{
    use_search_run, use_search_session, use_search_state, IndexStatus, QueryError, SearchState,
    Shared, MODES,
};
use crate::{
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, format::group, widget::UrlNotices},
};

/// Ids drawn on each side of a cursor.
const WINDOW: usize = 6;

/// The two lists and both intersections.
#[derive(Clone, PartialEq)]
struct Pair {
    terms: [String; 2],
    a: Vec<u32>,
    b: Vec<u32>,
    merge: Intersection,
    gallop: Intersection,
}

#[component]
pub fn SearchIntersect() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_search_state();
    let signals = use_search_session();
    let session = signals.session;
    let run = use_search_run(state, session);

    // The query's first two terms, their lists, and both intersections.
    let pair = Memo::new(move |_| {
        let r = run.get()?.ok()?;
        let terms = &r.0.terms;
        if terms.terms.len() < 2 {
            return None;
        }
        let (a, b) = (terms.lists[0].ids.clone(), terms.lists[1].ids.clone());
        Some(Shared(std::sync::Arc::new(Pair {
            terms: [terms.terms[0].clone(), terms.terms[1].clone()],
            merge: intersect_merge(&a, &b),
            gallop: intersect_gallop(&a, &b),
            a,
            b,
        })))
    });
    let go = {
        let write = write.clone();
        move |at: u32| {
            write(SearchState {
                at,
                ..state.get_untracked()
            })
        }
    };
    let set_mode = write.clone();

    let body = move || {
        if let Some(Err(detail)) = run.get() {
            return view! { <QueryError detail/> }.into_any();
        }
        if session.with(Option::is_none) {
            return ().into_any();
        }
        let Some(p) = pair.get() else {
            return view! { <p data-testid="search-intersect-need-two">{t!(i18n, search.intersect_need_two)}</p> }.into_any();
        };
        let p = p.0;
        let s = state.get();
        let shown = if s.mode == "merge" {
            &p.merge
        } else {
            &p.gallop
        };
        let steps = shown.steps.len();
        let at = (s.at as usize).min(steps);
        // The comparison just made (step `at`, counting from 1).
        let current = at.checked_sub(1).map(|k| shown.steps[k]);
        let found = shown.steps[..at]
            .iter()
            .filter(|s| s.outcome == Outcome::Match)
            .count();
        // Galloping's binary search: the searched list's range still in question.
        let window = current.and_then(|c| c.window);
        let (window_a, window_b) = if shown.searches_b {
            (None, window)
        } else {
            (window, None)
        };
        let row = |ids: &[u32],
                   cursor: Option<usize>,
                   window: Option<(usize, usize)>,
                   term: &str,
                   label: &'static str| {
            let c = cursor.unwrap_or(0);
            let lo = c.saturating_sub(WINDOW);
            let hi = (c + WINDOW + 1).min(ids.len());
            view! {
                <div class="intersect-row" data-testid=label>
                    <span class="intersect-term" lang="zh-Hans">{format!("{term} ({})", group(ids.len() as u64))}</span>
                    <ol class="intersect-ids" start=lo + 1>
                        {(lo > 0).then(|| view! { <li class="intersect-more">"…"</li> })}
                        {ids[lo..hi]
                            .iter()
                            .enumerate()
                            .map(|(k, id)| {
                                let here = cursor == Some(lo + k);
                                let searched = window.is_some_and(|(from, to)| (from..to).contains(&(lo + k)));
                                view! { <li class:cursor=here class:searched=searched aria-current=here.then_some("true")>{id.to_string()}</li> }
                            })
                            .collect_view()}
                        {(hi < ids.len()).then(|| view! { <li class="intersect-more">"…"</li> })}
                    </ol>
                </div>
            }
        };
        let searched_list = if shown.searches_b {
            t_string!(i18n, search.list_bottom)
        } else {
            t_string!(i18n, search.list_top)
        };
        let outcome = current.map(|c| {
            let text = match c.outcome {
                Outcome::Match => t_string!(i18n, search.outcome_match),
                Outcome::AdvanceA => t_string!(i18n, search.outcome_a),
                Outcome::AdvanceB => t_string!(i18n, search.outcome_b),
                Outcome::Jump => t_string!(i18n, search.outcome_jump),
                Outcome::Passed => t_string!(i18n, search.outcome_passed),
                Outcome::Above => t_string!(i18n, search.outcome_above),
                Outcome::Below => t_string!(i18n, search.outcome_below),
            };
            let mut said = fill(text, &[("list", &searched_list)]);
            if let Some((from, to)) = c.window {
                said.push(' ');
                said.push_str(&if from < to {
                    fill(
                        t_string!(i18n, search.intersect_window),
                        &[("from", &(from + 1)), ("to", &to), ("list", &searched_list)],
                    )
                } else {
                    t_string!(i18n, search.intersect_window_empty).to_string()
                });
            }
            said
        });
        let (merge, gallop, common) =
            (p.merge.comparisons, p.gallop.comparisons, p.merge.ids.len());
        let go_first = go.clone();
        let go_back = go.clone();
        let go_next = go.clone();
        let go_last = go.clone();
        view! {
            <div class="intersect" data-testid="search-intersect-view"
                data-merge=merge data-gallop=gallop data-common=common data-steps=steps data-at=at>
                <div class="intersect-rows">
                    {row(&p.a, current.map(|c| c.a), window_a, &p.terms[0], "search-intersect-a")}
                    {row(&p.b, current.map(|c| c.b), window_b, &p.terms[1], "search-intersect-b")}
                </div>
                <p role="status" data-testid="search-intersect-step">
                    {move || fill(
                        t_string!(i18n, search.intersect_step),
                        &[("at", &group(at as u64)), ("steps", &group(steps as u64)), ("found", &group(found as u64))],
                    )}
                    " "
                    {outcome}
                </p>
                <div class="controls">
                    <button type="button" disabled=at == 0 on:click=move |_| go_first(0)>{t!(i18n, search.step_first)}</button>
                    <button type="button" data-testid="search-step-back" disabled=at == 0 on:click=move |_| go_back(at as u32 - 1)>{t!(i18n, search.step_back)}</button>
                    <button type="button" data-testid="search-step-next" disabled=at == steps on:click=move |_| go_next(at as u32 + 1)>{t!(i18n, search.step_next)}</button>
                    <button type="button" disabled=at == steps on:click=move |_| go_last(steps as u32)>{t!(i18n, search.step_last)}</button>
                </div>
                <p data-testid="search-intersect-counts">
                    {move || fill(
                        t_string!(i18n, search.intersect_counts),
                        &[("merge", &group(merge as u64)), ("gallop", &group(gallop as u64)), ("common", &group(common as u64))],
                    )}
                </p>
            </div>
        }
        .into_any()
    };

    view! {
        <section class="widget" data-testid="search-intersect" aria-labelledby="search-intersect-title">
            <h2 id="search-intersect-title">{t!(i18n, search.intersect_title)}</h2>
            <p>{t!(i18n, search.intersect_intro)}</p>
            <UrlNotices notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, search.mode_label)}</span>
                    <select data-testid="search-mode"
                        on:change=move |ev| set_mode(SearchState { mode: event_target_value(&ev), at: 0, ..state.get_untracked() })>
                        {MODES
                            .into_iter()
                            .map(|mode| view! {
                                <option value=mode selected=move || state.get().mode == mode>
                                    {move || if mode == "merge" { t_string!(i18n, search.mode_merge) } else { t_string!(i18n, search.mode_gallop) }}
                                </option>
                            })
                            .collect_view()}
                    </select>
                </label>
            </form>
            <IndexStatus progress=signals.progress error=signals.error session/>
            {body}
        </section>
    }
}
