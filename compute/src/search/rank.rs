//! BM25 in Lucene's form, exhaustively and with WAND, which skips every
//! document whose best possible score cannot enter the top k.

use std::collections::BTreeMap;

use super::{Index, Postings};
use crate::error::ComputeError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25 {
    pub k1: f64,
    pub b: f64,
}

impl Default for Bm25 {
    /// Lucene's defaults.
    fn default() -> Self {
        Bm25 { k1: 1.2, b: 0.75 }
    }
}

impl Bm25 {
    /// ln(1 + (N − df + 0.5)/(df + 0.5)).
    pub fn idf(n: usize, df: usize) -> f64 {
        let (n, df) = (n as f64, df as f64);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// One term's score in one document: idf · tf·(k1 + 1)/(tf + k1·(1 − b + b·dl/avgdl)).
    pub fn term_score(&self, idf: f64, tf: u32, dl: u32, avgdl: f64) -> f64 {
        let tf = f64::from(tf);
        idf * tf * (self.k1 + 1.0)
            / (tf + self.k1 * (1.0 - self.b + self.b * f64::from(dl) / avgdl))
    }
}

/// A ranked document, with each query term's share of its score (in the
/// query's term order; 0 where the term is absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: u32,
    pub score: f64,
    pub contributions: Vec<f64>,
}

/// Higher scores first; equal scores by smaller id, so every ranking here is
/// one total order and WAND's top k equals the exhaustive one exactly.
fn ranks_before(a: (f64, u32), b: (f64, u32)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

/// A query's terms, decoded, with their idf.
pub struct QueryTerms {
    pub terms: Vec<String>,
    pub lists: Vec<Postings>,
    pub idfs: Vec<f64>,
}

impl QueryTerms {
    /// `terms` without repeats, in order.
    pub fn new(index: &Index, terms: &[String]) -> Result<QueryTerms, ComputeError> {
        let mut unique: Vec<String> = Vec::new();
        for term in terms {
            if !unique.contains(term) {
                unique.push(term.clone());
            }
        }
        let lists = unique
            .iter()
            .map(|t| index.postings(t))
            .collect::<Result<Vec<_>, _>>()?;
        let idfs = lists
            .iter()
            .map(|l| Bm25::idf(index.docs(), l.ids.len()))
            .collect();
        Ok(QueryTerms {
            terms: unique,
            lists,
            idfs,
        })
    }
}

/// Every document holding any query term, scored; the best `k`.
pub fn exhaustive(index: &Index, query: &QueryTerms, bm25: Bm25, k: usize) -> (Vec<Hit>, usize) {
    let avgdl = index.avg_doc_len();
    let mut scores: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for (t, list) in query.lists.iter().enumerate() {
        for (p, &id) in list.ids.iter().enumerate() {
            let dl = index.doc_len(id).unwrap_or(0);
            let share = bm25.term_score(query.idfs[t], list.tfs[p], dl, avgdl);
            scores
                .entry(id)
                .or_insert_with(|| vec![0.0; query.lists.len()])[t] = share;
        }
    }
    let scored = scores.len();
    let mut hits: Vec<Hit> = scores
        .into_iter()
        .map(|(id, contributions)| Hit {
            id,
            score: contributions.iter().sum(),
            contributions,
        })
        .collect();
    sort_hits(&mut hits);
    hits.truncate(k);
    (hits, scored)
}

/// `ids` (ascending, e.g. a Boolean query's matches) scored and ranked
/// best first: the same order and scores as [`exhaustive`] on those ids.
pub fn rank_matches(index: &Index, query: &QueryTerms, bm25: Bm25, ids: &[u32]) -> Vec<Hit> {
    let avgdl = index.avg_doc_len();
    let mut hits: Vec<Hit> = ids
        .iter()
        .map(|&id| {
            let dl = index.doc_len(id).unwrap_or(0);
            let contributions: Vec<f64> = query
                .lists
                .iter()
                .enumerate()
                .map(|(t, list)| {
                    list.ids.binary_search(&id).map_or(0.0, |p| {
                        bm25.term_score(query.idfs[t], list.tfs[p], dl, avgdl)
                    })
                })
                .collect();
            Hit {
                id,
                score: contributions.iter().sum(),
                contributions,
            }
        })
        .collect();
    sort_hits(&mut hits);
    hits
}

fn sort_hits(hits: &mut [Hit]) {
    hits.sort_by(|a, b| {
        if ranks_before((a.score, a.id), (b.score, b.id)) {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        }
    });
}

/// What WAND did: the top k, how many documents it scored fully, and how
/// many documents hold any query term (what exhaustive evaluation scores).
#[derive(Debug, Clone, PartialEq)]
pub struct WandRun {
    pub hits: Vec<Hit>,
    pub scored: usize,
    pub candidates: usize,
}

/// WAND (Broder et al., 2003): each term's upper bound is its best score in
/// any document; cursors sorted by their current document; the pivot is the
/// first cursor at which the bounds so far could beat the k-th best score.
/// Documents before the pivot are skipped unscored.
pub fn wand(index: &Index, query: &QueryTerms, bm25: Bm25, k: usize) -> WandRun {
    if k == 0 {
        return WandRun {
            hits: Vec::new(),
            scored: 0,
            candidates: 0,
        };
    }
    let avgdl = index.avg_doc_len();
    let dl = |id: u32| index.doc_len(id).unwrap_or(0);
    let bounds: Vec<f64> = query
        .lists
        .iter()
        .enumerate()
        .map(|(t, list)| {
            list.ids
                .iter()
                .zip(&list.tfs)
                .map(|(&id, &tf)| bm25.term_score(query.idfs[t], tf, dl(id), avgdl))
                .fold(0.0, f64::max)
        })
        .collect();
    let mut candidates: Vec<u32> = query
        .lists
        .iter()
        .flat_map(|l| l.ids.iter().copied())
        .collect();
    candidates.sort_unstable();
    candidates.dedup();

    // (term, position in its list), for lists not yet exhausted.
    let mut cursors: Vec<(usize, usize)> = (0..query.lists.len())
        .filter(|&t| !query.lists[t].ids.is_empty())
        .map(|t| (t, 0))
        .collect();
    let doc_at = |&(t, p): &(usize, usize)| query.lists[t].ids[p];
    let mut top: Vec<Hit> = Vec::new();
    let mut scored = 0;
    loop {
        cursors.sort_by_key(doc_at);
        let threshold = (top.len() == k).then(|| top[k - 1].score);
        // The pivot: the first cursor where the summed bounds reach the
        // threshold (with a little slack for rounding, so ties are kept).
        let mut bound = 0.0;
        let pivot = cursors.iter().position(|c| {
            bound += bounds[c.0];
            threshold.is_none_or(|th| bound >= th - 1e-9 * th.abs())
        });
        let Some(pivot) = pivot else { break };
        let pivot_doc = doc_at(&cursors[pivot]);
        if doc_at(&cursors[0]) == pivot_doc {
            // Every cursor on the pivot document: score it fully.
            scored += 1;
            let mut contributions = vec![0.0; query.lists.len()];
            for c in cursors.iter_mut().filter(|c| doc_at(c) == pivot_doc) {
                let list = &query.lists[c.0];
                contributions[c.0] =
                    bm25.term_score(query.idfs[c.0], list.tfs[c.1], dl(pivot_doc), avgdl);
                c.1 += 1;
            }
            let hit = Hit {
                id: pivot_doc,
                score: contributions.iter().sum(),
                contributions,
            };
            let place = top
                .iter()
                .position(|h| ranks_before((hit.score, hit.id), (h.score, h.id)))
                .unwrap_or(top.len());
            if place < k {
                top.insert(place, hit);
                top.truncate(k);
            }
        } else {
            // Move the cursors before the pivot up to its document.
            for c in cursors[..pivot].iter_mut() {
                let ids = &query.lists[c.0].ids;
                c.1 += ids[c.1..].partition_point(|&id| id < pivot_doc);
            }
        }
        cursors.retain(|&(t, p)| p < query.lists[t].ids.len());
    }
    WandRun {
        hits: top,
        scored,
        candidates: candidates.len(),
    }
}

/// BM25 straight from the formula, over the documents' own text: for
/// checking the index's scores, not for use.
pub fn direct_score(
    doc_terms: &[String],
    query_terms: &[String],
    doc_freq: impl Fn(&str) -> usize,
    n: usize,
    avgdl: f64,
    bm25: Bm25,
) -> f64 {
    let mut seen: Vec<&String> = Vec::new();
    let mut score = 0.0;
    for term in query_terms {
        if seen.contains(&term) {
            continue;
        }
        seen.push(term);
        let tf = doc_terms.iter().filter(|t| *t == term).count() as f64;
        if tf == 0.0 {
            continue;
        }
        let idf =
            (1.0 + (n as f64 - doc_freq(term) as f64 + 0.5) / (doc_freq(term) as f64 + 0.5)).ln();
        let dl = doc_terms.len() as f64;
        score += idf * tf * (bm25.k1 + 1.0) / (tf + bm25.k1 * (1.0 - bm25.b + bm25.b * dl / avgdl));
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{segment, Doc, ScriptFold, Segmentation};

    fn index() -> (Vec<Doc>, Index) {
        let fold = ScriptFold::default();
        let lines = [
            "床前明月光疑是地上霜",
            "明月松間照清泉石上流",
            "海上生明月天涯共此時",
            "明月何時照我還",
            "春眠不覺曉處處聞啼鳥",
            "月落烏啼霜滿天",
            "明月明月明月",
            "山中相送罷日暮掩柴扉",
        ];
        let docs: Vec<Doc> = lines
            .iter()
            .enumerate()
            .map(|(k, text)| Doc::new(10 * k as u32 + 1, "", "", text, &fold))
            .collect();
        let index = Index::build(&docs, Segmentation::Bigrams).unwrap();
        (docs, index)
    }

    #[test]
    fn idf_is_lucenes() {
        // N = 10, df = 1: ln(1 + 9.5/1.5).
        assert!((Bm25::idf(10, 1) - (1.0f64 + 9.5 / 1.5).ln()).abs() < 1e-15);
        assert!(Bm25::idf(10, 10) > 0.0);
    }

    #[test]
    fn scores_equal_the_formula_and_wand_equals_exhaustive() {
        let (docs, index) = index();
        let bm25 = Bm25::default();
        let query: Vec<String> = ["明月", "月光", "上流", "啼霜", "不在"]
            .map(String::from)
            .to_vec();
        let terms = QueryTerms::new(&index, &query).unwrap();
        let (all, scored) = exhaustive(&index, &terms, bm25, 100);
        assert_eq!(scored, all.len());
        let seg = |d: &Doc| -> Vec<String> {
            segment(&d.text, Segmentation::Bigrams)
                .into_iter()
                .map(|t| t.text)
                .collect()
        };
        let df = |term: &str| {
            docs.iter()
                .filter(|d| seg(d).iter().any(|t| t == term))
                .count()
        };
        for hit in &all {
            let doc = docs.iter().find(|d| d.id == hit.id).unwrap();
            let direct = direct_score(&seg(doc), &query, df, docs.len(), index.avg_doc_len(), bm25);
            assert!((hit.score - direct).abs() < 1e-12, "{} {direct}", hit.score);
        }
        let ids: Vec<u32> = {
            let mut ids: Vec<u32> = all.iter().map(|h| h.id).collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(rank_matches(&index, &terms, bm25, &ids), all);
        for k in 1..=4 {
            let run = wand(&index, &terms, bm25, k);
            assert_eq!(run.hits, all[..k.min(all.len())].to_vec());
            assert!(run.scored <= run.candidates);
        }
    }
}
