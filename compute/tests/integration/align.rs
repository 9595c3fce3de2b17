//! Chapter 8's rules on the committed 平水韵 table: known poems checked by
//! hand, and the data report (table against the corpus's strains, the
//! corpus's own scores) recomputed from the committed files.

use std::path::PathBuf;

use compute::{
    align::{
        rules::{check, FormScores, Rule, Tone, ToneTable, TABLE_PATH},
        strains::{agreement, decode_strains, STRAINS_PATH},
    },
    tang::{decode_corpus, Form, CORPUS_PATH},
};

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

fn table() -> ToneTable {
    ToneTable::parse(&std::fs::read_to_string(assets().join(TABLE_PATH)).unwrap()).unwrap()
}

/// Failed checks as (rule, lines).
fn failures(form: Form, text: &str) -> Vec<(Rule, Vec<usize>)> {
    check(&table(), form, text)
        .unwrap()
        .outcomes
        .into_iter()
        .filter(|o| !o.passed)
        .map(|o| (o.rule, o.lines))
        .collect()
}

fn tones(form: Form, text: &str) -> String {
    check(&table(), form, text)
        .unwrap()
        .lines
        .iter()
        .map(|l| l.iter().map(|(_, t)| t.mark()).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// 王之渙《登鸛雀樓》, a regular 五绝.
pub const STORK: &str = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。";
/// 李白《靜夜思》, an old-style quatrain that keeps few of the rules.
pub const NIGHT: &str = "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。";
/// 杜甫《春望》, a regular 五律.
pub const SPRING: &str = "國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。烽火連三月，家書抵萬金。白頭搔更短，渾欲不勝簪。";

#[test]
fn known_poems_get_the_marks_checked_by_hand() {
    assert_eq!(
        tones(Form::Wujue, STORK),
        "仄仄平平仄 平平仄仄平 仄平平仄仄 ○仄仄平平"
    );
    assert_eq!(failures(Form::Wujue, STORK), vec![]);
    // 是 and 上 are both 仄, 頭 and 明 both 平: two lines fail 分明, both
    // couplets fail 對, and 舉頭 does not stick to 疑是. 霜 and 鄉 rhyme (七陽).
    assert_eq!(
        tones(Form::Wujue, NIGHT),
        "平平平仄平 平仄仄仄平 仄平○平仄 平平○仄○"
    );
    assert_eq!(
        failures(Form::Wujue, NIGHT),
        vec![
            (Rule::Alternate, vec![1]),
            (Rule::Alternate, vec![2]),
            (Rule::Oppose, vec![0, 1]),
            (Rule::Oppose, vec![2, 3]),
            (Rule::Stick, vec![1, 2]),
        ]
    );
    let c = check(&table(), Form::Wujue, NIGHT).unwrap();
    assert!((c.reward() - 7.0 / 12.0).abs() < 1e-12);
    // 深 has a level and an oblique reading: either.
    assert_eq!(
        tones(Form::Wulv, SPRING),
        "仄仄平平仄 平平仄仄○ 仄平平○仄 仄仄仄平平 平仄平○仄 平平仄仄平 仄平平○仄 ○仄○○平"
    );
    assert_eq!(failures(Form::Wulv, SPRING), vec![]);
    assert_eq!(
        compute::align::rules::failed(&table(), Form::Qilv, SPRING),
        24
    );
}

/// Equal, numbers to 1e-12 (JSON's decimal round trip may move the last bit).
fn assert_close(a: &serde_json::Value, b: &serde_json::Value) {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{x} against {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).for_each(|(x, y)| assert_close(x, y));
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
            x.iter().for_each(|(k, v)| assert_close(v, &y[k]));
        }
        _ => assert_eq!(a, b),
    }
}

/// report.json agrees with the committed table, corpus and strains.
#[test]
fn the_data_report_is_what_the_committed_files_give() {
    let table = table();
    let poems = decode_corpus(&std::fs::read(assets().join(CORPUS_PATH)).unwrap()).unwrap();
    let strains =
        decode_strains(&std::fs::read(assets().join(STRAINS_PATH)).unwrap(), &poems).unwrap();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(assets().join("data/rhyme/report.json")).unwrap(),
    )
    .unwrap();
    let a = agreement(&table, &poems, &strains);
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        report["agreement"]["counts"]
    );
    // Most poems have strains; where both sides are definite they agree.
    assert!(a.poems_with_strains as f64 > 0.95 * poems.len() as f64);
    assert!(a.rate() > 0.99, "{a:?}");
    assert!(a.coverage() > 0.97, "{a:?}");
    assert!(strains
        .iter()
        .flatten()
        .flatten()
        .any(|t| *t == Tone::Either));
    for (k, form) in Form::ALL.into_iter().enumerate() {
        let scores = FormScores::of(
            &table,
            form,
            poems
                .iter()
                .filter(|p| p.form == form)
                .map(|p| p.text.as_str()),
        );
        assert_close(
            &serde_json::to_value(&scores).unwrap(),
            &report["corpus"][k],
        );
        // Real regulated verse keeps the rules far more often than not.
        assert!(
            scores.all_passed > 0.4 && scores.failed_per_poem < 1.5,
            "{scores:?}"
        );
    }
}

/// The shipped chapter-4 model.
fn shipped() -> compute::models::llama::Llama {
    use compute::models::llama::{Llama, LlamaConfig, CONFIG_PATH, WEIGHTS_PATH};
    let config: LlamaConfig =
        serde_json::from_slice(&std::fs::read(assets().join(CONFIG_PATH)).unwrap()).unwrap();
    Llama::load(config, &std::fs::read(assets().join(WEIGHTS_PATH)).unwrap()).unwrap()
}

/// A poem's padded log-probability is chapter 4's decoder's −NLL, whatever
/// else shares its batch; DPO steps on a few pairs lower their loss from
/// log 2.
#[test]
fn dpo_steps_on_the_cpu_lower_the_loss_from_log_2() {
    use compute::{
        align::dpo::{reference_logps, CpuDpo, Preference},
        models::llama::{
            lora::{cpu::Frozen, Adapter, LoraConfig, Targets},
            poem_nll,
        },
        reference::backprop::AdamW,
        tang::{CharTokenizer, BOS, EOS},
    };
    use std::sync::Arc;
    let model = shipped();
    let frozen = Frozen::new(&model).unwrap();
    let tokenizer = CharTokenizer::from_json(
        &std::fs::read(assets().join(compute::models::llama::TOKENIZER_PATH)).unwrap(),
    )
    .unwrap();
    let seq = |form: Form, text: &str| -> Vec<u32> {
        let mut ids = vec![BOS, CharTokenizer::form_id(form)];
        ids.extend(text.chars().map(|c| tokenizer.id(c)));
        ids.push(EOS);
        ids
    };
    let (stork, night, spring) = (
        seq(Form::Wujue, STORK),
        seq(Form::Wujue, NIGHT),
        seq(Form::Wulv, SPRING),
    );
    let refs = reference_logps(&frozen, &[&stork, &night, &spring], 8).unwrap();
    let arc = Arc::new(model.clone());
    for (ids, got) in [&stork, &night, &spring].iter().zip(&refs) {
        let (nll, _) = poem_nll(&arc, ids).unwrap();
        assert!((got + nll).abs() < 1e-2 * nll, "{got} against −{nll}");
    }
    // The rules prefer 登鸛雀樓 to 靜夜思, and 春望 to a scrambled 春望.
    let scrambled: String = {
        let mut cs: Vec<char> = SPRING.chars().collect();
        cs.swap(1, 7);
        cs.swap(13, 19);
        cs.into_iter().collect()
    };
    let scrambled = seq(Form::Wulv, &scrambled);
    let scrambled_ref = reference_logps(&frozen, &[&scrambled], 1).unwrap()[0];
    let pairs = vec![
        Preference {
            chosen: stork.clone(),
            rejected: night.clone(),
            ref_chosen: refs[0],
            ref_rejected: refs[1],
        },
        Preference {
            chosen: spring.clone(),
            rejected: scrambled,
            ref_chosen: refs[2],
            ref_rejected: scrambled_ref,
        },
    ];
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        targets: Targets::Qv,
    };
    let mut dpo = CpuDpo::new(
        frozen,
        Adapter::init(&model.config, lora, 5),
        AdamW::with_lr(2e-3),
        0.1,
    );
    let first = dpo.step(&pairs).unwrap();
    // B starts at zero: the policy is π_ref, h = 0, L = log 2.
    assert!((first.loss - 2f64.ln()).abs() < 1e-5, "{first:?}");
    let mut last = first;
    for _ in 0..4 {
        last = dpo.step(&pairs).unwrap();
    }
    assert!(last.loss < first.loss - 1e-3, "{first:?} then {last:?}");
    assert!(last.margin > 0.0 && last.accuracy == 1.0, "{last:?}");
}

/// Every committed run's adapter loads, and metrics.json holds what the
/// chapter draws: the base, the reward model's accuracy, and each run's
/// evaluation on the same 800 samples.
#[test]
fn the_committed_runs_load_and_report_the_same_evaluation() {
    use compute::{
        align::dpo::best_of_n_kl,
        models::llama::{lora::Adapter, LlamaConfig, CONFIG_PATH},
    };
    let config: LlamaConfig =
        serde_json::from_slice(&std::fs::read(assets().join(CONFIG_PATH)).unwrap()).unwrap();
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(assets().join("models/align/metrics.json")).unwrap())
            .unwrap();
    let base = &metrics["base"];
    assert_eq!(base["samples"], 800);
    assert_eq!(base["kl"], 0.0);
    let rm = metrics["rm"]["held_out_pair_accuracy"].as_f64().unwrap();
    assert!(rm > 0.5 && rm <= 1.0, "{rm}");
    // Best of 1 is the base's own evaluation, sample for sample.
    let bon = metrics["best-of-n"]["runs"].as_array().unwrap();
    assert_eq!(bon[0]["failed_per_poem"], base["failed_per_poem"]);
    for run in bon {
        let n = run["n"].as_u64().unwrap() as usize;
        assert!((run["kl"].as_f64().unwrap() - best_of_n_kl(n)).abs() < 1e-12);
    }
    let runs: Vec<(&String, &serde_json::Value)> = metrics
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("dpo") || k.starts_with("ppo"))
        .collect();
    assert!(runs.iter().any(|(k, _)| k.starts_with("dpo")));
    assert!(runs.iter().any(|(k, _)| k.starts_with("ppo")));
    for (key, run) in runs {
        let path = format!("models/align/{key}.safetensors");
        let adapter = Adapter::from_safetensors(
            &path,
            &config,
            &std::fs::read(assets().join(&path)).unwrap(),
        )
        .unwrap();
        assert!(adapter.flat().iter().any(|&v| v != 0.0), "{key}");
        assert_eq!(run["eval"]["samples"], 800, "{key}");
        assert!(run["eval"]["kl"].as_f64().unwrap() > 0.0, "{key}");
    }
}

/// A DPO step on the GPU (chapter 5's kernels, cross-entropy weighted per
/// poem) gives CpuDpo's loss and gradients, with pairs of different
/// lengths padded into one batch; a few steps lower the loss.
#[test]
fn dpo_on_the_gpu_matches_the_cpu_and_lowers_the_loss() {
    use crate::common::{assert_close, gpu};
    use compute::{
        align::dpo::{reference_logps, CpuDpo, Preference},
        models::llama::lora::{cpu::Frozen, gpu::GpuTrainer, Adapter, LoraConfig, Targets},
        reference::backprop::AdamW,
        tang::{CharTokenizer, BOS, EOS},
    };
    let Some(exec) = gpu() else { return };
    let model = shipped();
    let frozen = Frozen::new(&model).unwrap();
    let tokenizer = CharTokenizer::from_json(
        &std::fs::read(assets().join(compute::models::llama::TOKENIZER_PATH)).unwrap(),
    )
    .unwrap();
    let seq = |form: Form, text: &str| -> Vec<u32> {
        let mut ids = vec![BOS, CharTokenizer::form_id(form)];
        ids.extend(text.chars().map(|c| tokenizer.id(c)));
        ids.push(EOS);
        ids
    };
    let (stork, night, spring) = (
        seq(Form::Wujue, STORK),
        seq(Form::Wujue, NIGHT),
        seq(Form::Wulv, SPRING),
    );
    let refs = reference_logps(&frozen, &[&stork, &night, &spring], 8).unwrap();
    // The second pair mixes a 五律 and a 五绝: padded to one length.
    let pairs = vec![
        Preference {
            chosen: stork.clone(),
            rejected: night.clone(),
            ref_chosen: refs[0],
            ref_rejected: refs[1],
        },
        Preference {
            chosen: spring.clone(),
            rejected: night.clone(),
            ref_chosen: refs[2],
            ref_rejected: refs[1],
        },
    ];
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        targets: Targets::Qv,
    };
    // A nonzero B, so the policy differs from π_ref and h ≠ 0.
    let mut adapter = Adapter::init(&model.config, lora, 5);
    for p in &mut adapter.pairs {
        for (i, b) in p.b.iter_mut().enumerate() {
            *b = ((i % 7) as f32 - 3.0) * 0.01;
        }
    }
    let beta = 0.5;
    let cpu = CpuDpo::new(frozen, adapter.clone(), AdamW::with_lr(2e-3), beta);
    let (want, want_grad) = cpu.gradients(&pairs).unwrap();
    let mut gpu_trainer = GpuTrainer::new(&exec, &model, &adapter, AdamW::with_lr(2e-3)).unwrap();
    let (got, got_grad) =
        pollster::block_on(gpu_trainer.dpo_gradients(&exec, &pairs, beta)).unwrap();
    assert!(
        (got.loss - want.loss).abs() < 1e-3,
        "{got:?} against {want:?}"
    );
    assert!(
        (got.margin - want.margin).abs() < 1e-2,
        "{got:?} against {want:?}"
    );
    let scale = want_grad.iter().fold(0f32, |m, g| m.max(g.abs()));
    assert!(scale > 0.0);
    assert_close(&got_grad, &want_grad, 2e-2 * scale, "DPO gradient");
    let first = pollster::block_on(gpu_trainer.dpo_step(&exec, &pairs, beta)).unwrap();
    let mut last = first;
    for _ in 0..4 {
        last = pollster::block_on(gpu_trainer.dpo_step(&exec, &pairs, beta)).unwrap();
    }
    assert!(last.loss < first.loss - 1e-3, "{first:?} then {last:?}");
}
