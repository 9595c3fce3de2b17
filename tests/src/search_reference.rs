//! Chapter 6's BM25 against tantivy's, over the shipped corpus: tantivy is
//! given our terms (space-separated, for its whitespace tokenizer) and ranks
//! with its own BM25, which quantises document lengths to a byte, so the top
//! 10s may differ a little.

use std::{collections::HashMap, path::PathBuf};

use compute::{
    search::{
        rank::{exhaustive, Bm25, QueryTerms},
        segment, Doc, Index, ScriptFold, Segmentation, REFERENCE_QUERIES,
    },
    tang::{decode_corpus, CORPUS_PATH},
};
use tantivy::{
    collector::TopDocs,
    query::{BooleanQuery, Occur, Query, TermQuery},
    schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, STORED},
    Index as TantivyIndex, IndexWriter, TantivyDocument, Term,
};

fn terms(text: &str) -> Vec<String> {
    segment(text, Segmentation::Bigrams)
        .into_iter()
        .map(|t| t.text)
        .collect()
}

#[test]
fn tantivy_ranks_nearly_the_same_top_10() {
    let assets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let table = std::fs::read_to_string(assets.join("tokenizer/opencc-st-characters.txt")).unwrap();
    let fold = ScriptFold::from_opencc(&table);
    let poems = decode_corpus(&std::fs::read(assets.join(CORPUS_PATH)).unwrap()).unwrap();
    let docs: Vec<Doc> = poems
        .iter()
        .map(|p| Doc::new(p.j as u32, &p.title, &p.author, &p.text, &fold))
        .collect();
    let ours = Index::build(&docs, Segmentation::Bigrams).unwrap();

    let mut schema = Schema::builder();
    let text = schema.add_text_field(
        "terms",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("whitespace")
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    let id = schema.add_u64_field("id", FAST | STORED);
    let index = TantivyIndex::create_in_ram(schema.build());
    let mut writer: IndexWriter<TantivyDocument> =
        index.writer_with_num_threads(1, 50_000_000).unwrap();
    for doc in &docs {
        let mut d = TantivyDocument::default();
        d.add_text(text, terms(&doc.text).join(" "));
        d.add_u64(id, u64::from(doc.id));
        writer.add_document(d).unwrap();
    }
    writer.commit().unwrap();
    let searcher = index.reader().unwrap().searcher();

    let mut overlap = 0usize;
    let mut worst_gap = 0f64;
    for query in REFERENCE_QUERIES {
        let q = QueryTerms::new(&ours, &terms(&fold.text(query))).unwrap();
        let (top, _) = exhaustive(&ours, &q, Bm25::default(), 10);
        let clauses: Vec<(Occur, Box<dyn Query>)> = q
            .terms
            .iter()
            .map(|t| {
                let term = Term::from_field_text(text, t);
                let query: Box<dyn Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, query)
            })
            .collect();
        let found = searcher
            .search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(10).order_by_score(),
            )
            .unwrap();
        let theirs: HashMap<u32, f32> = found
            .iter()
            .map(|(score, address)| {
                let doc: TantivyDocument = searcher.doc(*address).unwrap();
                let j = doc.get_first(id).and_then(|v| v.as_u64()).unwrap();
                (j as u32, *score)
            })
            .collect();
        overlap += top.iter().filter(|h| theirs.contains_key(&h.id)).count();
        for hit in &top {
            if let Some(&score) = theirs.get(&hit.id) {
                worst_gap = worst_gap.max((f64::from(score) - hit.score).abs() / hit.score);
            }
        }
    }
    let mean = overlap as f64 / REFERENCE_QUERIES.len() as f64;
    println!(
        "tantivy's top 10 shares {mean:.2} of ours on average; shared documents' scores differ by at most {:.2}%",
        100.0 * worst_gap
    );
    assert!(mean >= 9.0, "{mean}");
}
