//! Round 0 of chapter 7's data: instruction back-translation. A poem
//! already follows some instructions (its form, a character it holds, one
//! it lacks, its line heads, its first line); a seed phrasing filled from
//! the poem states one of them, and the pair needs no model.
//!
//! Held-out instructions are filled from test poems only, and no training
//! poem shares a line with a test poem, so a continuation or an acrostic
//! under test was never seen whole in training.

use std::collections::HashSet;

use crate::{
    inputs::SplitMix64,
    tang::{CharTokenizer, Form, Poem, Split, UNK},
};

use super::{
    parse::{parse, Scripts},
    seeds::{Seed, Slots},
    Constraint, Kind,
};

/// An instruction and the poem (by index in the corpus) that follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub instruction: String,
    pub constraint: Constraint,
    /// The seed phrasing it fills, by index.
    pub seed: usize,
    /// The poem, by index in the slice given.
    pub poem: usize,
}

/// How round 0 went: poems used and left out, pairs made and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round0Counts {
    pub poems: usize,
    /// Training poems left out for sharing a line with a test poem.
    pub sharing_a_test_line: usize,
    pub pairs: usize,
    /// Pairs not made: no character of the donor's to exclude, or a
    /// phrasing that reads back as its constraint in neither script.
    pub dropped: usize,
}

/// The poem's lines, without their punctuation.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split(['，', '。']).filter(|l| !l.is_empty())
}

fn pick<'a, T>(items: &'a [T], rng: &mut SplitMix64) -> Option<&'a T> {
    if items.is_empty() {
        return None;
    }
    Some(&items[(rng.next_u64() % items.len() as u64) as usize])
}

/// The form's name as an instruction may spell it: 五绝, or in full 五言绝句.
pub fn spelled(form: Form, long: bool) -> &'static str {
    match (form, long) {
        (f, false) => f.name(),
        (Form::Wujue, true) => "五言绝句",
        (Form::Qijue, true) => "七言绝句",
        (Form::Wulv, true) => "五言律诗",
        (Form::Qilv, true) => "七言律诗",
    }
}

/// Fills phrasings from poems and checks each pair both ways: the
/// instruction reads back as the constraint, and the poem passes it.
pub struct Filler<'a> {
    pub seeds: &'a [Seed],
    pub scripts: &'a Scripts,
    pub vocab: &'a CharTokenizer,
}

impl Filler<'_> {
    /// A pair of `kind` for `poem`, the excluded character taken from
    /// `donor` (another poem of the same split), or `None` if the poem
    /// offers none (no character of the donor's is missing from it) or the
    /// filled phrasing does not read back.
    pub fn pair(
        &self,
        index: usize,
        poem: &Poem,
        donor: &Poem,
        kind: Kind,
        rng: &mut SplitMix64,
    ) -> Option<Pair> {
        let seeds: Vec<usize> = (0..self.seeds.len())
            .filter(|&i| self.seeds[i].kind == kind)
            .collect();
        let seed = *pick(&seeds, rng)?;
        // Characters the model has a token for: a keyword or an excluded
        // character outside the vocabulary could not be asked for.
        let known = |c: &char| self.vocab.id(*c) != UNK;
        let chars: Vec<char> = lines(&poem.text)
            .flat_map(str::chars)
            .filter(known)
            .collect();
        let form = poem.form;
        let constraint = match kind {
            Kind::Form => Constraint::Form(form),
            Kind::Keyword => Constraint::Keyword {
                form,
                ch: *pick(&chars, rng)?,
            },
            Kind::Exclusion => {
                let absent: Vec<char> = lines(&donor.text)
                    .flat_map(str::chars)
                    .filter(|c| known(c) && !chars.contains(c))
                    .collect();
                Constraint::Exclusion {
                    form,
                    ch: *pick(&absent, rng)?,
                }
            }
            Kind::Acrostic => {
                let openings: Vec<char> =
                    lines(&poem.text).filter_map(|l| l.chars().next()).collect();
                // Every line, or every couplet's first line.
                let heads = if rng.next_u64().is_multiple_of(2) {
                    openings
                } else {
                    openings.into_iter().step_by(2).collect()
                };
                Constraint::Acrostic { form, heads }
            }
            Kind::Continuation => Constraint::Continuation {
                line: lines(&poem.text).next()?.chars().collect(),
                form: self.seeds[seed].names_form().then_some(form),
            },
        };
        // Slots folded to simplified half the time; where that does not
        // read back (雲 folds to 云, which the corpus also has), the
        // corpus's script.
        let form_name = spelled(form, rng.next_u64().is_multiple_of(2)).to_string();
        let render = |simplified: bool| -> String {
            let script = |s: String| {
                if simplified {
                    self.scripts.fold.text(&s)
                } else {
                    s
                }
            };
            let mut slots = Slots {
                form: form_name.clone(),
                ..Slots::default()
            };
            match &constraint {
                Constraint::Form(_) => {}
                Constraint::Keyword { ch, .. } | Constraint::Exclusion { ch, .. } => {
                    slots.ch = script(ch.to_string())
                }
                Constraint::Acrostic { heads, .. } => slots.heads = script(heads.iter().collect()),
                Constraint::Continuation { line, .. } => slots.line = script(line.iter().collect()),
            }
            self.seeds[seed].render(&slots)
        };
        let reads_back =
            |text: &String| parse(text, self.scripts, self.vocab).as_ref() == Ok(&constraint);
        let instruction = [rng.next_u64().is_multiple_of(2), false]
            .into_iter()
            .map(render)
            .find(reads_back)?;
        debug_assert!(constraint.verify(&poem.text).passed());
        Some(Pair {
            instruction,
            constraint,
            seed,
            poem: index,
        })
    }

    /// Round 0: `per_poem` pairs of different types for each training
    /// poem of the base model that shares no line with a test poem.
    pub fn round0(&self, poems: &[Poem], per_poem: usize, seed: u64) -> (Vec<Pair>, Round0Counts) {
        let test_lines: HashSet<&str> = poems
            .iter()
            .filter(|p| p.split() == Split::Test)
            .flat_map(|p| lines(&p.text))
            .collect();
        let mut counts = Round0Counts::default();
        let train: Vec<usize> = (0..poems.len())
            .filter(|&i| poems[i].trains_base())
            .filter(|&i| {
                let shares = lines(&poems[i].text).any(|l| test_lines.contains(l));
                counts.sharing_a_test_line += shares as usize;
                !shares
            })
            .collect();
        counts.poems = train.len();
        let mut rng = SplitMix64::new(seed);
        let mut pairs = Vec::new();
        for (n, &i) in train.iter().enumerate() {
            // The types rotate, so each is about a fifth of the pairs.
            for t in 0..per_poem.min(Kind::ALL.len()) {
                let kind = Kind::ALL[(n * per_poem + t) % Kind::ALL.len()];
                let donor = &poems[train[(rng.next_u64() % train.len() as u64) as usize]];
                match self.pair(i, &poems[i], donor, kind, &mut rng) {
                    Some(p) => pairs.push(p),
                    None => counts.dropped += 1,
                }
            }
        }
        counts.pairs = pairs.len();
        (pairs, counts)
    }

    /// `per_kind` distinct held-out instructions of each type, every slot
    /// filled from test poems (the poem each was filled from is its
    /// reference).
    pub fn held_out(&self, poems: &[Poem], per_kind: usize, seed: u64) -> Vec<Pair> {
        let test: Vec<usize> = (0..poems.len())
            .filter(|&i| poems[i].split() == Split::Test)
            .collect();
        let mut rng = SplitMix64::new(seed);
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        if test.is_empty() {
            return out;
        }
        for kind in Kind::ALL {
            let mut made = 0;
            let mut tries = 0;
            while made < per_kind && tries < per_kind * 10 {
                tries += 1;
                let i = test[(rng.next_u64() % test.len() as u64) as usize];
                let donor = &poems[test[(rng.next_u64() % test.len() as u64) as usize]];
                if let Some(p) = self.pair(i, &poems[i], donor, kind, &mut rng) {
                    if seen.insert(p.instruction.clone()) {
                        out.push(p);
                        made += 1;
                    }
                }
            }
        }
        out
    }
}
