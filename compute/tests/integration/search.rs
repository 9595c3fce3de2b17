//! Chapter 6's index over the shipped corpus: the compact corpus decodes to
//! the training TSV's poems, every posting list round-trips, Boolean and
//! phrase queries equal a scan of the text, WAND's top 10 equals exhaustive
//! BM25 (and both equal the formula), and either script finds the same
//! poems. tantivy's ranking is compared in the tests crate
//! (`tests/src/search_reference.rs`).

use std::path::PathBuf;

use compute::{
    search::{
        query::{intersect_gallop, intersect_merge, BooleanQuery},
        rank::{direct_score, exhaustive, wand, Bm25, QueryTerms},
        segment, Doc, Index, ScriptFold, Segmentation, REFERENCE_QUERIES,
    },
    tang::{decode_corpus, parse_corpus, SimplifiedToTraditional, CORPUS_PATH},
};

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

struct Corpus {
    fold: ScriptFold,
    s2t: SimplifiedToTraditional,
    docs: Vec<Doc>,
    index: Index,
}

fn corpus() -> &'static Corpus {
    static CORPUS: std::sync::OnceLock<Corpus> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        let table =
            std::fs::read_to_string(assets().join("tokenizer/opencc-st-characters.txt")).unwrap();
        let fold = ScriptFold::from_opencc(&table);
        let poems = decode_corpus(&std::fs::read(assets().join(CORPUS_PATH)).unwrap()).unwrap();
        let docs: Vec<Doc> = poems
            .iter()
            .map(|p| Doc::new(p.j as u32, &p.title, &p.author, &p.text, &fold))
            .collect();
        let index = Index::build(&docs, Segmentation::Bigrams).unwrap();
        Corpus {
            fold,
            s2t: SimplifiedToTraditional::parse(&table),
            docs,
            index,
        }
    })
}

fn query_terms(query: &str, fold: &ScriptFold) -> Vec<String> {
    segment(&fold.text(query), Segmentation::Bigrams)
        .into_iter()
        .map(|t| t.text)
        .collect()
}

#[test]
fn the_shipped_corpus_is_the_training_tsv_compacted() {
    let tsv = std::fs::read_to_string(assets().join("data/tang/poems.tsv")).unwrap();
    let poems = parse_corpus(&tsv).unwrap();
    let bytes = std::fs::read(assets().join(CORPUS_PATH)).unwrap();
    assert_eq!(decode_corpus(&bytes).unwrap(), poems);
    assert_eq!(poems.len(), 36_772);
    assert!(decode_corpus(&bytes[..bytes.len() - 1]).is_err());
    assert!(decode_corpus(b"not a corpus").is_err());
}

#[test]
fn every_posting_list_round_trips() {
    let c = corpus();
    let mut postings = 0u64;
    for list in &c.index.lists {
        let decoded = list.decode().unwrap();
        assert_eq!(decoded.ids.len(), list.df as usize);
        assert!(decoded.ids.windows(2).all(|w| w[0] < w[1]));
        postings += u64::from(list.df);
    }
    let bytes = c.index.bytes();
    assert_eq!(bytes.postings, postings);
    println!(
        "{} terms, {} postings, {} positions; {} bytes raw, {} as delta + varint (ids alone {} → {})",
        c.index.terms.len(),
        bytes.postings,
        bytes.positions,
        bytes.raw,
        bytes.compressed,
        bytes.raw_ids,
        bytes.compressed_ids
    );
    assert!(bytes.compressed * 2 < bytes.raw);
}

#[test]
fn boolean_and_phrase_queries_equal_a_scan() {
    let c = corpus();
    let texts: Vec<(u32, &str)> = c.docs.iter().map(|d| (d.id, d.text.as_str())).collect();
    let mut checked = 0;
    for (k, words) in REFERENCE_QUERIES.iter().enumerate() {
        // Each query as typed (AND), and as OR, NOT and phrase variants.
        let first = words.split(' ').next().unwrap();
        let variants = [
            words.to_string(),
            format!("\"{first}\""),
            format!(
                "{} OR {first}",
                REFERENCE_QUERIES[(k + 7) % 50].split(' ').next().unwrap()
            ),
            format!("{first} NOT {}", REFERENCE_QUERIES[(k + 3) % 30]),
        ];
        for query in variants {
            let parsed = BooleanQuery::parse(&query, &c.fold).unwrap();
            let found = parsed.run(&c.index).unwrap();
            let scanned = parsed.scan(texts.iter().copied(), Segmentation::Bigrams);
            assert_eq!(found, scanned, "{query}");
            checked += 1;
        }
    }
    assert_eq!(checked, 200);
    let moon = BooleanQuery::parse("明月", &c.fold)
        .unwrap()
        .run(&c.index)
        .unwrap();
    // 明月 is in 551 of the 36,772 poems.
    assert!(moon.len() > 500, "{}", moon.len());
}

#[test]
fn either_script_finds_the_same_poems() {
    let c = corpus();
    for query in REFERENCE_QUERIES {
        let traditional: String = query
            .chars()
            .map(|ch| c.s2t.first(ch).unwrap_or(ch))
            .collect();
        let a = BooleanQuery::parse(query, &c.fold)
            .unwrap()
            .run(&c.index)
            .unwrap();
        let b = BooleanQuery::parse(&traditional, &c.fold)
            .unwrap()
            .run(&c.index)
            .unwrap();
        assert_eq!(a, b, "{query} / {traditional}");
    }
}

#[test]
fn wand_equals_exhaustive_bm25_and_the_formula() {
    let c = corpus();
    let bm25 = Bm25::default();
    let (mut scored, mut candidates) = (0, 0);
    for query in REFERENCE_QUERIES {
        let terms = query_terms(query, &c.fold);
        let q = QueryTerms::new(&c.index, &terms).unwrap();
        let (all, _) = exhaustive(&c.index, &q, bm25, 10);
        let run = wand(&c.index, &q, bm25, 10);
        assert_eq!(run.hits, all, "{query}");
        scored += run.scored;
        candidates += run.candidates;
        for hit in &all[..all.len().min(3)] {
            let doc = c.docs.iter().find(|d| d.id == hit.id).unwrap();
            let doc_terms: Vec<String> = segment(&doc.text, Segmentation::Bigrams)
                .into_iter()
                .map(|t| t.text)
                .collect();
            let df = |t: &str| c.index.list(t).map_or(0, |l| l.df as usize);
            let direct = direct_score(
                &doc_terms,
                &terms,
                df,
                c.index.docs(),
                c.index.avg_doc_len(),
                bm25,
            );
            assert!(
                (hit.score - direct).abs() <= 1e-9 * direct,
                "{query}: {} {direct}",
                hit.score
            );
        }
    }
    println!(
        "WAND scored {scored} of {candidates} candidate documents ({:.1}%)",
        100.0 * scored as f64 / candidates as f64
    );
    assert!(scored < candidates);
}

#[test]
fn galloping_equals_merging_on_real_lists() {
    let c = corpus();
    // The index holds folded (simplified) terms: 故鄉 is 故乡.
    let a = c.index.postings("明月").unwrap().ids;
    let b = c.index.postings(&c.fold.text("故鄉")).unwrap().ids;
    let merge = intersect_merge(&a, &b);
    let gallop = intersect_gallop(&a, &b);
    assert_eq!(merge.ids, gallop.ids);
    assert!(!merge.ids.is_empty());
    println!(
        "明月 ∩ 故鄉: {} of {} and {}; merge {} comparisons, galloping {}",
        merge.ids.len(),
        a.len(),
        b.len(),
        merge.comparisons,
        gallop.comparisons
    );
    assert!(gallop.comparisons < merge.comparisons);
}

/// The pipeline's popularity priors: one per shipped poem, in [0, 1], with
/// the most-found poem at 1.
#[test]
fn the_popularity_file_has_one_prior_per_poem() {
    use compute::tang::{decode_popularity, POPULARITY_PATH};
    let corpus = corpus();
    let bytes = std::fs::read(assets().join(POPULARITY_PATH)).unwrap();
    let priors = decode_popularity(&bytes, corpus.docs.len()).unwrap();
    assert!(priors.iter().all(|p| (0.0..=1.0).contains(p)));
    assert_eq!(priors.iter().copied().fold(0.0, f32::max), 1.0);
    assert!(decode_popularity(&bytes, corpus.docs.len() + 1).is_err());
}
