//! Chapter 7's seed tasks against the committed vocabulary and OpenCC
//! table: every phrasing, filled for every form, reads back as the
//! constraint it was written for.

use std::path::PathBuf;

use compute::{
    instruct::{
        parse,
        seeds::{parse_seeds, Slots, SEEDS_PATH},
        Constraint, Kind, Scripts,
    },
    models::llama::TOKENIZER_PATH,
    tang::{CharTokenizer, Form},
};

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

#[test]
fn every_seed_reads_back_as_its_constraint_for_every_form() {
    let read = |p: &str| std::fs::read_to_string(assets().join(p)).unwrap();
    let scripts = Scripts::from_opencc(&read("tokenizer/opencc-st-characters.txt"));
    let vocab = CharTokenizer::from_json(read(TOKENIZER_PATH).as_bytes()).unwrap();
    let seeds = parse_seeds(&read(SEEDS_PATH)).unwrap();
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
    let spelled = |form: Form, long: bool| -> String {
        match (form, long) {
            (f, false) => f.name().to_string(),
            (Form::Wujue, true) => "五言绝句".into(),
            (Form::Qijue, true) => "七言绝句".into(),
            (Form::Wulv, true) => "五言律诗".into(),
            (Form::Qilv, true) => "七言律诗".into(),
        }
    };
    let wind = corpus("风")[0];
    assert_eq!(wind, '風');
    for (i, seed) in seeds.iter().enumerate() {
        for form in Form::ALL {
            let heads = if form.lines() == 4 { heads4 } else { heads8 };
            let line = if form.width() == 5 { line5 } else { line7 };
            let slots = Slots {
                form: spelled(form, i % 2 == 1),
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
        }
    }
}
