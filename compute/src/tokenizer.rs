//! GPT-2's byte-level BPE, for counting a prompt's tokens: the KV cache
//! grows by one entry per token, so tokens × bytes per token is what a
//! prompt costs. Loaded from `assets/tokenizer/gpt2.json` (a Hugging Face
//! `tokenizer.json`, converted by `cargo xtask tokenizer`).
//!
//! Written here rather than taken from the `tokenizers` crate, which was
//! about half of the app's wasm. Three steps, as in GPT-2's `encoder.py`:
//! 1. split the text with GPT-2's pattern
//!    `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
//!    (a hand-written scanner: the pattern's look-ahead needs no regex engine);
//! 2. map each piece's UTF-8 bytes to GPT-2's printable stand-in characters;
//! 3. merge adjacent symbols, lowest-ranked pair first, until no pair has a
//!    rank, and look each symbol up in the vocabulary.

use std::collections::HashMap;

use unicode_general_category::{get_general_category, GeneralCategory as Gc};

use crate::error::ComputeError;

pub struct Gpt2Tokenizer {
    vocab: HashMap<String, u32>,
    /// (left, right) → rank: lower merges first.
    ranks: HashMap<(String, String), u32>,
    /// Byte → GPT-2's stand-in character.
    byte_chars: [char; 256],
}

impl Gpt2Tokenizer {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ComputeError> {
        let bad = |why: &str| ComputeError::Cpu(format!("the tokenizer file is unusable: {why}"));
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
        let model = &doc["model"];
        if model["type"] != "BPE" {
            return Err(bad("it is not a BPE model"));
        }
        let vocab = model["vocab"]
            .as_object()
            .ok_or_else(|| bad("no model.vocab"))?
            .iter()
            .map(|(token, id)| {
                let id = id.as_u64().and_then(|v| u32::try_from(v).ok());
                Ok((
                    token.clone(),
                    id.ok_or_else(|| bad("a vocabulary id is not a number"))?,
                ))
            })
            .collect::<Result<HashMap<_, _>, ComputeError>>()?;
        let ranks = model["merges"]
            .as_array()
            .ok_or_else(|| bad("no model.merges"))?
            .iter()
            .enumerate()
            .map(|(rank, merge)| {
                // "left right", or ["left", "right"] in newer files.
                let pair = match merge {
                    serde_json::Value::String(s) => s
                        .split_once(' ')
                        .map(|(a, b)| (a.to_string(), b.to_string())),
                    serde_json::Value::Array(a) => match (a.first(), a.get(1)) {
                        (Some(l), Some(r)) => l
                            .as_str()
                            .zip(r.as_str())
                            .map(|(l, r)| (l.into(), r.into())),
                        _ => None,
                    },
                    _ => None,
                };
                Ok((
                    pair.ok_or_else(|| bad("a merge is not a pair"))?,
                    rank as u32,
                ))
            })
            .collect::<Result<HashMap<_, _>, ComputeError>>()?;
        Ok(Gpt2Tokenizer {
            vocab,
            ranks,
            byte_chars: byte_chars(),
        })
    }

    /// Token ids of `text`, without special tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ComputeError> {
        let mut ids = Vec::new();
        for piece in pre_tokenize(text) {
            let mapped: Vec<String> = piece
                .bytes()
                .map(|b| self.byte_chars[b as usize].to_string())
                .collect();
            for symbol in self.merge(mapped) {
                let id = self.vocab.get(&symbol).ok_or_else(|| {
                    ComputeError::Cpu(format!(
                        "tokenizing failed: “{symbol}” is not in the vocabulary"
                    ))
                })?;
                ids.push(*id);
            }
        }
        Ok(ids)
    }

    pub fn count(&self, text: &str) -> Result<usize, ComputeError> {
        self.encode(text).map(|ids| ids.len())
    }

    /// BPE on one piece: repeatedly merge every occurrence of the adjacent
    /// pair with the lowest rank.
    fn merge(&self, mut symbols: Vec<String>) -> Vec<String> {
        loop {
            let best = symbols
                .windows(2)
                .filter_map(|w| {
                    self.ranks
                        .get(&(w[0].clone(), w[1].clone()))
                        .map(|&r| (r, w))
                })
                .min_by_key(|(r, _)| *r)
                .map(|(_, w)| (w[0].clone(), w[1].clone()));
            let Some((left, right)) = best else {
                return symbols;
            };
            let mut merged = Vec::with_capacity(symbols.len());
            let mut i = 0;
            while i < symbols.len() {
                if i + 1 < symbols.len() && symbols[i] == left && symbols[i + 1] == right {
                    merged.push(format!("{left}{right}"));
                    i += 2;
                } else {
                    merged.push(std::mem::take(&mut symbols[i]));
                    i += 1;
                }
            }
            symbols = merged;
        }
    }
}

/// GPT-2's `bytes_to_unicode`: printable bytes stand for themselves; the
/// rest map, in order, to U+0100 onwards.
fn byte_chars() -> [char; 256] {
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    let mut chars = ['\0'; 256];
    let mut next = 256;
    for b in 0..256u32 {
        chars[b as usize] = if printable(b) {
            char::from_u32(b).expect("a Latin-1 code point")
        } else {
            next += 1;
            char::from_u32(next - 1).expect("U+0100..U+0143")
        };
    }
    chars
}

fn is_letter(c: char) -> bool {
    matches!(
        get_general_category(c),
        Gc::UppercaseLetter
            | Gc::LowercaseLetter
            | Gc::TitlecaseLetter
            | Gc::ModifierLetter
            | Gc::OtherLetter
    )
}

fn is_number(c: char) -> bool {
    matches!(
        get_general_category(c),
        Gc::DecimalNumber | Gc::LetterNumber | Gc::OtherNumber
    )
}

/// `[^\s\p{L}\p{N}]`
fn is_other(c: char) -> bool {
    !c.is_whitespace() && !is_letter(c) && !is_number(c)
}

/// The pieces GPT-2's pattern cuts `text` into, leftmost-first as the regex
/// alternatives are tried.
fn pre_tokenize(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let offset = |i: usize| chars.get(i).map_or(text.len(), |&(o, _)| o);
    // The end of a run of `class` characters starting at i.
    let run = |mut i: usize, class: &dyn Fn(char) -> bool| {
        while at(i).is_some_and(class) {
            i += 1;
        }
        i
    };
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        let end = 'piece: {
            // 's 't 're 've 'm 'll 'd
            if c == '\'' {
                for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] {
                    let n = suffix.chars().count();
                    if suffix
                        .chars()
                        .enumerate()
                        .all(|(k, s)| at(i + 1 + k) == Some(s))
                    {
                        break 'piece i + 1 + n;
                    }
                }
            }
            //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
            let start = if c == ' ' { i + 1 } else { i };
            for class in [&is_letter as &dyn Fn(char) -> bool, &is_number, &is_other] {
                if at(start).is_some_and(class) {
                    break 'piece run(start, class);
                }
            }
            // \s+(?!\S) | \s+
            let end = run(i, &|c: char| c.is_whitespace());
            if end < chars.len() && end - i > 1 {
                end - 1
            } else {
                end
            }
        };
        pieces.push(&text[offset(i)..offset(end)]);
        i = end;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_follow_gpt2s_pattern() {
        assert_eq!(
            pre_tokenize("Hello world, it's 2024!!  ok\n\nbye  "),
            [
                "Hello", " world", ",", " it", "'s", " 2024", "!!", " ", " ok", "\n", "\n", "bye",
                "  "
            ]
        );
        assert_eq!(pre_tokenize("naïve café"), ["naïve", " café"]);
        assert_eq!(pre_tokenize("x'y 'll"), ["x", "'", "y", " '", "ll"]);
        assert_eq!(pre_tokenize(""), Vec::<&str>::new());
    }

    #[test]
    fn bytes_map_to_gpt2s_stand_ins() {
        let chars = byte_chars();
        assert_eq!(chars[b'A' as usize], 'A');
        assert_eq!(chars[b' ' as usize], 'Ġ');
        assert_eq!(chars[b'\n' as usize], 'Ċ');
        let mut sorted = chars.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 256, "one character per byte");
    }

    #[test]
    fn a_broken_file_is_a_typed_error() {
        assert!(Gpt2Tokenizer::from_json(b"{not json").is_err());
        assert!(Gpt2Tokenizer::from_json(br#"{"model": {"type": "WordPiece"}}"#).is_err());
    }
}
