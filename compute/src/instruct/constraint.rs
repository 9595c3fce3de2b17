//! What an instruction asks of a poem, and the verifier that says whether a
//! poem does it: exactly, with a mark on each character a check concerns.

use serde::{Deserialize, Serialize};

use crate::tang::Form;

/// The verifiable instruction types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Form,
    Keyword,
    Exclusion,
    Acrostic,
    Continuation,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Form,
        Kind::Keyword,
        Kind::Exclusion,
        Kind::Acrostic,
        Kind::Continuation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Form => "form",
            Kind::Keyword => "keyword",
            Kind::Exclusion => "exclusion",
            Kind::Acrostic => "acrostic",
            Kind::Continuation => "continuation",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A constraint on a poem. Characters are in the corpus's (traditional)
/// script, as the model writes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Constraint {
    /// Exactly this form.
    Form(Form),
    /// The form, with `ch` somewhere in it.
    Keyword { form: Form, ch: char },
    /// The form, with `ch` nowhere in it.
    Exclusion { form: Form, ch: char },
    /// The form, each line opening with the next head, or with half as many
    /// heads, each couplet's first line.
    Acrostic { form: Form, heads: Vec<char> },
    /// The poem opens with `line` and its comma, and has a form of that
    /// line's width (the named one, if the instruction named one).
    Continuation { line: Vec<char>, form: Option<Form> },
}

/// One part of a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckKind {
    /// The poem has this form exactly.
    Form(Form),
    /// The poem has a form with lines of this width.
    FormOfWidth(usize),
    Contains(char),
    Avoids(char),
    /// Line openings match the heads.
    Heads,
    /// The first line is the given one.
    OpensWith,
}

/// A check and whether the poem passes it. `marks` are (character index in
/// the poem, right or wrong) for the characters the check concerns: the
/// keyword's occurrences, the excluded character's, the line openings, the
/// given line's characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub kind: CheckKind,
    pub met: bool,
    pub marks: Vec<(usize, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub checks: Vec<Check>,
}

impl Verdict {
    /// Every check met.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.met)
    }
}

impl Constraint {
    pub fn kind(&self) -> Kind {
        match self {
            Constraint::Form(_) => Kind::Form,
            Constraint::Keyword { .. } => Kind::Keyword,
            Constraint::Exclusion { .. } => Kind::Exclusion,
            Constraint::Acrostic { .. } => Kind::Acrostic,
            Constraint::Continuation { .. } => Kind::Continuation,
        }
    }

    /// The form the poem must have, where the constraint fixes one: a
    /// continuation of a five-character line may be a 五绝 or a 五律.
    pub fn form(&self) -> Option<Form> {
        match self {
            Constraint::Form(form)
            | Constraint::Keyword { form, .. }
            | Constraint::Exclusion { form, .. }
            | Constraint::Acrostic { form, .. } => Some(*form),
            Constraint::Continuation { form, .. } => *form,
        }
    }

    /// Checks `poem` (its characters with their punctuation, nothing else).
    pub fn verify(&self, poem: &str) -> Verdict {
        let chars: Vec<char> = poem.chars().collect();
        let has_form = Form::of(poem);
        let form_check = |form: Form| Check {
            kind: CheckKind::Form(form),
            met: has_form == Some(form),
            marks: Vec::new(),
        };
        let occurrences =
            |ch: char| -> Vec<usize> { (0..chars.len()).filter(|&i| chars[i] == ch).collect() };
        let checks = match self {
            Constraint::Form(form) => vec![form_check(*form)],
            Constraint::Keyword { form, ch } => {
                let at = occurrences(*ch);
                vec![
                    form_check(*form),
                    Check {
                        kind: CheckKind::Contains(*ch),
                        met: !at.is_empty(),
                        marks: at.into_iter().map(|i| (i, true)).collect(),
                    },
                ]
            }
            Constraint::Exclusion { form, ch } => {
                let at = occurrences(*ch);
                vec![
                    form_check(*form),
                    Check {
                        kind: CheckKind::Avoids(*ch),
                        met: at.is_empty(),
                        marks: at.into_iter().map(|i| (i, false)).collect(),
                    },
                ]
            }
            Constraint::Acrostic { form, heads } => {
                let marks: Vec<(usize, bool)> = head_positions(*form, heads.len())
                    .into_iter()
                    .zip(heads)
                    .map(|(at, &head)| (at, chars.get(at) == Some(&head)))
                    .collect();
                vec![
                    form_check(*form),
                    Check {
                        kind: CheckKind::Heads,
                        met: !marks.is_empty() && marks.iter().all(|m| m.1),
                        marks,
                    },
                ]
            }
            Constraint::Continuation { line, form } => {
                let mut marks: Vec<(usize, bool)> = line
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| (i, chars.get(i) == Some(&c)))
                    .collect();
                marks.push((
                    line.len(),
                    chars.get(line.len()) == Some(&Form::line_end(0)),
                ));
                let shape = match form {
                    Some(form) => form_check(*form),
                    None => Check {
                        kind: CheckKind::FormOfWidth(line.len()),
                        met: has_form.is_some_and(|f| f.width() == line.len()),
                        marks: Vec::new(),
                    },
                };
                vec![
                    shape,
                    Check {
                        kind: CheckKind::OpensWith,
                        met: marks.iter().all(|m| m.1),
                        marks,
                    },
                ]
            }
        };
        Verdict { checks }
    }
}

/// Where an acrostic's `heads` heads go in a poem of `form`: every line's
/// first character, or with half as many heads every couplet's first line's.
/// Empty for any other count.
pub fn head_positions(form: Form, heads: usize) -> Vec<usize> {
    let stride = if heads == form.lines() {
        1
    } else if heads * 2 == form.lines() {
        2
    } else {
        return Vec::new();
    };
    (0..heads)
        .map(|i| i * stride * (form.width() + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 王之渙《登鸛雀樓》 and 王維《鹿柴》 in the corpus's script, and a 七律.
    const WUJUE: &str = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。";
    const LUZHAI: &str = "空山不見人，但聞人語響。返景入深林，復照青苔上。";
    const QILV: &str = "風急天高猿嘯哀，渚清沙白鳥飛迴。無邊落木蕭蕭下，不盡長江滾滾來。\
                        萬里悲秋常作客，百年多病獨登臺。艱難苦恨繁霜鬢，潦倒新停濁酒杯。";

    #[test]
    fn form_holds_only_for_that_form_exactly() {
        assert!(Constraint::Form(Form::Wujue).verify(WUJUE).passed());
        assert!(Constraint::Form(Form::Qilv).verify(QILV).passed());
        assert!(!Constraint::Form(Form::Wulv).verify(WUJUE).passed());
        assert!(!Constraint::Form(Form::Qijue).verify(QILV).passed());
        // A missing stop, a line one character long, and nothing at all.
        assert!(!Constraint::Form(Form::Wujue)
            .verify(WUJUE.trim_end_matches('。'))
            .passed());
        assert!(!Constraint::Form(Form::Wujue)
            .verify(&WUJUE.replacen('盡', "盡盡", 1))
            .passed());
        assert!(!Constraint::Form(Form::Wujue).verify("").passed());
    }

    #[test]
    fn keyword_needs_the_character_and_the_form() {
        let yes = Constraint::Keyword {
            form: Form::Wujue,
            ch: '人',
        }
        .verify(LUZHAI);
        assert!(yes.passed());
        assert_eq!(yes.checks[1].marks, vec![(4, true), (8, true)]);
        let absent = Constraint::Keyword {
            form: Form::Wujue,
            ch: '月',
        }
        .verify(LUZHAI);
        assert!(!absent.passed());
        assert!(absent.checks[0].met && !absent.checks[1].met);
        let wrong_form = Constraint::Keyword {
            form: Form::Wulv,
            ch: '人',
        }
        .verify(LUZHAI);
        assert!(!wrong_form.passed());
        assert!(!wrong_form.checks[0].met && wrong_form.checks[1].met);
    }

    #[test]
    fn exclusion_fails_on_every_occurrence() {
        assert!(Constraint::Exclusion {
            form: Form::Wujue,
            ch: '月'
        }
        .verify(LUZHAI)
        .passed());
        let v = Constraint::Exclusion {
            form: Form::Wujue,
            ch: '人',
        }
        .verify(LUZHAI);
        assert!(!v.passed());
        assert_eq!(v.checks[1].marks, vec![(4, false), (8, false)]);
        // Avoiding the character does not excuse a broken form.
        assert!(!Constraint::Exclusion {
            form: Form::Qijue,
            ch: '月'
        }
        .verify(LUZHAI)
        .passed());
    }

    #[test]
    fn acrostic_checks_each_line_opening() {
        let every_line = Constraint::Acrostic {
            form: Form::Wujue,
            heads: "白黃欲更".chars().collect(),
        };
        assert!(every_line.verify(WUJUE).passed());
        let couplets = Constraint::Acrostic {
            form: Form::Wujue,
            heads: "白欲".chars().collect(),
        };
        assert!(couplets.verify(WUJUE).passed());
        let one_wrong = Constraint::Acrostic {
            form: Form::Wujue,
            heads: "白黃春更".chars().collect(),
        }
        .verify(WUJUE);
        assert!(!one_wrong.passed());
        assert_eq!(
            one_wrong.checks[1].marks,
            vec![(0, true), (6, true), (12, false), (18, true)]
        );
        // Heads right but the wrong form; and a count no form can take.
        assert!(!Constraint::Acrostic {
            form: Form::Wulv,
            heads: "白欲".chars().collect()
        }
        .verify(WUJUE)
        .passed());
        assert!(!Constraint::Acrostic {
            form: Form::Wujue,
            heads: "白黃欲".chars().collect()
        }
        .verify(WUJUE)
        .passed());
    }

    #[test]
    fn continuation_needs_the_line_its_comma_and_a_form_of_its_width() {
        let line: Vec<char> = "白日依山盡".chars().collect();
        let any = Constraint::Continuation {
            line: line.clone(),
            form: None,
        };
        assert!(any.verify(WUJUE).passed());
        // Eight lines of five are consistent with a five-character line too.
        let wulv = format!("{WUJUE}{LUZHAI}");
        assert!(any.verify(&wulv).passed());
        assert!(!Constraint::Continuation {
            line: line.clone(),
            form: Some(Form::Wujue)
        }
        .verify(&wulv)
        .passed());
        // Another first line, marked where it differs.
        let v = any.verify(LUZHAI);
        assert!(!v.passed());
        assert_eq!(v.checks[1].marks[..2], [(0, false), (1, false)]);
        // The line is there but the poem is a seven-character one.
        let seven = Constraint::Continuation {
            line: "風急天高猿嘯哀".chars().collect(),
            form: None,
        };
        assert!(seven.verify(QILV).passed());
        assert!(!seven.verify(&QILV.replacen("，", "。", 1)).passed());
        assert!(!any.verify("白日依山盡，").passed());
    }
}
