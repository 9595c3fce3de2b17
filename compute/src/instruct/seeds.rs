//! Chapter 7's seed tasks (`assets/data/instruct/seeds.tsv`): hand-written
//! phrasings of each instruction type, with slots, and an English gloss.
//! Self-instruct starts from 175 such seeds; ours fill their slots from
//! poems (round 0) and prompt the model for new phrasings (round 1).

use crate::error::ComputeError;

/// Under `assets/`.
pub const SEEDS_PATH: &str = "data/instruct/seeds.tsv";

use super::constraint::Kind;

/// One phrasing. Slots: `{form}` a form's name, `{char}` one character,
/// `{heads}` an acrostic's heads, `{line}` a first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    pub kind: Kind,
    pub template: String,
    pub gloss: String,
}

/// What fills a seed's slots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slots {
    pub form: String,
    pub ch: String,
    pub heads: String,
    pub line: String,
}

impl Kind {
    /// The slots every phrasing of this type has; a continuation may name
    /// a form as well.
    pub fn slots(self) -> &'static [&'static str] {
        match self {
            Kind::Form => &["{form}"],
            Kind::Keyword | Kind::Exclusion => &["{form}", "{char}"],
            Kind::Acrostic => &["{form}", "{heads}"],
            Kind::Continuation => &["{line}"],
        }
    }
}

const ALL_SLOTS: [&str; 4] = ["{form}", "{char}", "{heads}", "{line}"];

impl Seed {
    pub fn render(&self, slots: &Slots) -> String {
        self.template
            .replace("{form}", &slots.form)
            .replace("{char}", &slots.ch)
            .replace("{heads}", &slots.heads)
            .replace("{line}", &slots.line)
    }

    /// Whether the phrasing names a form (a continuation need not).
    pub fn names_form(&self) -> bool {
        self.template.contains("{form}")
    }
}

/// Reads `seeds.tsv`: `type<TAB>template<TAB>gloss` lines, `#` comments.
/// Each template has exactly its type's slots (a continuation may add
/// `{form}`), and its gloss the same ones.
pub fn parse_seeds(tsv: &str) -> Result<Vec<Seed>, ComputeError> {
    let mut seeds: Vec<Seed> = Vec::new();
    for (n, line) in tsv.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| ComputeError::Cpu(format!("seeds.tsv line {}: {why}", n + 1));
        let fields: Vec<&str> = line.split('\t').collect();
        let [kind, template, gloss] = fields[..] else {
            return Err(bad(format!("{} fields, not 3", fields.len())));
        };
        let kind = Kind::from_name(kind).ok_or_else(|| bad(format!("no type {kind:?}")))?;
        let slots_of = |text: &str| -> Vec<&str> {
            ALL_SLOTS.into_iter().filter(|s| text.contains(s)).collect()
        };
        let has = slots_of(template);
        let mut needs: Vec<&str> = kind.slots().to_vec();
        if kind == Kind::Continuation && has.contains(&"{form}") {
            needs.insert(0, "{form}");
        }
        if has != needs {
            return Err(bad(format!(
                "slots {has:?}, a {} needs {needs:?}",
                kind.name()
            )));
        }
        if slots_of(gloss) != has {
            return Err(bad(format!("the gloss's slots differ from {has:?}")));
        }
        if seeds.iter().any(|s| s.template == template) {
            return Err(bad(format!("{template:?} appears twice")));
        }
        seeds.push(Seed {
            kind,
            template: template.to_string(),
            gloss: gloss.to_string(),
        });
    }
    Ok(seeds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_renders_and_bad_lines_are_refused() {
        let seeds =
            parse_seeds("# comment\nkeyword\t写一首含「{char}」的{form}\tA {form} with {char}.\n")
                .unwrap();
        let slots = Slots {
            form: "五绝".into(),
            ch: "月".into(),
            ..Slots::default()
        };
        assert_eq!(seeds[0].render(&slots), "写一首含「月」的五绝");
        for bad in [
            "keyword\t写一首{form}\tA {form}.",
            "keyword\t写一首含「{char}」的{form}\tA poem with {char}.",
            "rhyme\t写一首{form}\tA {form}.",
            "form\t写一首{form}",
            "form\t写一首{form}\tA {form}.\nform\t写一首{form}\tOnce more, a {form}.",
        ] {
            assert!(parse_seeds(bad).is_err(), "{bad}");
        }
        assert!(
            parse_seeds("continuation\t以「{line}」开头写{form}\tBegin a {form} with {line}.")
                .is_ok()
        );
    }
}
