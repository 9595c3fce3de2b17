//! The instruction-tuned model as it ships: chapter 4's LLaMA with the
//! LoRA adapter merged in (W + (α/r)·B·A, quantized again to Q8_0), its
//! embedding and output head grown by `InstructVocab`'s new rows, and room
//! for an instruction before the poem. Any LLaMA decoder runs it, on
//! either backend, with no adapter code.
//!
//! It reads `<bos> <instr> instruction <resp>` and writes the response:
//! a form token, the poem, `<eos>`, exactly as chapter 4 writes after
//! `<bos> <form>`.

use crate::{
    models::llama::{
        sampling::{Generation, Sampling},
        LlamaConfig,
    },
    tang::{CharTokenizer, Form, BOS, EOS, FIRST_FORM},
};

use super::{
    constraint::head_positions,
    seeds::{Seed, Slots},
    vocab::InstructVocab,
    Constraint, Kind,
};
use crate::{error::ComputeError, tang::UNK};

/// Under `assets/`.
pub const WEIGHTS_PATH: &str = "models/instruct/tuned.safetensors";
pub const CONFIG_PATH: &str = "models/instruct/tuned.config.json";
pub const METRICS_PATH: &str = "models/instruct/metrics.json";
/// The held-out instructions the accuracy table was measured on.
pub const HELD_OUT_PATH: &str = "data/instruct/held_out.tsv";
/// Round 1's kept instructions, after the seeds: the pool a typed
/// instruction is compared with.
pub const POOL_PATH: &str = "data/instruct/pool.tsv";

/// Self-instruct's length rule, in characters: shorter says too little,
/// longer leaves a 七律 no room in the context.
pub const MIN_INSTRUCTION_CHARS: usize = 4;
pub const MAX_INSTRUCTION_CHARS: usize = 28;

/// Self-instruct's blacklist, in Chinese: what a text model cannot do
/// (draw, see a picture, open a file, play sound).
pub const BLACKLIST: [&str; 9] = [
    "图", "圖", "画", "畫", "照片", "文件", "表格", "视频", "音乐",
];

/// Why a generated instruction is dropped before it is parsed.
pub fn length_or_blacklist(instruction: &str) -> Option<&'static str> {
    let n = instruction.chars().filter(|c| !c.is_whitespace()).count();
    if n < MIN_INSTRUCTION_CHARS {
        Some("too short")
    } else if n > MAX_INSTRUCTION_CHARS {
        Some("too long")
    } else if BLACKLIST.iter().any(|w| instruction.contains(w)) {
        Some("blacklisted")
    } else {
        None
    }
}

/// The tuned model's shape: the base's, with the new tokens and room for
/// `<instr>`, the longest instruction and `<resp>` before a poem.
pub fn tuned_config(base: LlamaConfig, vocab: &InstructVocab) -> LlamaConfig {
    LlamaConfig {
        vocab_size: vocab.len(),
        max_seq_len: base.max_seq_len + MAX_INSTRUCTION_CHARS + 2,
        ..base
    }
}

/// `<bos> <instr> instruction <resp>`.
pub fn prompt(vocab: &InstructVocab, instruction: &[u32]) -> Vec<u32> {
    let mut ids = vec![BOS, vocab.instr_id()];
    ids.extend_from_slice(instruction);
    ids.push(vocab.resp_id());
    ids
}

/// Chapter 4's model given the instruction's text alone: `<bos>`, then the
/// instruction's tokens, those chapter 4 lacks (`<instr>`'s particles and
/// marks) read as `<unk>`.
pub fn base_prompt(vocab: &InstructVocab, instruction: &[u32]) -> Vec<u32> {
    let known = vocab.base.len() as u32;
    std::iter::once(BOS)
        .chain(
            instruction
                .iter()
                .map(|&id| if id < known { id } else { UNK }),
        )
        .collect()
}

/// A seeded draw after `prompt`, as the page and `cargo xtask sample
/// instruct` make it.
pub fn generation(prompt: Vec<u32>, sampling: Sampling, seed: u64) -> Generation {
    Generation {
        prompt,
        forced: Vec::new(),
        sampling,
        seed,
    }
}

/// How a seed phrasing joins the novelty pool: filled once, always alike.
pub fn seed_pool(seeds: &[Seed]) -> Vec<String> {
    let slots = Slots {
        form: "五绝".into(),
        ch: "月".into(),
        heads: "春风秋月".into(),
        line: "白日依山尽".into(),
    };
    seeds.iter().map(|s| s.render(&slots)).collect()
}

/// `pool.tsv`'s instructions (lines not starting with `#`).
pub fn parse_pool(tsv: &str) -> Vec<String> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect()
}

/// `held_out.tsv`: (type, instruction) per line.
pub fn parse_held_out(tsv: &str) -> Result<Vec<(Kind, String)>, ComputeError> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (kind, text) = l
                .split_once('\t')
                .ok_or_else(|| ComputeError::Cpu(format!("held-out line without a tab: {l}")))?;
            let kind = Kind::from_name(kind)
                .ok_or_else(|| ComputeError::Cpu(format!("held-out type {kind:?}")))?;
            Ok((kind, text.to_string()))
        })
        .collect()
}

/// What the model wrote after its prompt: the form token it chose, if it
/// chose one first, and the poem's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub form: Option<Form>,
    /// Characters with their punctuation; anything else the model wrote
    /// (an instruction's marker or particle) shows as itself, so the
    /// verifier sees it.
    pub text: String,
}

pub fn response(vocab: &InstructVocab, written: &[u32]) -> Response {
    let form = written
        .first()
        .and_then(|&id| id.checked_sub(FIRST_FORM))
        .and_then(|i| Form::ALL.get(i as usize).copied());
    let body = &written[form.is_some() as usize..];
    let end = body.iter().position(|&id| id == EOS).unwrap_or(body.len());
    Response {
        form,
        text: vocab.decode(&body[..end]),
    }
}

/// Chapter 4's forced decoding for `constraint`, the upper reference: the
/// form token, with the heads, the first line or the keyword placed
/// rather than drawn. `None` for an exclusion, which forcing cannot state.
pub fn forced_reference(
    constraint: &Constraint,
    tokenizer: &CharTokenizer,
    sampling: Sampling,
    seed: u64,
) -> Option<Generation> {
    let form = constraint.form().or(match constraint {
        Constraint::Continuation { line, .. } if line.len() == 7 => Some(Form::Qijue),
        _ => Some(Form::Wujue),
    })?;
    let mut g = Generation::poem(form, sampling, seed);
    // The poem's first character is token 2.
    let at = |i: usize| i + 2;
    match constraint {
        Constraint::Form(_) => {}
        Constraint::Keyword { ch, .. } => g.forced.push((at(0), tokenizer.id(*ch))),
        Constraint::Exclusion { .. } => return None,
        Constraint::Acrostic { heads, .. } => {
            for (p, h) in head_positions(form, heads.len()).into_iter().zip(heads) {
                g.forced.push((at(p), tokenizer.id(*h)));
            }
        }
        Constraint::Continuation { line, .. } => {
            for (i, c) in line.iter().chain(['，'].iter()).enumerate() {
                g.forced.push((at(i), tokenizer.id(*c)));
            }
        }
    }
    Some(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instruct::{parse::Scripts, seeds::parse_seeds};

    #[test]
    fn the_response_is_the_form_and_the_poem_up_to_eos() {
        let scripts = Scripts::from_opencc("");
        let base = CharTokenizer::build(std::iter::repeat_n("白日依山盡，", 5));
        let seeds = parse_seeds("form\t写一首{form}\tA {form}.\n").unwrap();
        let vocab = InstructVocab::build(base.clone(), &seeds, &scripts);
        let mut written = vec![CharTokenizer::form_id(Form::Wujue)];
        written.extend("白日，".chars().map(|c| base.id(c)));
        written.extend([EOS, base.id('山')]);
        let r = response(&vocab, &written);
        assert_eq!(r.form, Some(Form::Wujue));
        assert_eq!(r.text, "白日，");
        // No form token first: the text starts at once.
        let r = response(&vocab, &written[1..]);
        assert_eq!((r.form, r.text.as_str()), (None, "白日，"));
        assert_eq!(length_or_blacklist("写诗"), Some("too short"));
        assert_eq!(length_or_blacklist("画一幅山水图"), Some("blacklisted"));
        assert_eq!(length_or_blacklist("写一首五绝"), None);
    }

    #[test]
    fn forced_reference_places_heads_and_lines() {
        let base = CharTokenizer::build(std::iter::repeat_n("春風秋月白日依山盡，", 5));
        let s = Sampling::default();
        let acrostic = Constraint::Acrostic {
            form: Form::Wujue,
            heads: "春風秋月".chars().collect(),
        };
        let g = forced_reference(&acrostic, &base, s, 1).unwrap();
        assert_eq!(g.prompt, vec![BOS, CharTokenizer::form_id(Form::Wujue)]);
        assert_eq!(
            g.forced,
            vec![
                (2, base.id('春')),
                (8, base.id('風')),
                (14, base.id('秋')),
                (20, base.id('月'))
            ]
        );
        let cont = Constraint::Continuation {
            line: "白日依山盡".chars().collect(),
            form: None,
        };
        let g = forced_reference(&cont, &base, s, 1).unwrap();
        assert_eq!(g.forced.len(), 6);
        assert_eq!(g.forced[5], (7, base.id('，')));
        let ex = Constraint::Exclusion {
            form: Form::Wujue,
            ch: '月',
        };
        assert!(forced_reference(&ex, &base, s, 1).is_none());
    }
}
