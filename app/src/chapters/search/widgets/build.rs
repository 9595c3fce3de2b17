//! The index, built in this tab: progress, then its size; terms as single
//! characters against bigrams; and posting lists as raw integers against
//! delta + variable-byte codes, down to one list's bytes. Also times the
//! chapter's 50 fixed queries.

use compute::search::{segment, varint, Segmentation, REFERENCE_QUERIES};
use leptos::{prelude::*, task::spawn_local};

use super::{
    use_search_run, use_search_session, use_search_state, IndexStatus, QueryError, SearchState,
};
use crate::{
    i18n::{t, t_string, use_i18n},
    shell::{
        format::fill,
        format::{group, human_bytes},
        widget::UrlNotices,
    },
};

/// The line the segmentation comparison cuts up.
const SAMPLE_LINE: &str = "床前明月光，疑是地上霜。";

/// Ids shown of the opened list.
const SHOWN_IDS: usize = 12;

/// Dictionary entries shown on each side of the opened term.
const NEIGHBOURS: usize = 4;

#[component]
pub fn SearchBuild() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_search_state();
    let signals = use_search_session();
    let session = signals.session;
    let run = use_search_run(state, session);

    let stats = move || {
        let s = session.get()?;
        let index = &s.0.index;
        let bytes = index.bytes();
        let (docs, terms, ms, memory) = (
            index.docs(),
            index.terms.len(),
            s.0.build_ms,
            index.heap_bytes(),
        );
        Some(view! {
            <p class="status" data-testid="search-build-stats"
                data-ms=format!("{ms:.1}")
                data-terms=terms
                data-postings=bytes.postings
                data-docs=docs
            >
                {move || fill(
                    t_string!(i18n, search.build_stats),
                    &[
                        ("docs", &group(docs as u64)),
                        ("ms", &format!("{ms:.0}")),
                        ("terms", &group(terms as u64)),
                        ("postings", &group(bytes.postings)),
                        ("positions", &group(bytes.positions)),
                        ("memory", &human_bytes(memory)),
                    ],
                )}
            </p>
            <div class="table-scroll" tabindex="0"><table class="search-bytes" data-testid="search-bytes" data-raw=bytes.raw data-compressed=bytes.compressed>
                <caption>{t!(i18n, search.bytes_caption)}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, search.bytes_what)}</th>
                        <th scope="col">{t!(i18n, search.bytes_raw)}</th>
                        <th scope="col">{t!(i18n, search.bytes_compressed)}</th>
                        <th scope="col">{t!(i18n, search.bytes_ratio)}</th>
                    </tr>
                </thead>
                <tbody>
                    <tr>
                        <th scope="row">{t!(i18n, search.bytes_ids)}</th>
                        <td>{human_bytes(bytes.raw_ids)}</td>
                        <td>{human_bytes(bytes.compressed_ids)}</td>
                        <td>{format!("{:.2}×", bytes.raw_ids as f64 / bytes.compressed_ids.max(1) as f64)}</td>
                    </tr>
                    <tr>
                        <th scope="row">{t!(i18n, search.bytes_all)}</th>
                        <td>{human_bytes(bytes.raw)}</td>
                        <td>{human_bytes(bytes.compressed)}</td>
                        <td>{format!("{:.2}×", bytes.raw as f64 / bytes.compressed.max(1) as f64)}</td>
                    </tr>
                </tbody>
            </table></div>
        })
    };

    // Single characters against bigrams: the sample line's terms, the
    // dictionary's size, and how many poems the query matches.
    let segmentation = move || {
        let s = session.get()?;
        let line = s.0.fold.text(SAMPLE_LINE);
        let chips = |seg: Segmentation| {
            segment(&line, seg)
                .into_iter()
                .map(|t| view! { <span class="term-chip" lang="zh-Hans">{t.text}</span> })
                .collect_view()
        };
        let recall = run.get().and_then(|r| r.ok()).map(|r| {
            let chars = s.0.char_matches(&r.0.query);
            (chars, r.0.matches.len())
        });
        let (chars_recall, bigrams_recall) = match recall {
            Some((c, b)) => (group(c as u64), group(b as u64)),
            None => ("–".to_string(), "–".to_string()),
        };
        Some(view! {
            <div class="table-scroll" tabindex="0"><table class="search-segmentation" data-testid="search-segmentation">
                <caption>{move || fill(t_string!(i18n, search.seg_caption), &[("line", &SAMPLE_LINE)])}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, search.seg_scheme)}</th>
                        <th scope="col">{t!(i18n, search.seg_terms)}</th>
                        <th scope="col">{t!(i18n, search.seg_dictionary)}</th>
                        <th scope="col">{move || fill(t_string!(i18n, search.seg_recall), &[("q", &state.get().q)])}</th>
                    </tr>
                </thead>
                <tbody>
                    <tr>
                        <th scope="row">{t!(i18n, search.seg_chars)}</th>
                        <td>{chips(Segmentation::Chars)}</td>
                        <td>{group(s.0.char_terms as u64)}</td>
                        <td data-testid="search-recall-chars">{chars_recall}</td>
                    </tr>
                    <tr>
                        <th scope="row">{t!(i18n, search.seg_bigrams)}</th>
                        <td>{chips(Segmentation::Bigrams)}</td>
                        <td>{group(s.0.index.terms.len() as u64)}</td>
                        <td data-testid="search-recall-bigrams">{bigrams_recall}</td>
                    </tr>
                </tbody>
            </table></div>
        })
    };

    // One list opened: the query's terms' sizes, and the chosen term's ids,
    // gaps and bytes.
    let opened_term = Memo::new(move |_| {
        let s = state.get();
        if !s.term.is_empty() {
            return Some(s.term);
        }
        run.get()?.ok()?.0.terms.terms.first().cloned()
    });
    let lists = move || {
        let s = session.get()?;
        let run = run.get()?.ok()?;
        let rows = run
            .0
            .terms
            .terms
            .iter()
            .map(|term| {
                let list = s.0.index.list(term);
                let df = list.map_or(0, |l| l.df);
                let raw = list.map_or(0, |l| l.raw_bytes());
                let compressed = list.map_or(0, |l| l.compressed_bytes());
                let term_for_click = term.clone();
                let write = write.clone();
                view! {
                    <tr>
                        <th scope="row">
                            <button type="button" class="link-button" lang="zh-Hans"
                                on:click=move |_| write(SearchState { term: term_for_click.clone(), ..state.get_untracked() })>
                                {term.clone()}
                            </button>
                        </th>
                        <td>{group(u64::from(df))}</td>
                        <td>{group(raw)}</td>
                        <td>{group(compressed as u64)}</td>
                    </tr>
                }
            })
            .collect_view();
        Some(view! {
            <div class="table-scroll" tabindex="0"><table class="search-lists" data-testid="search-lists">
                <caption>{t!(i18n, search.lists_caption)}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, search.lists_term)}</th>
                        <th scope="col">{t!(i18n, search.lists_df)}</th>
                        <th scope="col">{t!(i18n, search.lists_raw)}</th>
                        <th scope="col">{t!(i18n, search.lists_compressed)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table></div>
        })
    };
    let opened = move || {
        let s = session.get()?;
        let term = s.0.fold.text(&opened_term.get()?);
        let Some(list) = s.0.index.list(&term) else {
            return Some(view! {
                <p data-testid="search-opened">{move || fill(t_string!(i18n, search.opened_missing), &[("term", &term)])}</p>
            }.into_any());
        };
        // The sorted dictionary around the term, each entry with its
        // document frequency.
        let index = &s.0.index;
        let at = index.terms.partition_point(|t| *t < term);
        let neighbours = (at.saturating_sub(NEIGHBOURS)
            ..(at + NEIGHBOURS + 1).min(index.terms.len()))
            .map(|k| {
                let here = k == at;
                let entry = format!(
                    "{} ({})",
                    index.terms[k],
                    group(u64::from(index.lists[k].df))
                );
                view! { <li class:here=here lang="zh-Hans">{entry}</li> }
            })
            .collect_view();
        let ids = list.decode().map(|p| p.ids).unwrap_or_default();
        let shown = &ids[..ids.len().min(SHOWN_IDS)];
        let gaps = varint::gaps(shown);
        let cells = gaps
            .iter()
            .zip(shown)
            .map(|(&gap, &id)| {
                let mut bytes = Vec::new();
                varint::push(gap, &mut bytes);
                let hex = bytes
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                view! {
                    <tr>
                        <td>{group(u64::from(id))}</td>
                        <td>{group(u64::from(gap))}</td>
                        <td><code>{format!("{id:08x}")}</code></td>
                        <td><code>{hex}</code></td>
                    </tr>
                }
            })
            .collect_view();
        let df = list.df;
        let id_bytes = list.ids.len();
        let term_attr = term.clone();
        let dictionary_size = index.terms.len();
        Some(view! {
            <div class="search-opened" data-testid="search-opened" data-term=term_attr data-df=df>
                <p>{move || fill(t_string!(i18n, search.dictionary_around), &[("count", &group(dictionary_size as u64))])}</p>
                <ol class="dictionary" data-testid="search-dictionary">{neighbours}</ol>
                <p>{move || fill(
                    t_string!(i18n, search.opened_summary),
                    &[
                        ("term", &term),
                        ("df", &group(u64::from(df))),
                        ("raw", &group(4 * u64::from(df))),
                        ("bytes", &group(id_bytes as u64)),
                        ("shown", &shown_len(df)),
                    ],
                )}</p>
                <div class="table-scroll" tabindex="0"><table>
                    <thead>
                        <tr>
                            <th scope="col">{t!(i18n, search.opened_id)}</th>
                            <th scope="col">{t!(i18n, search.opened_gap)}</th>
                            <th scope="col">{t!(i18n, search.opened_u32)}</th>
                            <th scope="col">{t!(i18n, search.opened_varint)}</th>
                        </tr>
                    </thead>
                    <tbody>{cells}</tbody>
                </table></div>
            </div>
        }.into_any())
    };

    // The 50 fixed queries, each run once: the median and the slowest.
    let timing = RwSignal::new(None::<(f64, f64)>);
    let time_queries = move |_| {
        let Some(s) = session.get_untracked() else {
            return;
        };
        let bm25 = state.get_untracked().bm25();
        spawn_local(async move {
            let mut ms: Vec<f64> = REFERENCE_QUERIES
                .iter()
                .filter_map(|q| s.0.run(q, bm25).ok().map(|r| r.query_ms()))
                .collect();
            ms.sort_by(f64::total_cmp);
            if let (Some(mid), Some(max)) = (ms.get(ms.len() / 2), ms.last()) {
                let median = if ms.len().is_multiple_of(2) {
                    (ms[ms.len() / 2 - 1] + mid) / 2.0
                } else {
                    *mid
                };
                timing.set(Some((median, *max)));
            }
        });
    };

    view! {
        <section class="widget" data-testid="search-build" aria-labelledby="search-build-title">
            <h2 id="search-build-title">{t!(i18n, search.build_title)}</h2>
            <p>{t!(i18n, search.build_intro)}</p>
            <UrlNotices notices/>
            <IndexStatus progress=signals.progress error=signals.error session/>
            {stats}
            {move || run.get().and_then(|r| r.err()).map(|detail| view! { <QueryError detail/> })}
            {segmentation}
            {lists}
            {opened}
            <p>
                <button type="button" data-testid="search-time-queries"
                    disabled=move || session.with(Option::is_none)
                    on:click=time_queries>
                    {t!(i18n, search.time_button)}
                </button>
            </p>
            {move || timing.get().map(|(median, max)| view! {
                <p class="status" role="status" data-testid="search-timing" data-median-ms=format!("{median:.3}") data-max-ms=format!("{max:.3}")>
                    {move || fill(
                        t_string!(i18n, search.time_result),
                        &[("count", &REFERENCE_QUERIES.len()), ("median", &format!("{median:.2}")), ("max", &format!("{max:.1}"))],
                    )}
                </p>
            })}
        </section>
    }
}

fn shown_len(df: u32) -> usize {
    (df as usize).min(SHOWN_IDS)
}
