//! The corpus's own tone marks: `chinese-poetry@2.0.1`'s
//! `dist/strains/json/poet.tang.*.json` give each poem's pattern (平, 仄,
//! or ○ for either), joined to the kept poems by id. `cargo xtask data
//! rhyme` packs them into `strains.bin`: two bits per verse character
//! (punctuation skipped), kept poems in corpus order, four characters a
//! byte from the low bits up; 0 where a poem has no strains, 1 平, 2 仄, 3 ○.

use serde::{Deserialize, Serialize};

use super::rules::{Tone, ToneTable};
use crate::{error::ComputeError, tang::Poem};

pub const STRAINS_PATH: &str = "data/rhyme/strains.bin";

/// The verse characters of a poem (its text without punctuation).
pub fn verse_chars(poem: &Poem) -> impl Iterator<Item = char> + '_ {
    poem.text.chars().filter(|c| !matches!(c, '，' | '。'))
}

/// Packs per-poem strains (None: the poem has none) as `strains.bin`.
pub fn encode_strains(strains: &[Option<Vec<Tone>>], poems: &[Poem]) -> Vec<u8> {
    let mut codes = Vec::new();
    for (poem, s) in poems.iter().zip(strains) {
        let n = poem.form.lines() * poem.form.width();
        match s {
            Some(tones) if tones.len() == n => codes.extend(tones.iter().map(|t| match t {
                Tone::Ping => 1u8,
                Tone::Ze => 2,
                Tone::Either => 3,
            })),
            _ => codes.extend(std::iter::repeat_n(0u8, n)),
        }
    }
    codes
        .chunks(4)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u8, |b, (i, v)| b | (v << (2 * i)))
        })
        .collect()
}

/// Each kept poem's strains, or None where the package has none.
pub fn decode_strains(
    bytes: &[u8],
    poems: &[Poem],
) -> Result<Vec<Option<Vec<Tone>>>, ComputeError> {
    let total: usize = poems.iter().map(|p| p.form.lines() * p.form.width()).sum();
    if bytes.len() != total.div_ceil(4) {
        return Err(ComputeError::Shape {
            op: "strains",
            detail: format!("{} bytes for {total} characters", bytes.len()),
        });
    }
    let code = |k: usize| (bytes[k / 4] >> (2 * (k % 4))) & 3;
    let mut k = 0;
    Ok(poems
        .iter()
        .map(|p| {
            let n = p.form.lines() * p.form.width();
            let tones: Vec<Option<Tone>> = (k..k + n)
                .map(|i| match code(i) {
                    1 => Some(Tone::Ping),
                    2 => Some(Tone::Ze),
                    3 => Some(Tone::Either),
                    _ => None,
                })
                .collect();
            k += n;
            tones.into_iter().collect::<Option<Vec<Tone>>>()
        })
        .collect())
}

/// How the table's tones compare with the strains, character by character.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub poems: usize,
    pub poems_with_strains: usize,
    /// Verse characters of the poems with strains.
    pub chars: usize,
    /// Of those, characters the table lists.
    pub in_table: usize,
    /// Both sides definite (平 or 仄)…
    pub both_definite: usize,
    /// …and the same.
    pub agree: usize,
    /// The table says 平 where the strains say 仄, and the reverse.
    pub ping_for_ze: usize,
    pub ze_for_ping: usize,
    /// Either on one side only.
    pub table_either: usize,
    pub strains_either: usize,
}

impl Agreement {
    /// Agreement where both are definite.
    pub fn rate(&self) -> f64 {
        self.agree as f64 / self.both_definite.max(1) as f64
    }

    pub fn coverage(&self) -> f64 {
        self.in_table as f64 / self.chars.max(1) as f64
    }
}

pub fn agreement(table: &ToneTable, poems: &[Poem], strains: &[Option<Vec<Tone>>]) -> Agreement {
    let mut a = Agreement {
        poems: poems.len(),
        ..Agreement::default()
    };
    for (poem, s) in poems.iter().zip(strains) {
        let Some(s) = s else { continue };
        a.poems_with_strains += 1;
        for (c, theirs) in verse_chars(poem).zip(s) {
            a.chars += 1;
            a.in_table += table.contains(c) as usize;
            match (table.tone(c), *theirs) {
                (Tone::Either, Tone::Either) => {}
                (Tone::Either, _) => a.table_either += 1,
                (_, Tone::Either) => a.strains_either += 1,
                (ours, theirs) => {
                    a.both_definite += 1;
                    if ours == theirs {
                        a.agree += 1;
                    } else if ours == Tone::Ping {
                        a.ping_for_ze += 1;
                    } else {
                        a.ze_for_ping += 1;
                    }
                }
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tang::Form;

    fn poem(j: usize, text: &str) -> Poem {
        Poem {
            j,
            author: String::new(),
            title: String::new(),
            text: text.to_string(),
            form: Form::of(text).unwrap(),
        }
    }

    #[test]
    fn strains_round_trip_through_two_bits_a_character() {
        let poems = [
            poem(0, "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"),
            poem(1, "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。"),
        ];
        let first: Vec<Tone> = "仄仄平平仄平平仄仄平仄平平仄仄仄仄仄平平"
            .chars()
            .map(|c| Tone::from_mark(c).unwrap())
            .collect();
        let mut second = first.clone();
        second[3] = Tone::Either;
        let strains = [Some(first), None, Some(second)];
        let bytes = encode_strains(&strains[..2], &poems);
        assert_eq!(bytes.len(), 10);
        assert_eq!(
            decode_strains(&bytes, &poems).unwrap(),
            strains[..2].to_vec()
        );
        assert!(decode_strains(&bytes[1..], &poems).is_err());
        let poems2 = [poems[0].clone(), poems[0].clone()];
        let both = vec![strains[0].clone(), strains[2].clone()];
        assert_eq!(
            decode_strains(&encode_strains(&both, &poems2), &poems2).unwrap(),
            both
        );
    }
}
