//! Boolean and phrase queries over the index, a brute-force scan that
//! checks them, and posting-list intersection counted step by step.
//!
//! Syntax: words apart by spaces are ANDed; `OR` between two words makes
//! either do; `NOT word` (or `-word`) excludes; `"…"` is a phrase, whose
//! terms must sit at consecutive positions. A word matches a document that
//! holds all of its terms.

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

/// One comparison of an intersection, for drawing: the two cursors and
/// what the comparison found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub a: usize,
    pub b: usize,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Both lists hold the document.
    Match,
    /// The `a` document is smaller: `a` moves on.
    AdvanceA,
    /// The `b` document is smaller: `b` moves on (merge), or `b` gallops.
    AdvanceB,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Intersection {
    pub ids: Vec<u32>,
    pub comparisons: usize,
    pub steps: Vec<Step>,
}

/// The plain merge: one comparison per step, each moving a cursor.
pub fn intersect_merge(a: &[u32], b: &[u32]) -> Intersection {
    let mut out = Intersection::default();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        out.comparisons += 1;
        let outcome = match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => Outcome::Match,
            std::cmp::Ordering::Less => Outcome::AdvanceA,
            std::cmp::Ordering::Greater => Outcome::AdvanceB,
        };
        out.steps.push(Step {
            a: i,
            b: j,
            outcome,
        });
        match outcome {
            Outcome::Match => {
                out.ids.push(a[i]);
                i += 1;
                j += 1;
            }
            Outcome::AdvanceA => i += 1,
            Outcome::AdvanceB => j += 1,
        }
    }
    out
}

/// Galloping: for each document of the shorter list, the longer list's
/// cursor jumps 1, 2, 4, … ahead until it passes it, then binary-searches
/// the last jump. Every comparison is counted.
pub fn intersect_gallop(a: &[u32], b: &[u32]) -> Intersection {
    let (short, long, swapped) = if a.len() <= b.len() {
        (a, b, false)
    } else {
        (b, a, true)
    };
    let mut out = Intersection::default();
    let mut j = 0;
    for (i, &want) in short.iter().enumerate() {
        if j >= long.len() {
            break;
        }
        // Gallop: find hi with long[hi] >= want.
        let mut lo = j;
        let mut step = 1;
        let mut hi = j;
        loop {
            out.comparisons += 1;
            let step_at = |at: usize, outcome| {
                if swapped {
                    Step {
                        a: at,
                        b: i,
                        outcome,
                    }
                } else {
                    Step {
                        a: i,
                        b: at,
                        outcome,
                    }
                }
            };
            if long[hi] >= want {
                out.steps.push(step_at(
                    hi,
                    if long[hi] == want {
                        Outcome::Match
                    } else {
                        Outcome::AdvanceA
                    },
                ));
                break;
            }
            out.steps.push(step_at(hi, Outcome::AdvanceB));
            lo = hi + 1;
            hi += step;
            step *= 2;
            if hi >= long.len() {
                hi = long.len();
                break;
            }
        }
        // Binary search in long[lo..hi] for the first >= want.
        let (mut l, mut h) = (lo, hi);
        while l < h {
            let mid = (l + h) / 2;
            out.comparisons += 1;
            if long[mid] < want {
                l = mid + 1;
            } else {
                h = mid;
            }
        }
        j = l;
        if j < long.len() && long[j] == want {
            out.ids.push(want);
            j += 1;
        }
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
        assert_eq!(intersect_merge(&[], &long), Intersection::default());
    }
}
