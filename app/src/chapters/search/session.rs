//! Chapter 6's index in the browser: the compact corpus, OpenCC's table and
//! the popularity priors, downloaded once per page (with progress), then
//! the inverted index built a slice of poems at a time, so the page keeps
//! drawing. Chapter 4's memorisation check shares the same session.

use std::{cell::RefCell, collections::HashSet, sync::Arc};

use compute::{
    search::{
        corpus_docs,
        query::BooleanQuery,
        rank::{exhaustive, rank_matches, wand, Bm25, Hit, QueryTerms, WandRun},
        Index, IndexBuilder, ScriptFold, Segmentation,
    },
    tang::{decode_corpus, decode_popularity, Poem, CORPUS_PATH, POPULARITY_PATH},
    ComputeError,
};

use crate::{
    chapters::{
        autoregressive::session::ModelLoadError, detr::session::now_ms, llama::session::S2T_PATH,
    },
    shell::{
        assets::{fetch_asset, manifest},
        in_flight::InFlight,
    },
};

/// Poems indexed between two yields to the page.
const SLICE: usize = 1_500;

/// Where the session is: downloading (bytes so far, of total) or indexing
/// (poems so far, of total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchProgress {
    Download(u64, u64),
    Index(usize, usize),
}

pub struct SearchSession {
    /// In increasing j; a poem's id in the index is its j.
    pub poems: Vec<Poem>,
    pub fold: ScriptFold,
    pub index: Index,
    /// One prior in [0, 1] per poem, in `poems`' order.
    pub popularity: Vec<f32>,
    /// The build alone: segmenting, posting and compressing (ms).
    pub build_ms: f64,
    /// Distinct single characters: the dictionary's size were every
    /// character a term.
    pub char_terms: usize,
    /// Each poem's folded text, as indexed (for the scans that compare
    /// segmentations).
    pub texts: Vec<String>,
}

/// A query's answer and what each stage took.
pub struct SearchRun {
    pub query: BooleanQuery,
    /// The terms ranking scores: the positive clauses' bigrams.
    pub terms: QueryTerms,
    /// The Boolean query's matches, ascending: recall.
    pub matches: Vec<u32>,
    /// Every match scored by BM25, best first: the coarse ranking.
    pub ranked: Vec<Hit>,
    /// WAND's top 10 over the documents holding any of the terms, and
    /// exhaustive BM25's on the same documents.
    pub wand: WandRun,
    pub exhaustive: Vec<Hit>,
    pub parse_ms: f64,
    pub recall_ms: f64,
    pub rank_ms: f64,
    pub wand_ms: f64,
    pub exhaustive_ms: f64,
}

impl SearchRun {
    /// Understanding, recall and ranking: what a visitor waits for.
    pub fn query_ms(&self) -> f64 {
        self.parse_ms + self.recall_ms + self.rank_ms
    }

    /// WAND's top 10 is exhaustive evaluation's.
    pub fn wand_agrees(&self) -> bool {
        self.wand.hits == self.exhaustive
    }
}

/// How many results a page lists, and how many WAND keeps.
pub const TOP_K: usize = 10;

impl SearchSession {
    /// The poem with id `id`, and its place in `poems`.
    pub fn poem(&self, id: u32) -> Option<(usize, &Poem)> {
        let k = self
            .poems
            .binary_search_by_key(&(id as usize), |p| p.j)
            .ok()?;
        Some((k, &self.poems[k]))
    }

    /// Parses, recalls and ranks `query`; the error is the parser's, in
    /// English.
    pub fn run(&self, query: &str, bm25: Bm25) -> Result<SearchRun, ComputeError> {
        let t0 = now_ms();
        let parsed = BooleanQuery::parse(query, &self.fold)?;
        let terms = QueryTerms::new(&self.index, &parsed.positive_terms(Segmentation::Bigrams))?;
        let t1 = now_ms();
        let matches = parsed.run(&self.index)?;
        let t2 = now_ms();
        let ranked = rank_matches(&self.index, &terms, bm25, &matches);
        let t3 = now_ms();
        let wand = wand(&self.index, &terms, bm25, TOP_K);
        let t4 = now_ms();
        let (exhaustive, _) = exhaustive(&self.index, &terms, bm25, TOP_K);
        let t5 = now_ms();
        Ok(SearchRun {
            query: parsed,
            terms,
            matches,
            ranked,
            wand,
            exhaustive,
            parse_ms: t1 - t0,
            recall_ms: t2 - t1,
            rank_ms: t3 - t2,
            wand_ms: t4 - t3,
            exhaustive_ms: t5 - t4,
        })
    }

    /// How many poems match `query` when every character is a term (a
    /// scan of the text): what single characters do to recall.
    pub fn char_matches(&self, query: &BooleanQuery) -> usize {
        query
            .scan(
                self.poems
                    .iter()
                    .zip(&self.texts)
                    .map(|(p, t)| (p.j as u32, t.as_str())),
                Segmentation::Chars,
            )
            .len()
    }

    /// A poem as the index saw it, unfolded: title, author and text apart
    /// by newlines.
    pub fn doc_text(poem: &Poem) -> String {
        format!("{}\n{}\n{}", poem.title, poem.author, poem.text)
    }
}

/// A caller's progress report.
type Watcher = Box<dyn FnMut(SearchProgress)>;

thread_local! {
    static SESSION: RefCell<Option<Arc<SearchSession>>> = const { RefCell::new(None) };
    static LOADING: InFlight<()> = InFlight::new();
    /// Callers waiting on a build another started: they see its progress.
    static WATCHERS: RefCell<Vec<Watcher>> = const { RefCell::new(Vec::new()) };
    /// The latest query's run, which every widget on the page shows.
    static LAST_RUN: RefCell<Option<(String, Bm25, Arc<SearchRun>)>> = const { RefCell::new(None) };
}

/// `session.run(query, bm25)`, run once however many widgets ask for it.
pub fn shared_run(
    session: &SearchSession,
    query: &str,
    bm25: Bm25,
) -> Result<Arc<SearchRun>, ComputeError> {
    let cached = LAST_RUN.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(q, b, _)| q == query && *b == bm25)
            .map(|(_, _, run)| run.clone())
    });
    if let Some(run) = cached {
        return Ok(run);
    }
    let run = Arc::new(session.run(query, bm25)?);
    LAST_RUN.with(|last| *last.borrow_mut() = Some((query.to_string(), bm25, run.clone())));
    Ok(run)
}

/// The index, building it if this page has not yet; widgets ask at once, it
/// is built once, and every caller hears how far it got.
pub async fn search_session(
    on_progress: impl FnMut(SearchProgress) + 'static,
) -> Result<Arc<SearchSession>, ModelLoadError> {
    session_with(Box::new(on_progress)).await
}

/// Not generic: it may call itself (after a failed build).
async fn session_with(mut on_progress: Watcher) -> Result<Arc<SearchSession>, ModelLoadError> {
    if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    if let Some(rx) = LOADING.with(|l| l.join(())) {
        WATCHERS.with(|w| w.borrow_mut().push(on_progress));
        let _ = rx.await;
        if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
        // The build failed: try again, leading this time.
        return Box::pin(session_with(Box::new(|_| {}))).await;
    }
    let built = build(move |p| {
        on_progress(p);
        WATCHERS.with(|w| w.borrow_mut().iter_mut().for_each(|f| f(p)));
    })
    .await;
    if let Ok(s) = &built {
        SESSION.with(|slot| *slot.borrow_mut() = Some(s.clone()));
    }
    WATCHERS.with(|w| w.borrow_mut().clear());
    LOADING.with(|l| l.finish(&()));
    built
}

fn unusable(source: ComputeError) -> ModelLoadError {
    ModelLoadError::Weights {
        model: "Tang corpus",
        source,
    }
}

async fn build(
    mut on_progress: impl FnMut(SearchProgress),
) -> Result<Arc<SearchSession>, ModelLoadError> {
    let m = manifest().await?;
    let table = fetch_asset(S2T_PATH, &m, |_, _| {}).await?;
    let fold = ScriptFold::from_opencc(&String::from_utf8_lossy(&table));
    let corpus = fetch_asset(CORPUS_PATH, &m, |l, t| {
        on_progress(SearchProgress::Download(l, t))
    })
    .await?;
    let poems = decode_corpus(&corpus).map_err(unusable)?;
    let popularity = decode_popularity(
        &fetch_asset(POPULARITY_PATH, &m, |_, _| {}).await?,
        poems.len(),
    )
    .map_err(unusable)?;

    let total = poems.len();
    on_progress(SearchProgress::Index(0, total));
    let mut builder = IndexBuilder::new(Segmentation::Bigrams);
    let mut chars: HashSet<char> = HashSet::new();
    let mut texts = Vec::with_capacity(total);
    let mut build_ms = 0.0;
    for (k, slice) in poems.chunks(SLICE).enumerate() {
        let start = now_ms();
        for doc in corpus_docs(slice, &fold) {
            chars.extend(
                doc.text
                    .chars()
                    .filter(|&c| compute::search::terms::is_han(c)),
            );
            builder.add(&doc).map_err(unusable)?;
            texts.push(doc.text);
        }
        build_ms += now_ms() - start;
        on_progress(SearchProgress::Index(
            (k * SLICE + slice.len()).min(total),
            total,
        ));
        // Let the page draw the progress bar and answer input.
        gloo_timers::future::TimeoutFuture::new(0).await;
    }
    let start = now_ms();
    let index = builder.finish();
    build_ms += now_ms() - start;
    Ok(Arc::new(SearchSession {
        poems,
        fold,
        index,
        popularity,
        build_ms,
        char_terms: chars.len(),
        texts,
    }))
}
