//! A search platform's pipeline, live for the current query: understanding,
//! recall from the index, coarse ranking by BM25, re-ranking of the top 100
//! with a popularity prior, results. Each stage's counts and milliseconds.

use compute::search::rank::Hit;
use leptos::prelude::*;

use super::{
    results::PoemHit, use_search_run, use_search_session, use_search_state, IndexStatus,
    QueryError, SearchState,
};
use crate::{
    chapters::{detr::session::now_ms, search::session::TOP_K},
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, format::group, widget::UrlNotices},
};

/// How many of BM25's best the re-ranker sees.
pub const RERANK: usize = 100;

/// BM25's top `RERANK` re-scored as (1 − w)·score/best + w·prior(id),
/// best first (equal blends by smaller id); each with its BM25 rank
/// (0-based).
pub fn rerank(ranked: &[Hit], w: f64, prior: impl Fn(u32) -> f64) -> Vec<(usize, u32, f64)> {
    let head = &ranked[..ranked.len().min(RERANK)];
    let best = head.first().map_or(1.0, |h| h.score.max(1e-12));
    let mut blended: Vec<(usize, u32, f64)> = head
        .iter()
        .enumerate()
        .map(|(rank, h)| (rank, h.id, (1.0 - w) * h.score / best + w * prior(h.id)))
        .collect();
    blended.sort_by(|x, y| y.2.total_cmp(&x.2).then(x.1.cmp(&y.1)));
    blended
}

#[component]
pub fn SearchPipeline() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_search_state();
    let signals = use_search_session();
    let session = signals.session;
    let run = use_search_run(state, session);

    let body = move || {
        let s = session.get()?;
        let r = match run.get()? {
            Ok(r) => r,
            Err(detail) => return Some(view! { <QueryError detail/> }.into_any()),
        };
        let run = &r.0;
        let w = f64::from(state.get().w);
        let start = now_ms();
        let prior = |id: u32| {
            s.0.poem(id)
                .map_or(0.0, |(k, _)| f64::from(s.0.popularity[k]))
        };
        let reranked = rerank(&run.ranked, w, prior);
        let rerank_ms = now_ms() - start;
        let folded = s.0.fold.text(&state.get().q);
        let terms = run.terms.terms.clone();
        let stage =
            |name: String, detail: String, count_in: Option<usize>, count_out: usize, ms: f64| {
                view! {
                    <li class="pipeline-stage" data-out=count_out>
                        <h3>{name}</h3>
                        <p>{detail}</p>
                        <p class="pipeline-counts">
                            {count_in.map(|n| format!("{} → ", group(n as u64)))}
                            {group(count_out as u64)}
                            {format!(" · {ms:.2} ms")}
                        </p>
                    </li>
                }
            };
        let n = s.0.index.docs();
        let candidates = run.matches.len();
        let coarse = candidates.min(RERANK);
        let understanding = stage(
            t_string!(i18n, search.stage_understand).to_string(),
            fill(
                t_string!(i18n, search.stage_understand_detail),
                &[("folded", &folded), ("terms", &terms.join(" · "))],
            ),
            None,
            terms.len(),
            run.parse_ms,
        );
        let recall = stage(
            t_string!(i18n, search.stage_recall).to_string(),
            t_string!(i18n, search.stage_recall_detail).to_string(),
            Some(n),
            candidates,
            run.recall_ms,
        );
        let coarse_rank = stage(
            t_string!(i18n, search.stage_coarse).to_string(),
            t_string!(i18n, search.stage_coarse_detail).to_string(),
            Some(candidates),
            coarse,
            run.rank_ms,
        );
        let fine = stage(
            t_string!(i18n, search.stage_rerank).to_string(),
            fill(
                t_string!(i18n, search.stage_rerank_detail),
                &[("w", &format!("{w:.2}"))],
            ),
            Some(coarse),
            reranked.len().min(TOP_K),
            rerank_ms,
        );
        let ids = reranked
            .iter()
            .take(TOP_K)
            .map(|r| r.1.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let rows = reranked
            .iter()
            .take(TOP_K)
            .enumerate()
            .map(|(place, &(was, id, blended))| {
                let moved = was as i64 - place as i64;
                let arrow = match moved {
                    0 => "=".to_string(),
                    m if m > 0 => format!("↑{m}"),
                    m => format!("↓{}", -m),
                };
                let prior = s.0.poem(id).map_or(0.0, |(k, _)| s.0.popularity[k]);
                view! {
                    <div class="pipeline-hit">
                        <p class="pipeline-move">
                            {move || fill(
                                t_string!(i18n, search.rerank_row),
                                &[("was", &(was + 1)), ("arrow", &arrow), ("prior", &format!("{prior:.2}")), ("blended", &format!("{blended:.3}"))],
                            )}
                        </p>
                        <ol class="search-hits"><PoemHit session=s.clone() id terms=terms.clone()/></ol>
                    </div>
                }
            })
            .collect_view();
        Some(
            view! {
                <ol class="pipeline" data-testid="search-pipeline-stages">
                    {understanding}
                    {recall}
                    {coarse_rank}
                    {fine}
                </ol>
                <div data-testid="search-pipeline-results" data-ids=ids>{rows}</div>
            }
            .into_any(),
        )
    };

    let set_w = write.clone();
    view! {
        <section class="widget" data-testid="search-pipeline" aria-labelledby="search-pipeline-title">
            <h2 id="search-pipeline-title">{t!(i18n, search.pipeline_title)}</h2>
            <p>{t!(i18n, search.pipeline_intro)}</p>
            <UrlNotices notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{move || fill(t_string!(i18n, search.w_label), &[("w", &format!("{:.2}", state.get().w))])}</span>
                    <input type="range" min="0" max="1" step="0.05" data-testid="search-w"
                        prop:value=move || state.get().w.to_string()
                        on:change=move |ev| {
                            if let Ok(w) = event_target_value(&ev).parse::<f32>() {
                                set_w(SearchState { w: w.clamp(0.0, 1.0), ..state.get_untracked() });
                            }
                        }/>
                </label>
            </form>
            <IndexStatus progress=signals.progress error=signals.error session/>
            {body}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With w = 0 the order is BM25's; with w = 1 the priors'; only the top
    /// `RERANK` are re-ranked.
    #[test]
    fn the_weight_moves_the_order_from_bm25_to_the_prior() {
        let hits: Vec<Hit> = (0..150u32)
            .map(|id| Hit {
                id,
                score: 200.0 - f64::from(id),
                contributions: vec![],
            })
            .collect();
        // The prior grows with the id: the reverse of BM25's order.
        let prior = |id: u32| f64::from(id) / 150.0;
        let ids = |w: f64| -> Vec<u32> { rerank(&hits, w, prior).iter().map(|r| r.1).collect() };
        assert_eq!(ids(0.0), (0..100).collect::<Vec<_>>());
        assert_eq!(ids(1.0), (0..100).rev().collect::<Vec<_>>());
        let halfway = rerank(&hits, 0.5, prior);
        assert_eq!(halfway.len(), RERANK);
        assert!(halfway.windows(2).all(|p| p[0].2 >= p[1].2));
        assert_eq!(
            halfway.iter().find(|r| r.1 == 7).unwrap().0,
            7,
            "BM25's rank is kept"
        );
    }
}
