//! The tokens an instruction-tuned model reads: chapter 4's vocabulary,
//! then `<instr>` and `<resp>`, then each character the seed phrasings use
//! that chapter 4's poems never did (「」, ？, 吧, …). Old ids keep their
//! meaning, so the base model's rows stay where they are; only the new
//! rows of the embedding and the output head are new.
//!
//! A pair is `<bos> <instr> instruction <resp> <form> poem <eos>`: after
//! `<resp>` the model writes what chapter 4 writes after `<bos>`, choosing
//! the form token itself.

use std::collections::HashMap;

use crate::tang::{CharTokenizer, Form, BOS, EOS, UNK};

use super::{parse::Scripts, seeds::Seed, ParseError};

pub const INSTR: &str = "<instr>";
pub const RESP: &str = "<resp>";

#[derive(Debug, Clone, PartialEq)]
pub struct InstructVocab {
    pub base: CharTokenizer,
    /// The characters added after `<instr>` and `<resp>`, in id order.
    pub added: Vec<char>,
    added_ids: HashMap<char, u32>,
}

/// ASCII punctuation a visitor may type, as the phrasings write it.
fn full_width(c: char) -> char {
    match c {
        ',' => '，',
        '.' => '。',
        '?' => '？',
        '!' => '！',
        ':' => '：',
        ';' => '；',
        _ => c,
    }
}

impl InstructVocab {
    /// Chapter 4's vocabulary grown by what the phrasings of `seeds` need.
    pub fn build(base: CharTokenizer, seeds: &[Seed], scripts: &Scripts) -> InstructVocab {
        let mut vocab = InstructVocab {
            base,
            added: Vec::new(),
            added_ids: HashMap::new(),
        };
        for seed in seeds {
            let mut text = seed.template.clone();
            for slot in ["{form}", "{char}", "{heads}", "{line}"] {
                text = text.replace(slot, "");
            }
            for c in text.chars().filter(|c| !c.is_whitespace()).map(full_width) {
                if vocab.corpus_id(c, scripts).is_none() && !vocab.added_ids.contains_key(&c) {
                    let id = (vocab.base.len() + 2 + vocab.added.len()) as u32;
                    vocab.added.push(c);
                    vocab.added_ids.insert(c, id);
                }
            }
        }
        vocab
    }

    pub fn len(&self) -> usize {
        self.base.len() + 2 + self.added.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn instr_id(&self) -> u32 {
        self.base.len() as u32
    }

    pub fn resp_id(&self) -> u32 {
        self.base.len() as u32 + 1
    }

    /// `c`'s token among chapter 4's: itself, else its traditional form,
    /// else (a variant the corpus does not use) through its simplified one.
    fn corpus_id(&self, c: char, scripts: &Scripts) -> Option<u32> {
        self.base
            .typed_id(c, &scripts.s2t)
            .or_else(|| self.base.typed_id(scripts.fold.char(c), &scripts.s2t))
            .filter(|&id| id != UNK)
    }

    /// An instruction's tokens, each character in the corpus's script where
    /// chapter 4 has it, else its added token. Any other character is an
    /// error that names it: the model would read it as nothing.
    pub fn encode_instruction(
        &self,
        text: &str,
        scripts: &Scripts,
    ) -> Result<Vec<u32>, ParseError> {
        text.trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(full_width)
            .map(|c| {
                self.corpus_id(c, scripts)
                    .or_else(|| self.added_ids.get(&c).copied())
                    .ok_or(ParseError::Unknown(c))
            })
            .collect()
    }

    /// `<bos> <instr> instruction <resp> <form> poem <eos>`, and the index
    /// of the response's first token (the form token).
    pub fn encode_pair(&self, instruction: &[u32], form: Form, poem: &str) -> (Vec<u32>, usize) {
        let mut ids = vec![BOS, self.instr_id()];
        ids.extend_from_slice(instruction);
        ids.push(self.resp_id());
        let start = ids.len();
        ids.push(CharTokenizer::form_id(form));
        ids.extend(poem.chars().map(|c| self.base.id(c)));
        ids.push(EOS);
        (ids, start)
    }

    /// The text of `ids`: characters, `<instr>`/`<resp>` as themselves,
    /// other specials skipped, `<unk>` as "□".
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter()
            .map(|&id| {
                let base = self.base.len() as u32;
                if id < base {
                    self.base.decode(&[id])
                } else if id == self.instr_id() {
                    INSTR.to_string()
                } else if id == self.resp_id() {
                    RESP.to_string()
                } else {
                    self.added
                        .get((id - base - 2) as usize)
                        .map_or(String::new(), |c| c.to_string())
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instruct::seeds::parse_seeds;

    fn fixtures() -> (InstructVocab, Scripts) {
        let scripts = Scripts::from_opencc("写\t寫\n绝\t絕\n帮\t幫\n");
        let base = CharTokenizer::build(std::iter::repeat_n("寫一首五絕月白日", 5));
        let seeds = parse_seeds(
            "form\t请帮我写一首{form}吧？\tPlease write me a {form}?\n\
             keyword\t写一首含「{char}」的{form}\tA {form} with {char}.\n",
        )
        .unwrap();
        (InstructVocab::build(base, &seeds, &scripts), scripts)
    }

    #[test]
    fn new_tokens_follow_the_old_ids_and_encode_either_script() {
        let (vocab, scripts) = fixtures();
        let n = vocab.base.len() as u32;
        assert_eq!((vocab.instr_id(), vocab.resp_id()), (n, n + 1));
        // 写 is in the corpus as 寫; 请, 帮 (幫), 我, 吧, ？, 含, 的, 「 and 」 are not.
        assert_eq!(
            vocab.added,
            "请帮我吧？含「」的".chars().collect::<Vec<_>>()
        );
        assert_eq!(vocab.len(), n as usize + 2 + 9);
        let simplified = vocab
            .encode_instruction("写一首含「月」的五绝", &scripts)
            .unwrap();
        let traditional = vocab
            .encode_instruction("寫一首含「月」的五絕", &scripts)
            .unwrap();
        assert_eq!(simplified, traditional);
        // ASCII punctuation reads as the phrasings' full-width marks.
        assert_eq!(
            vocab.encode_instruction("写一首五绝吧?", &scripts),
            vocab.encode_instruction("写一首五绝吧？", &scripts)
        );
        assert_eq!(
            vocab.encode_instruction("写一首五绝，要好", &scripts),
            Err(ParseError::Unknown('，'))
        );
        let (ids, start) = vocab.encode_pair(&simplified, Form::Wujue, "白日");
        assert_eq!(ids[start - 1], vocab.resp_id());
        assert_eq!(ids[start], CharTokenizer::form_id(Form::Wujue));
        assert_eq!(*ids.last().unwrap(), EOS);
        assert_eq!(vocab.decode(&ids), "<instr>寫一首含「月」的五絕<resp>白日");
    }
}
