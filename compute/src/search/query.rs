//! Boolean and phrase queries over the index, a brute-force scan that
//! checks them, and posting-list intersection counted step by step.
//!
//! Syntax: words apart by spaces are ANDed; `OR` between two words makes
//! either do; `NOT word` (or `-word`) excludes; `"…"` is a phrase, whose
//! terms must sit at consecutive positions. A word matches a document that
//! holds all of its terms.

use std::cmp::Ordering;

use super::{segment, Index, Postings, ScriptFold, Segmentation};
use crate::error::ComputeError;

/// One clause: a word (its terms, anywhere) or a phrase (its terms in a row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The clause's text, folded.
    pub text: String,
    pub phrase: bool,
    pub negated: bool,
}

/// Clauses ANDed, each a group of alternatives joined by OR.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BooleanQuery {
    pub groups: Vec<Vec<Clause>>,
}

impl BooleanQuery {
    pub fn parse(query: &str, fold: &ScriptFold) -> Result<BooleanQuery, ComputeError> {
        let mut words: Vec<(String, bool)> = Vec::new();
        let mut rest = query.trim();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('"') {
                let end = after
                    .find('"')
                    .ok_or_else(|| ComputeError::Cpu("a phrase has no closing quote".into()))?;
                words.push((after[..end].to_string(), true));
                rest = after[end + 1..].trim_start();
            } else {
                let end = rest.find([' ', '"']).unwrap_or(rest.len());
                words.push((rest[..end].to_string(), false));
                rest = rest[end..].trim_start();
            }
        }
        let mut query = BooleanQuery::default();
        let mut join_or = false;
        let mut negate = false;
        for (word, phrase) in words {
            if !phrase && word == "OR" {
                if query.groups.is_empty() || join_or {
                    return Err(ComputeError::Cpu("OR needs a word on each side".into()));
                }
                join_or = true;
                continue;
            }
            if !phrase && word == "NOT" {
                negate = true;
                continue;
            }
            let (word, minus) = match word.strip_prefix('-') {
                Some(w) if !phrase => (w.to_string(), true),
                _ => (word, false),
            };
            let clause = Clause {
                text: fold.text(&word),
                phrase,
                negated: negate || minus,
            };
            if segment(&clause.text, Segmentation::Chars).is_empty() {
                return Err(ComputeError::Cpu(format!(
                    "“{word}” has no Chinese characters"
                )));
            }
            negate = false;
            if join_or {
                if clause.negated
                    || query
                        .groups
                        .last()
                        .is_some_and(|g| g.iter().any(|c| c.negated))
                {
                    return Err(ComputeError::Cpu("NOT cannot be one side of an OR".into()));
                }
                query.groups.last_mut().unwrap().push(clause);
                join_or = false;
            } else {
                query.groups.push(vec![clause]);
            }
        }
        if join_or || negate {
            return Err(ComputeError::Cpu("the query ends with an operator".into()));
        }
        if query.groups.iter().all(|g| g[0].negated) {
            return Err(ComputeError::Cpu(
                "a query needs a word that is not negated".into(),
            ));
        }
        Ok(query)
    }

    /// The terms of the clauses that are not negated, each once, in order:
    /// what ranking scores.
    pub fn positive_terms(&self, segmentation: Segmentation) -> Vec<String> {
        let mut terms: Vec<String> = Vec::new();
        for clause in self.groups.iter().flatten().filter(|c| !c.negated) {
            for term in segment(&clause.text, segmentation) {
                if !terms.contains(&term.text) {
                    terms.push(term.text);
                }
            }
        }
        terms
    }

    /// The matching document ids, ascending.
    pub fn run(&self, index: &Index) -> Result<Vec<u32>, ComputeError> {
        let mut result: Option<Vec<u32>> = None;
        let mut excluded: Vec<u32> = Vec::new();
        for group in &self.groups {
            let mut either: Vec<u32> = Vec::new();
            for clause in group {
                either = union(&either, &clause_docs(index, clause)?);
            }
            if group[0].negated {
                excluded = union(&excluded, &either);
            } else {
                result = Some(match result {
                    None => either,
                    Some(so_far) => intersect_gallop(&so_far, &either).ids,
                });
            }
        }
        let result = result.unwrap_or_default();
        Ok(result
            .into_iter()
            .filter(|id| excluded.binary_search(id).is_err())
            .collect())
    }

    /// The same answer by reading every document's text, for checking.
    pub fn scan<'a>(
        &self,
        docs: impl IntoIterator<Item = (u32, &'a str)>,
        segmentation: Segmentation,
    ) -> Vec<u32> {
        docs.into_iter()
            .filter(|(_, text)| {
                self.groups.iter().all(|group| {
                    let any = group.iter().any(|c| scan_clause(text, c, segmentation));
                    any != group[0].negated
                })
            })
            .map(|(id, _)| id)
            .collect()
    }
}

/// The terms of a clause, each with its offset from the clause's first term.
fn clause_terms(clause: &Clause, segmentation: Segmentation) -> Vec<(String, u32)> {
    let terms = segment(&clause.text, segmentation);
    let first = terms.first().map_or(0, |t| t.position);
    terms
        .into_iter()
        .map(|t| (t.text, t.position - first))
        .collect()
}

fn clause_docs(index: &Index, clause: &Clause) -> Result<Vec<u32>, ComputeError> {
    let terms = clause_terms(clause, index.segmentation);
    let lists: Vec<Postings> = terms
        .iter()
        .map(|(t, _)| index.postings(t))
        .collect::<Result<_, _>>()?;
    let mut ids = lists[0].ids.clone();
    for list in &lists[1..] {
        ids = intersect_gallop(&ids, &list.ids).ids;
    }
    if !clause.phrase {
        return Ok(ids);
    }
    // A phrase also needs its terms at positions p + offset.
    Ok(ids
        .into_iter()
        .filter(|&id| {
            let at = |k: usize| {
                let list = &lists[k];
                let slot = list.ids.binary_search(&id).expect("intersected");
                list.positions_of(slot)
            };
            at(0).iter().any(|&p| {
                terms
                    .iter()
                    .enumerate()
                    .skip(1)
                    .all(|(k, (_, offset))| at(k).binary_search(&(p + offset)).is_ok())
            })
        })
        .collect())
}

/// Whether a document's folded text matches one clause, by reading it: a
/// bigram is two characters side by side in the text; a lone character (or
/// any character, when segmenting by characters) is a run of its own (or
/// anywhere).
fn scan_clause(text: &str, clause: &Clause, segmentation: Segmentation) -> bool {
    if clause.phrase {
        // Within one run the characters are contiguous, which is what
        // consecutive terms mean.
        let runs = super::terms::runs(&clause.text);
        return runs.len() == 1 && text.contains(runs[0].as_str());
    }
    clause_terms(clause, segmentation).iter().all(|(term, _)| {
        if segmentation == Segmentation::Chars || term.chars().count() == 2 {
            text.contains(term.as_str())
        } else {
            text.split(|c: char| !super::terms::is_han(c))
                .any(|run| run == term)
        }
    })
}

fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = a.iter().chain(b).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// One comparison of an intersection, for drawing: the two cursors, what
/// the comparison found, and for galloping's binary search the part of the
/// searched list still in question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub a: usize,
    pub b: usize,
    pub outcome: Outcome,
    /// The searched list's range (its own indices, end excluded) that can
    /// still hold the wanted id after this comparison, while galloping
    /// narrows it; `None` outside a search.
    pub window: Option<(usize, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Both lists hold the document.
    Match,
    /// The merge: the `a` document is smaller, `a` moves on.
    AdvanceA,
    /// The merge: the `b` document is smaller, `b` moves on.
    AdvanceB,
    /// Galloping: the searched list's id is smaller, so its cursor jumps
    /// twice as far as last time.
    Jump,
    /// Galloping: the searched list's id is larger, so the wanted id lies
    /// within the last jump, where a binary search looks for it.
    Passed,
    /// Binary search: the probed id is smaller; the upper half remains.
    Above,
    /// Binary search: the probed id is larger; the lower half remains.
    Below,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Intersection {
    pub ids: Vec<u32>,
    /// Three-way comparisons of two ids; each is one of `steps`.
    pub comparisons: usize,
    pub steps: Vec<Step>,
    /// Galloping searches the longer list (`b` when the lengths tie) for
    /// each id of the other; false for the merge and when `a` is searched.
    pub searches_b: bool,
}

/// The plain merge: one comparison per step, each moving a cursor.
pub fn intersect_merge(a: &[u32], b: &[u32]) -> Intersection {
    let mut out = Intersection::default();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        out.comparisons += 1;
        let outcome = match a[i].cmp(&b[j]) {
            Ordering::Equal => Outcome::Match,
            Ordering::Less => Outcome::AdvanceA,
            Ordering::Greater => Outcome::AdvanceB,
        };
        out.steps.push(Step {
            a: i,
            b: j,
            outcome,
            window: None,
        });
        match outcome {
            Outcome::Match => {
                out.ids.push(a[i]);
                i += 1;
                j += 1;
            }
            Outcome::AdvanceA => i += 1,
            _ => j += 1,
        }
    }
    out
}

/// Galloping: for each id of the shorter list, the longer list's cursor
/// probes 1, 2, 4, … places ahead until an id is not smaller, then a binary
/// search looks within the last jump. Every comparison is counted and
/// recorded as a step, so the step-through and the count agree.
pub fn intersect_gallop(a: &[u32], b: &[u32]) -> Intersection {
    let searches_b = a.len() <= b.len();
    let (short, long) = if searches_b { (a, b) } else { (b, a) };
    let mut out = Intersection {
        searches_b,
        ..Intersection::default()
    };
    // One counted comparison of short[i] with long[at], as a step whose
    // outcome the caller fills in.
    let compare = |i: usize, at: usize, out: &mut Intersection| {
        out.comparisons += 1;
        let (a, b) = if searches_b { (i, at) } else { (at, i) };
        let step = Step {
            a,
            b,
            outcome: Outcome::Match,
            window: None,
        };
        (long[at].cmp(&short[i]), step)
    };
    let mut j = 0;
    for (i, &want) in short.iter().enumerate() {
        if j >= long.len() {
            break;
        }
        // Gallop from the cursor until a probe is not smaller than `want`;
        // `lo..hi` is then the range that can still hold it.
        let (mut lo, mut probe, mut jump) = (j, j, 1);
        let mut hi = long.len();
        let mut found = None;
        loop {
            let (order, mut step) = compare(i, probe, &mut out);
            match order {
                Ordering::Equal => {
                    step.outcome = Outcome::Match;
                    found = Some(probe);
                }
                Ordering::Greater => {
                    hi = probe;
                    step.outcome = Outcome::Passed;
                    step.window = Some((lo, hi));
                }
                Ordering::Less => {
                    lo = probe + 1;
                    probe += jump;
                    jump *= 2;
                    step.outcome = Outcome::Jump;
                    if probe >= long.len() {
                        // Past the end: the rest of the list is the range.
                        step.window = Some((lo, hi));
                    }
                }
            }
            out.steps.push(step);
            if order != Ordering::Less || probe >= long.len() {
                break;
            }
        }
        // Binary search in lo..hi for `want`, unless the gallop landed on it.
        while found.is_none() && lo < hi {
            let mid = (lo + hi) / 2;
            let (order, mut step) = compare(i, mid, &mut out);
            step.outcome = match order {
                Ordering::Equal => {
                    found = Some(mid);
                    Outcome::Match
                }
                Ordering::Less => {
                    lo = mid + 1;
                    Outcome::Above
                }
                Ordering::Greater => {
                    hi = mid;
                    Outcome::Below
                }
            };
            if step.outcome != Outcome::Match {
                step.window = Some((lo, hi));
            }
            out.steps.push(step);
        }
        j = match found {
            Some(at) => {
                out.ids.push(want);
                at + 1
            }
            // Not in the list: `lo` is the first id larger than `want`.
            None => lo,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Doc;

    fn corpus() -> (Vec<Doc>, Index) {
        let fold = ScriptFold::from_opencc("发\t發 髮\n头\t頭\n");
        let poems = [
            (
                "靜夜思",
                "李白",
                "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。",
            ),
            ("月夜", "杜甫", "今夜鄜州月，閨中只獨看。"),
            ("山居秋暝", "王維", "明月松間照，清泉石上流。"),
            ("春望", "杜甫", "白頭搔更短，渾欲不勝簪。"),
            ("秋浦歌", "李白", "白髮三千丈，緣愁似箇長。"),
        ];
        let docs: Vec<Doc> = poems
            .iter()
            .enumerate()
            .map(|(k, (title, author, text))| Doc::new(k as u32 * 2, title, author, text, &fold))
            .collect();
        let index = Index::build(&docs, Segmentation::Bigrams).unwrap();
        (docs, index)
    }

    #[test]
    fn boolean_and_phrase_queries_equal_a_scan() {
        let (docs, index) = corpus();
        let fold = ScriptFold::from_opencc("发\t發 髮\n头\t頭\n");
        for (query, expected) in [
            ("明月", vec![0, 4]),
            ("明月 李白", vec![0]),
            ("明月 OR 白发", vec![0, 4, 8]),
            ("杜甫 NOT 白头", vec![2]),
            ("杜甫 -白頭", vec![2]),
            ("\"明月光\"", vec![0]),
            ("\"月光明\"", vec![]),
            ("明月光", vec![0]),
        ] {
            let parsed = BooleanQuery::parse(query, &fold).unwrap();
            let found = parsed.run(&index).unwrap();
            assert_eq!(found, expected, "{query}");
            let scanned = parsed.scan(
                docs.iter().map(|d| (d.id, d.text.as_str())),
                Segmentation::Bigrams,
            );
            assert_eq!(scanned, expected, "{query} (scan)");
        }
        for bad in [
            "OR 明月",
            "明月 OR",
            "NOT 明月",
            "\"明月",
            "abc",
            "明月 OR NOT 白头",
        ] {
            assert!(BooleanQuery::parse(bad, &fold).is_err(), "{bad}");
        }
    }

    #[test]
    fn galloping_finds_the_merge_with_fewer_comparisons() {
        let long: Vec<u32> = (0..1000).map(|k| 3 * k).collect();
        let short = vec![30, 31, 600, 2997, 5000];
        let merge = intersect_merge(&short, &long);
        let gallop = intersect_gallop(&short, &long);
        assert_eq!(merge.ids, [30, 600, 2997]);
        assert_eq!(gallop.ids, merge.ids);
        assert_eq!(intersect_gallop(&long, &short).ids, merge.ids);
        assert!(
            gallop.comparisons * 10 < merge.comparisons,
            "{} {}",
            gallop.comparisons,
            merge.comparisons
        );
        assert_eq!(merge.comparisons, merge.steps.len());
        assert_eq!(gallop.comparisons, gallop.steps.len());
        assert_eq!(intersect_merge(&[], &long), Intersection::default());
    }

    /// Sorted distinct ids below `universe`, each kept with chance `p`.
    fn random_list(rng: &mut crate::inputs::SplitMix64, universe: u32, p: f64) -> Vec<u32> {
        (0..universe)
            .filter(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p)
            .collect()
    }

    #[test]
    fn every_comparison_is_a_step_on_random_lists() {
        let mut rng = crate::inputs::SplitMix64::new(34);
        for round in 0..300 {
            let universe = 1 + (rng.next_u64() % 3000) as u32;
            let (pa, pb) = (
                [0.0, 0.002, 0.02, 0.3, 1.0][round % 5],
                [0.0, 0.01, 0.1, 0.5, 1.0][(round / 5) % 5],
            );
            let a = random_list(&mut rng, universe, pa);
            let b = random_list(&mut rng, universe, pb);
            let want: Vec<u32> = a
                .iter()
                .copied()
                .filter(|x| b.binary_search(x).is_ok())
                .collect();
            for (name, got) in [
                ("merge", intersect_merge(&a, &b)),
                ("gallop", intersect_gallop(&a, &b)),
            ] {
                let what = format!("{name}, round {round}: {} ∩ {}", a.len(), b.len());
                assert_eq!(got.ids, want, "{what}");
                assert_eq!(got.comparisons, got.steps.len(), "{what}");
                // Each match is a step, and each step's cursors and outcome
                // are what the lists hold there.
                let matches = got.steps.iter().filter(|s| s.outcome == Outcome::Match);
                assert_eq!(matches.count(), want.len(), "{what}");
                for s in &got.steps {
                    let (x, y) = (a[s.a], b[s.b]);
                    let searched_smaller = if got.searches_b { y < x } else { x < y };
                    let ok = match s.outcome {
                        Outcome::Match => x == y,
                        Outcome::AdvanceA => x < y,
                        Outcome::AdvanceB => y < x,
                        Outcome::Jump | Outcome::Above => searched_smaller,
                        Outcome::Passed | Outcome::Below => !searched_smaller && x != y,
                    };
                    assert!(ok, "{what}: {s:?} holds {x} and {y}");
                    // A narrowing window holds the wanted id's place.
                    if let Some((lo, hi)) = s.window {
                        let (searched, wanted) = if got.searches_b { (&b, x) } else { (&a, y) };
                        let place = searched.partition_point(|&id| id < wanted);
                        assert!(
                            lo <= place && place <= hi && hi <= searched.len(),
                            "{what}: {s:?}"
                        );
                    }
                }
            }
        }
    }
}
