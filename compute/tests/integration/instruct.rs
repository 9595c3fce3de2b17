//! Chapter 7's seed tasks against the committed vocabulary and OpenCC
//! table: every phrasing, filled for every form, reads back as the
//! constraint it was written for; round 0's pairs over the whole corpus.

use std::{collections::HashSet, path::PathBuf};

use compute::{
    instruct::{
        data::{spelled, Filler, Pair},
        parse,
        seeds::{parse_seeds, Seed, Slots, SEEDS_PATH},
        vocab::InstructVocab,
        Constraint, Kind, Scripts,
    },
    models::llama::TOKENIZER_PATH,
    tang::{parse_corpus, CharTokenizer, Form, Split, UNK},
};

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(assets().join(path)).unwrap()
}

/// The OpenCC table, chapter 4's vocabulary and the seed phrasings.
fn committed() -> (Scripts, CharTokenizer, Vec<Seed>) {
    (
        Scripts::from_opencc(&read("tokenizer/opencc-st-characters.txt")),
        CharTokenizer::from_json(read(TOKENIZER_PATH).as_bytes()).unwrap(),
        parse_seeds(&read(SEEDS_PATH)).unwrap(),
    )
}

#[test]
fn every_seed_reads_back_as_its_constraint_for_every_form() {
    let (scripts, vocab, seeds) = committed();
    // Self-instruct began from 175 seeds; the issue asks for 100–175.
    assert!((100..=175).contains(&seeds.len()), "{} seeds", seeds.len());
    for kind in Kind::ALL {
        let n = seeds.iter().filter(|s| s.kind == kind).count();
        assert!(n >= 20, "{} {} seeds", n, kind.name());
    }
    // Slots typed in simplified script; the constraint holds the corpus's.
    let (heads4, heads8) = ("春风秋月", "春风秋月花鸟山水");
    let (line5, line7) = ("白日依山尽", "风急天高猿啸哀");
    let corpus = |s: &str| -> Vec<char> {
        s.chars()
            .map(|c| {
                let id = vocab.typed_id(c, &scripts.s2t).unwrap();
                vocab.tokens[id as usize].chars().next().unwrap()
            })
            .collect()
    };
    // The tokens the phrasings add to chapter 4's: a handful of particles
    // and punctuation.
    let instruct_vocab = InstructVocab::build(vocab.clone(), &seeds, &scripts);
    eprintln!("added tokens: {:?}", instruct_vocab.added);
    assert!(
        instruct_vocab.added.len() <= 40,
        "{:?}",
        instruct_vocab.added
    );
    let wind = corpus("风")[0];
    assert_eq!(wind, '風');
    for (i, seed) in seeds.iter().enumerate() {
        for form in Form::ALL {
            let heads = if form.lines() == 4 { heads4 } else { heads8 };
            let line = if form.width() == 5 { line5 } else { line7 };
            let slots = Slots {
                form: spelled(form, i % 2 == 1).to_string(),
                ch: "风".into(),
                heads: heads.into(),
                line: line.into(),
            };
            let want = match seed.kind {
                Kind::Form => Constraint::Form(form),
                Kind::Keyword => Constraint::Keyword { form, ch: wind },
                Kind::Exclusion => Constraint::Exclusion { form, ch: wind },
                Kind::Acrostic => Constraint::Acrostic {
                    form,
                    heads: corpus(heads),
                },
                Kind::Continuation => Constraint::Continuation {
                    line: corpus(line),
                    form: seed.names_form().then_some(form),
                },
            };
            let text = seed.render(&slots);
            assert!(
                (4..=40).contains(&text.chars().count()),
                "{text}: self-instruct's length rule"
            );
            assert_eq!(parse(&text, &scripts, &vocab), Ok(want), "{text}");
            let ids = instruct_vocab.encode_instruction(&text, &scripts).unwrap();
            assert!(!ids.contains(&UNK), "{text}");
        }
    }
}

/// Round 0 over the whole corpus: every pair reads back as its constraint
/// and its poem passes it; no training poem shares a line with a test
/// poem; held-out instructions are filled from test poems only.
#[test]
fn round_zero_pairs_hold_and_held_out_slots_come_from_test_poems() {
    let (scripts, vocab, seeds) = committed();
    let poems = parse_corpus(&read("data/tang/poems.tsv")).unwrap();
    let filler = Filler {
        seeds: &seeds,
        scripts: &scripts,
        vocab: &vocab,
    };
    let (pairs, counts) = filler.round0(&poems, 2, 7);
    eprintln!("round 0: {counts:?}");
    assert_eq!(counts.pairs, pairs.len());
    assert!(counts.poems > 25_000, "{counts:?}");
    assert!(
        counts.dropped * 100 <= counts.poems * 2 * 3,
        "over 3% of pairs dropped: {counts:?}"
    );
    let test_lines: HashSet<&str> = poems
        .iter()
        .filter(|p| p.split() == Split::Test)
        .flat_map(|p| p.text.split(['，', '。']).filter(|l| !l.is_empty()))
        .collect();
    let mut per_kind = [0usize; 5];
    let mut simplified = 0;
    for p in &pairs {
        let poem = &poems[p.poem];
        assert!(poem.trains_base());
        assert!(!poem
            .text
            .split(['，', '。'])
            .any(|l| test_lines.contains(l)));
        assert!(p.constraint.verify(&poem.text).passed(), "{p:?}");
        assert_eq!(
            parse(&p.instruction, &scripts, &vocab).as_ref(),
            Ok(&p.constraint)
        );
        per_kind[Kind::ALL
            .iter()
            .position(|&k| k == p.constraint.kind())
            .unwrap()] += 1;
        simplified += (scripts.fold.text(&p.instruction) == p.instruction) as usize;
    }
    for n in per_kind {
        assert!(n * 6 > pairs.len(), "{per_kind:?}");
    }
    // Both scripts occur.
    assert!(simplified > pairs.len() / 4 && simplified < pairs.len() * 3 / 4);
    // The same seed, the same pairs.
    assert_eq!(
        filler.round0(&poems[..2000], 2, 7).0,
        filler.round0(&poems[..2000], 2, 7).0
    );

    let held = filler.held_out(&poems, 100, 11);
    let test_chars: HashSet<char> = test_lines.iter().flat_map(|l| l.chars()).collect();
    let instructions: HashSet<&str> = pairs.iter().map(|p| p.instruction.as_str()).collect();
    for kind in Kind::ALL {
        let of_kind: Vec<&Pair> = held
            .iter()
            .filter(|p| p.constraint.kind() == kind)
            .collect();
        assert_eq!(of_kind.len(), 100, "{}", kind.name());
        for p in of_kind {
            assert_eq!(poems[p.poem].split(), Split::Test);
            assert!(p.constraint.verify(&poems[p.poem].text).passed(), "{p:?}");
            let slot_chars: Vec<char> = match &p.constraint {
                Constraint::Form(_) => Vec::new(),
                Constraint::Keyword { ch, .. } | Constraint::Exclusion { ch, .. } => vec![*ch],
                Constraint::Acrostic { heads, .. } => heads.clone(),
                Constraint::Continuation { line, .. } => {
                    let line: String = line.iter().collect();
                    assert!(test_lines.contains(line.as_str()));
                    Vec::new()
                }
            };
            assert!(slot_chars.iter().all(|c| test_chars.contains(c)), "{p:?}");
            if kind == Kind::Continuation {
                assert!(!instructions.contains(p.instruction.as_str()), "{p:?}");
            }
        }
    }
}

/// The shipped tuned model fits the vocabulary rebuilt from the committed
/// files, answers on the CPU, and its metrics cover every type on at least
/// 100 held-out instructions, the ones `held_out.tsv` lists; the pool's
/// round-1 instructions each state a constraint and are new against the
/// seeds and each other.
#[test]
fn the_shipped_tuned_model_fits_its_vocabulary_and_metrics() {
    use compute::{
        instruct::{
            model::{
                generation, parse_held_out, parse_pool, prompt, response, seed_pool, tuned_config,
                CONFIG_PATH, HELD_OUT_PATH, METRICS_PATH, POOL_PATH, WEIGHTS_PATH,
            },
            rouge::{rouge_l, tokens, NOVELTY_THRESHOLD},
        },
        models::llama::{sampling::generate_cpu, Llama, LlamaConfig, CONFIG_PATH as BASE_CONFIG},
    };
    use std::sync::Arc;
    let (scripts, tokenizer, seeds) = committed();
    let vocab = InstructVocab::build(tokenizer.clone(), &seeds, &scripts);
    let base: LlamaConfig = serde_json::from_str(&read(BASE_CONFIG)).unwrap();
    let config: LlamaConfig = serde_json::from_str(&read(CONFIG_PATH)).unwrap();
    assert_eq!(config, tuned_config(base, &vocab));
    let bytes = std::fs::read(assets().join(WEIGHTS_PATH)).unwrap();
    let tuned = Arc::new(Llama::load(config, &bytes).unwrap());
    let ids = vocab.encode_instruction("写一首五绝", &scripts).unwrap();
    let p = prompt(&vocab, &ids);
    let trace = generate_cpu(&tuned, &generation(p.clone(), Default::default(), 1)).unwrap();
    let answer = response(&vocab, &trace.tokens[p.len()..]);
    assert!(answer.form.is_some(), "{answer:?}");

    let held = parse_held_out(&read(HELD_OUT_PATH)).unwrap();
    let metrics: serde_json::Value = serde_json::from_str(&read(METRICS_PATH)).unwrap();
    for kind in Kind::ALL {
        let n = held.iter().filter(|(k, _)| *k == kind).count();
        assert!(n >= 100, "{} held-out {}", n, kind.name());
        let row = &metrics["accuracy"]["table"]["per_kind"][kind.name()];
        assert_eq!(row["n"].as_u64(), Some(n as u64), "{}", kind.name());
        for model in ["base", "tuned"] {
            let v = row[model].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{} {model}", kind.name());
        }
    }
    assert!(metrics["forgetting"]["difference"].as_f64().is_some());
    for (_, text) in &held {
        parse(text, &scripts, &tokenizer).unwrap();
    }

    let kept = parse_pool(&read(POOL_PATH));
    assert_eq!(metrics["funnel"]["kept"].as_u64(), Some(kept.len() as u64));
    let mut pool: Vec<Vec<char>> = seed_pool(&seeds).iter().map(|s| tokens(s)).collect();
    for text in &kept {
        parse(text, &scripts, &tokenizer).unwrap();
        let t = tokens(text);
        let nearest = pool.iter().map(|p| rouge_l(&t, p)).fold(0.0, f64::max);
        assert!(nearest <= NOVELTY_THRESHOLD, "{text}: {nearest}");
        pool.push(t);
    }
}
