//! From text to terms: one script, then overlapping character bigrams within
//! each run of Chinese characters (Lucene's CJK approach).

use std::collections::HashMap;

/// Folds traditional characters onto simplified ones, character by
/// character, with OpenCC's simplified-to-traditional table read backwards:
/// every traditional form listed for a simplified character folds onto it.
/// Characters the table does not list stay as they are, so simplified input
/// is unchanged and a query finds the same poems in either script.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScriptFold {
    fold: HashMap<char, char>,
}

impl ScriptFold {
    /// `st_characters`: `assets/tokenizer/opencc-st-characters.txt`, lines of
    /// a simplified character, a tab, and its traditional forms, most usual
    /// first.
    pub fn from_opencc(st_characters: &str) -> ScriptFold {
        // A traditional form listed under several simplified characters
        // folds onto the one that lists it earliest (its usual reading);
        // a character listed as its own form keeps itself.
        let mut best: HashMap<char, (usize, char)> = HashMap::new();
        for line in st_characters.lines().filter(|l| !l.starts_with('#')) {
            let Some((from, to)) = line.split_once('\t') else {
                continue;
            };
            let mut from_chars = from.chars();
            let (Some(simplified), None) = (from_chars.next(), from_chars.next()) else {
                continue;
            };
            for (rank, traditional) in to.split(' ').filter_map(|t| t.chars().next()).enumerate() {
                let rank = if traditional == simplified {
                    0
                } else {
                    rank + 1
                };
                let entry = best.entry(traditional).or_insert((rank, simplified));
                if rank < entry.0 {
                    *entry = (rank, simplified);
                }
            }
        }
        ScriptFold {
            fold: best
                .into_iter()
                .filter(|(t, (_, s))| t != s)
                .map(|(t, (_, s))| (t, s))
                .collect(),
        }
    }

    pub fn char(&self, c: char) -> char {
        self.fold.get(&c).copied().unwrap_or(c)
    }

    pub fn text(&self, text: &str) -> String {
        text.chars().map(|c| self.char(c)).collect()
    }

    /// How many traditional characters the table folds.
    pub fn len(&self) -> usize {
        self.fold.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fold.is_empty()
    }
}

/// A Chinese character: the CJK Unified Ideographs and their extensions and
/// compatibility forms. Everything else (punctuation, spaces, Latin) ends a
/// run.
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x323AF)
}

/// How text is cut into terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Segmentation {
    /// Every character a term.
    Chars,
    /// Overlapping pairs within each run; a run of one character is that
    /// character.
    #[default]
    Bigrams,
}

impl Segmentation {
    pub const ALL: [Segmentation; 2] = [Segmentation::Chars, Segmentation::Bigrams];

    pub fn name(self) -> &'static str {
        match self {
            Segmentation::Chars => "chars",
            Segmentation::Bigrams => "bigrams",
        }
    }

    pub fn from_name(name: &str) -> Option<Segmentation> {
        Segmentation::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A term and where it starts: the index of its first character in the
/// text, so the terms of a phrase sit at consecutive positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    pub position: u32,
}

/// The terms of already folded `text`, in order.
pub fn segment(text: &str, segmentation: Segmentation) -> Vec<Term> {
    let chars: Vec<char> = text.chars().collect();
    let mut terms = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_han(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_han(chars[i]) {
            i += 1;
        }
        let run = &chars[start..i];
        let at = |k: usize| (start + k) as u32;
        match segmentation {
            Segmentation::Chars => terms.extend(run.iter().enumerate().map(|(k, c)| Term {
                text: c.to_string(),
                position: at(k),
            })),
            Segmentation::Bigrams if run.len() == 1 => terms.push(Term {
                text: run[0].to_string(),
                position: at(0),
            }),
            Segmentation::Bigrams => {
                terms.extend(run.windows(2).enumerate().map(|(k, pair)| Term {
                    text: pair.iter().collect(),
                    position: at(k),
                }))
            }
        }
    }
    terms
}

/// The runs of Chinese characters in `text`, in order.
pub fn runs(text: &str) -> Vec<String> {
    text.split(|c: char| !is_han(c))
        .filter(|run| !run.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "发\t發 髮\n干\t幹 乾 干 榦\n乾\t乾 幹\n月\t月\n";

    #[test]
    fn folding_maps_either_script_onto_one() {
        let fold = ScriptFold::from_opencc(TABLE);
        assert_eq!(fold.char('發'), '发');
        assert_eq!(fold.char('髮'), '发');
        assert_eq!(fold.char('发'), '发');
        // 乾 is its own simplified form, so it keeps itself; 幹 folds onto
        // 干, which lists it first.
        assert_eq!(fold.char('乾'), '乾');
        assert_eq!(fold.char('幹'), '干');
        assert_eq!(fold.char('月'), '月');
        assert_eq!(fold.text("頭髮白"), "頭发白");
    }

    #[test]
    fn bigrams_stay_inside_runs() {
        let terms = segment("床前明月光，疑", Segmentation::Bigrams);
        let texts: Vec<&str> = terms.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["床前", "前明", "明月", "月光", "疑"]);
        let positions: Vec<u32> = terms.iter().map(|t| t.position).collect();
        assert_eq!(positions, [0, 1, 2, 3, 6]);
        let chars = segment("明月，光", Segmentation::Chars);
        assert_eq!(chars.len(), 3);
        assert_eq!(chars[2].position, 3);
        assert!(segment("，。 abc", Segmentation::Bigrams).is_empty());
        assert_eq!(runs("明月，光 x"), ["明月", "光"]);
    }
}
