//! Chapter 7's run: `glassbox-train instruct`. Round 0 (instruction
//! back-translation over the corpus), LoRA plus the new tokens' rows on the
//! frozen chapter-4 model, then round 1 (self-instruct: the round-0 model
//! writes instructions from three seeds, the filters keep the new ones it
//! then answers correctly), training again on the enlarged pool, and the
//! measurements in `assets/models/instruct/metrics.json`.

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Instant};

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use compute::{
    inputs::SplitMix64,
    instruct::{
        data::{Filler, Pair},
        model::{
            base_prompt, forced_reference, generation, length_or_blacklist, prompt, response,
            seed_pool, tuned_config, CONFIG_PATH, HELD_OUT_PATH, METRICS_PATH, POOL_PATH,
            WEIGHTS_PATH,
        },
        parse,
        rouge::{rouge_l, tokens, NOVELTY_THRESHOLD},
        seeds::{parse_seeds, Seed, SEEDS_PATH},
        vocab::InstructVocab,
        Constraint, Kind, Scripts,
    },
    models::llama::{
        sampling::{generate_cpu, sample_token, Sampling},
        CpuDecoder, Llama, LlamaConfig, CONFIG_PATH as BASE_CONFIG, TOKENIZER_PATH,
        WEIGHTS_PATH as BASE_WEIGHTS,
    },
    tang::{decode_corpus, CharTokenizer, Form, Poem, Split, BOS, CORPUS_PATH, EOS},
    weights::{load, to_safetensors, Tensor as Stored},
};
use glassbox_train::{instruct::InstructTrain, llama::LlamaTrain};
use serde_json::{json, Value};

use crate::llama_recipe::poem_seed;

type Res<T> = Result<T, String>;

fn e(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// The recipe. Rank 16 on every matrix: an acrostic or a continuation asks
/// the model to copy from the instruction, which attention alone cannot
/// learn at rank 4 on W_q and W_v (chapter 5's default).
pub const RANK: usize = 16;
pub const ALPHA: f32 = 16.0;
pub const BATCH: usize = 32;
pub const LR: f64 = 4e-3;
/// The loss's weight on the characters a constraint concerns (an
/// acrostic's heads, a continued line, a keyword where it occurs), against
/// 1 elsewhere: they are a few of a poem's 20 to 64, and copying them from
/// the instruction is what the model must learn.
pub const CONSTRAINED_WEIGHT: f32 = 4.0;
pub const SEED: u64 = 7;
/// Round 0: two instructions per training poem.
pub const PER_POEM: usize = 2;
pub const ROUND0_STEPS: usize = 2400;
pub const ROUND1_STEPS: usize = 600;
/// Self-instruct attempts: prompts of three seeds each.
pub const ROUND1_ATTEMPTS: usize = 1500;
pub const HELD_OUT_PER_KIND: usize = 100;
pub const HELD_OUT_SEED: u64 = 11;
pub const EVAL_SEED: u64 = 13;
pub const EVAL: Sampling = Sampling {
    temperature: 0.8,
    top_k: 0,
    top_p: 1.0,
};

pub struct Setup {
    pub base_config: LlamaConfig,
    pub base_tensors: BTreeMap<String, Stored>,
    pub base: Arc<Llama>,
    pub tokenizer: CharTokenizer,
    pub scripts: Scripts,
    pub seeds: Vec<Seed>,
    pub vocab: InstructVocab,
    pub poems: Vec<Poem>,
}

impl Setup {
    pub fn load(root: &Path) -> Res<Setup> {
        let assets = root.join("assets");
        let read = |p: &str| std::fs::read(assets.join(p)).map_err(|x| format!("{p}: {x}"));
        let text = |p: &str| read(p).map(|b| String::from_utf8_lossy(&b).into_owned());
        let base_config: LlamaConfig = serde_json::from_slice(&read(BASE_CONFIG)?).map_err(e)?;
        let bytes = read(BASE_WEIGHTS)?;
        let base_tensors = load(BASE_WEIGHTS, &bytes, &base_config.specs())
            .map_err(e)?
            .tensors;
        let base = Arc::new(Llama::load(base_config, &bytes).map_err(e)?);
        let tokenizer = CharTokenizer::from_json(&read(TOKENIZER_PATH)?).map_err(e)?;
        let scripts = Scripts::from_opencc(&text("tokenizer/opencc-st-characters.txt")?);
        let seeds = parse_seeds(&text(SEEDS_PATH)?).map_err(e)?;
        let vocab = InstructVocab::build(tokenizer.clone(), &seeds, &scripts);
        let poems = decode_corpus(&read(CORPUS_PATH)?).map_err(e)?;
        Ok(Setup {
            base_config,
            base_tensors,
            base,
            tokenizer,
            scripts,
            seeds,
            vocab,
            poems,
        })
    }

    fn filler(&self) -> Filler<'_> {
        Filler {
            seeds: &self.seeds,
            scripts: &self.scripts,
            vocab: &self.tokenizer,
        }
    }

    pub fn tuned_config(&self) -> LlamaConfig {
        tuned_config(self.base_config, &self.vocab)
    }
}

/// One training example: an instruction, the constraint it states and the
/// poem that answers it.
#[derive(Debug, Clone)]
pub struct Example {
    pub instruction: String,
    pub constraint: Constraint,
    pub form: Form,
    pub poem: String,
}

/// An encoded example and the loss weight of each token it scores
/// (position 2 on).
pub struct Encoded {
    pub ids: Vec<u32>,
    pub weights: Vec<f32>,
}

/// Encoded examples that fit the context.
fn encode(setup: &Setup, examples: &[Example]) -> (Vec<Encoded>, usize) {
    let max = setup.tuned_config().max_seq_len + 1;
    let mut out = Vec::new();
    let mut dropped = 0;
    for x in examples {
        let Ok(ids) = setup
            .vocab
            .encode_instruction(&x.instruction, &setup.scripts)
        else {
            dropped += 1;
            continue;
        };
        let (seq, start) = setup.vocab.encode_pair(&ids, x.form, &x.poem);
        if seq.len() > max {
            dropped += 1;
            continue;
        }
        // The poem's character i is token start + 1 + i, scored at index
        // start − 1 + i.
        let mut weights = vec![1.0; seq.len() - 2];
        for check in x.constraint.verify(&x.poem).checks {
            for (i, ok) in check.marks {
                if let (true, Some(w)) = (ok, weights.get_mut(start - 1 + i)) {
                    *w = CONSTRAINED_WEIGHT;
                }
            }
        }
        out.push(Encoded { ids: seq, weights });
    }
    (out, dropped)
}

fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
}

/// `steps` batches of at most `batch` sequences of one length (none
/// padded): epochs of a seeded shuffle.
fn plan(seqs: &[Encoded], batch: usize, steps: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut by_len: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, s) in seqs.iter().enumerate() {
        by_len.entry(s.ids.len()).or_default().push(i);
    }
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(steps);
    while out.len() < steps && !seqs.is_empty() {
        let mut epoch = Vec::new();
        for idx in by_len.values_mut() {
            shuffle(idx, &mut rng);
            epoch.extend(idx.chunks(batch).map(<[usize]>::to_vec));
        }
        shuffle(&mut epoch, &mut rng);
        out.extend(epoch.into_iter().take(steps - out.len()));
    }
    out
}

fn weight_tensor(seqs: &[Encoded], idx: &[usize]) -> Res<Tensor> {
    let len = seqs[idx[0]].weights.len();
    let flat: Vec<f32> = idx
        .iter()
        .flat_map(|&i| seqs[i].weights.iter().copied())
        .collect();
    Tensor::from_vec(flat, (idx.len(), len), &Device::Cpu).map_err(e)
}

/// Sequences of one length as a [rows, len] tensor.
fn ids_tensor(rows: &[&[u32]]) -> Res<Tensor> {
    let flat: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), rows[0].len()), &Device::Cpu).map_err(e)
}

/// AdamW with a cosine decay to a tenth; returns (step, loss) every 50.
fn train(
    model: &InstructTrain,
    seqs: &[Encoded],
    steps: usize,
    seed: u64,
) -> Res<Vec<(usize, f32)>> {
    let mut opt = AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: LR,
            weight_decay: 0.0,
            ..Default::default()
        },
    )
    .map_err(e)?;
    let mut curve = Vec::new();
    let mut window = Vec::new();
    let start = Instant::now();
    for (step, idx) in plan(seqs, BATCH, steps, seed).iter().enumerate() {
        let progress = step as f64 / steps.max(1) as f64;
        opt.set_learning_rate(
            LR * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())),
        );
        let rows: Vec<&[u32]> = idx.iter().map(|&i| seqs[i].ids.as_slice()).collect();
        let batch = ids_tensor(&rows)?;
        let weights = weight_tensor(seqs, idx)?;
        // The weighted mean: a weight of 4 counts a token four times.
        let total = weights
            .sum_all()
            .and_then(|w| w.to_scalar::<f32>())
            .map_err(e)? as f64;
        let loss = (model
            .token_nll(&batch)
            .and_then(|l| l.mul(&weights))
            .and_then(|l| l.sum_all())
            .map_err(e)?
            / total)
            .map_err(e)?;
        opt.backward_step(&loss).map_err(e)?;
        window.push(loss.to_scalar::<f32>().map_err(e)?);
        if (step + 1) % 50 == 0 || step + 1 == steps {
            let mean = window.iter().sum::<f32>() / window.len() as f32;
            eprintln!(
                "  step {:>5}/{steps}: loss {mean:.4} ({:.0} s)",
                step + 1,
                start.elapsed().as_secs_f64()
            );
            curve.push((step + 1, mean));
            window.clear();
        }
    }
    Ok(curve)
}

/// The merged, quantized model as shipped, and its safetensors bytes.
fn ship(setup: &Setup, model: &InstructTrain) -> Res<(Arc<Llama>, Vec<u8>)> {
    let tensors = model.merged().map_err(e)?;
    let bytes = to_safetensors(&tensors).map_err(e)?;
    let llama = Llama::load(setup.tuned_config(), &bytes).map_err(e)?;
    Ok((Arc::new(llama), bytes))
}

/// What the tuned model writes for `instruction` (already encoded).
pub fn answer(
    setup: &Setup,
    model: &Arc<Llama>,
    instruction: &[u32],
    sampling: Sampling,
    seed: u64,
) -> Res<compute::instruct::model::Response> {
    let p = prompt(&setup.vocab, instruction);
    let g = generation(p.clone(), sampling, seed);
    let trace = generate_cpu(model, &g).map_err(e)?;
    Ok(response(&setup.vocab, &trace.tokens[p.len()..]))
}

/// What chapter 4's model writes given the instruction's text alone (the
/// characters it has no token for read as `<unk>`).
fn base_answer(setup: &Setup, instruction: &[u32], seed: u64) -> Res<String> {
    let p = base_prompt(&setup.vocab, instruction);
    let g = generation(p.clone(), EVAL, seed);
    let trace = generate_cpu(&setup.base, &g).map_err(e)?;
    let written = &trace.tokens[p.len()..];
    let end = written
        .iter()
        .position(|&t| t == EOS)
        .unwrap_or(written.len());
    Ok(setup.tokenizer.decode(&written[..end]))
}

/// A seed phrasing filled from a random training poem: round 1's prompts.
fn filled_seed(setup: &Setup, train: &[usize], rng: &mut SplitMix64) -> Option<String> {
    let i = train[(rng.next_u64() % train.len() as u64) as usize];
    let donor = &setup.poems[train[(rng.next_u64() % train.len() as u64) as usize]];
    let kind = Kind::ALL[(rng.next_u64() % Kind::ALL.len() as u64) as usize];
    setup
        .filler()
        .pair(i, &setup.poems[i], donor, kind, rng)
        .map(|p| p.instruction)
}

/// Draws an instruction after `<bos> <instr> s1 <instr> s2 <instr> s3 <instr>`,
/// until `<resp>`, `<instr>` or `<eos>`.
fn write_instruction(
    setup: &Setup,
    model: &Arc<Llama>,
    shots: &[Vec<u32>],
    seed: u64,
) -> Res<String> {
    let instr = setup.vocab.instr_id();
    let mut p = vec![BOS];
    for s in shots {
        p.push(instr);
        p.extend_from_slice(s);
    }
    p.push(instr);
    let max = model.config.max_seq_len;
    let mut decoder = CpuDecoder::new(model.clone());
    let mut tokens = p.clone();
    let mut written = Vec::new();
    let mut pos = 0;
    while pos + 1 < max {
        let logits = decoder.step(tokens[pos]).map_err(e)?.logits;
        pos += 1;
        if pos < tokens.len() {
            continue;
        }
        let next = sample_token(&logits, EVAL, seed, pos as u32);
        if next == setup.vocab.resp_id() || next == instr || next == EOS {
            break;
        }
        tokens.push(next);
        written.push(next);
        if written.len() > compute::instruct::model::MAX_INSTRUCTION_CHARS {
            break;
        }
    }
    Ok(setup.vocab.decode(&written))
}

#[derive(Default)]
struct Funnel {
    generated: usize,
    length_ok: usize,
    parsed: usize,
    novel: usize,
    answered: usize,
    kept: usize,
    dropped: BTreeMap<&'static str, Vec<String>>,
}

impl Funnel {
    fn drop(&mut self, why: &'static str, what: String) {
        let v = self.dropped.entry(why).or_default();
        if v.len() < 5 {
            v.push(what);
        }
    }
}

/// Round 1: self-instruct with the round-0 model.
fn round1(
    setup: &Setup,
    model: &Arc<Llama>,
    train_poems: &[usize],
    pool: &mut Vec<String>,
) -> Res<(Vec<Example>, Funnel)> {
    let mut rng = SplitMix64::new(SEED + 1);
    let mut funnel = Funnel::default();
    let mut pool_tokens: Vec<Vec<char>> = pool.iter().map(|p| tokens(p)).collect();
    let mut kept = Vec::new();
    for attempt in 0..ROUND1_ATTEMPTS {
        let shots: Vec<Vec<u32>> = (0..3)
            .filter_map(|_| filled_seed(setup, train_poems, &mut rng))
            .filter_map(|s| setup.vocab.encode_instruction(&s, &setup.scripts).ok())
            .collect();
        let text = write_instruction(setup, model, &shots, poem_seed(SEED + 1, attempt))?;
        funnel.generated += 1;
        if let Some(why) = length_or_blacklist(&text) {
            funnel.drop(why, text);
            continue;
        }
        funnel.length_ok += 1;
        let constraint = match parse(&text, &setup.scripts, &setup.tokenizer) {
            Ok(c) => c,
            Err(err) => {
                funnel.drop("does not parse", format!("{text} ({err})"));
                continue;
            }
        };
        funnel.parsed += 1;
        let t = tokens(&text);
        let (best, score) = pool_tokens
            .iter()
            .enumerate()
            .map(|(i, p)| (i, rouge_l(&t, p)))
            .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        if score > NOVELTY_THRESHOLD {
            funnel.drop(
                "not novel",
                format!("{text} (ROUGE-L {score:.2} against {})", pool[best]),
            );
            continue;
        }
        funnel.novel += 1;
        let ids = match setup.vocab.encode_instruction(&text, &setup.scripts) {
            Ok(ids) => ids,
            Err(err) => {
                funnel.drop("does not parse", format!("{text} ({err})"));
                continue;
            }
        };
        let r = answer(setup, model, &ids, EVAL, poem_seed(SEED + 2, attempt))?;
        if !constraint.verify(&r.text).passed() {
            funnel.drop("answered wrongly", format!("{text} → {}", r.text));
            continue;
        }
        funnel.answered += 1;
        let Some(form) = Form::of(&r.text) else {
            continue;
        };
        funnel.kept += 1;
        pool.push(text.clone());
        pool_tokens.push(t);
        kept.push(Example {
            instruction: text,
            constraint,
            form,
            poem: r.text,
        });
    }
    Ok((kept, funnel))
}

#[derive(Default, Clone, Copy)]
struct Tally {
    n: usize,
    base: usize,
    tuned: usize,
    forced: usize,
    forced_n: usize,
}

/// Per type: base, tuned and forced accuracy on the held-out instructions.
fn evaluate(setup: &Setup, tuned: &Arc<Llama>, held: &[Pair]) -> Res<(Value, Vec<Value>)> {
    let mut tallies: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut examples = Vec::new();
    for (i, pair) in held.iter().enumerate() {
        let ids = setup
            .vocab
            .encode_instruction(&pair.instruction, &setup.scripts)
            .map_err(e)?;
        let seed = poem_seed(EVAL_SEED, i);
        let t = tallies.entry(pair.constraint.kind()).or_default();
        t.n += 1;
        let tuned_text = answer(setup, tuned, &ids, EVAL, seed)?.text;
        let tuned_ok = pair.constraint.verify(&tuned_text).passed();
        t.tuned += tuned_ok as usize;
        let base_text = base_answer(setup, &ids, seed)?;
        let base_ok = pair.constraint.verify(&base_text).passed();
        t.base += base_ok as usize;
        if let Some(g) = forced_reference(&pair.constraint, &setup.tokenizer, EVAL, seed) {
            let trace = generate_cpu(&setup.base, &g).map_err(e)?;
            let ids = trace.poem_ids();
            let end = ids.iter().position(|&t| t == EOS).unwrap_or(ids.len());
            t.forced_n += 1;
            t.forced += pair
                .constraint
                .verify(&setup.tokenizer.decode(&ids[..end]))
                .passed() as usize;
        }
        // The first held-out instruction of each of three types.
        if i % HELD_OUT_PER_KIND == 0 && examples.len() < 5 {
            examples.push(json!({
                "instruction": pair.instruction,
                "kind": pair.constraint.kind().name(),
                "seed": seed,
                "base": base_text,
                "base_passed": base_ok,
                "tuned": tuned_text,
                "tuned_passed": tuned_ok,
            }));
        }
        if (i + 1) % 50 == 0 {
            eprintln!("  evaluated {}/{}", i + 1, held.len());
        }
    }
    let rate = |k: usize, n: usize| {
        if n == 0 {
            Value::Null
        } else {
            json!(k as f64 / n as f64)
        }
    };
    let mut per_kind = serde_json::Map::new();
    for (kind, t) in &tallies {
        per_kind.insert(
            kind.name().to_string(),
            json!({
                "n": t.n,
                "base": rate(t.base, t.n),
                "tuned": rate(t.tuned, t.n),
                "forced": rate(t.forced, t.forced_n),
            }),
        );
    }
    let mean =
        |f: &dyn Fn(&Tally) -> f64| tallies.values().map(f).sum::<f64>() / tallies.len() as f64;
    Ok((
        json!({
            "per_kind": per_kind,
            "average_base": mean(&|t| t.base as f64 / t.n as f64),
            "average_tuned": mean(&|t| t.tuned as f64 / t.n as f64),
        }),
        examples,
    ))
}

/// Mean NLL per scored token of chapter 4's test poems: the base after
/// `<bos> <form>`, the tuned model after the form's instruction and its
/// form token. Scored: the characters and `<eos>`.
fn forgetting(setup: &Setup, tuned: &BTreeMap<String, Stored>) -> Res<Value> {
    let test: Vec<&Poem> = setup
        .poems
        .iter()
        .filter(|p| p.split() == Split::Test && !p.held_out())
        .collect();
    let base = LlamaTrain::from_export(setup.base_config, &setup.base_tensors).map_err(e)?;
    let tuned_model = LlamaTrain::from_export(setup.tuned_config(), tuned).map_err(e)?;
    let (mut base_sum, mut tuned_sum, mut scored) = (0.0, 0.0, 0usize);
    let mut instructions = serde_json::Map::new();
    let seed = setup
        .seeds
        .iter()
        .find(|s| s.kind == Kind::Form)
        .ok_or("no form seed")?;
    for form in Form::ALL {
        let text = seed.render(&compute::instruct::seeds::Slots {
            form: compute::instruct::data::spelled(form, false).to_string(),
            ..Default::default()
        });
        let ids = setup
            .vocab
            .encode_instruction(&text, &setup.scripts)
            .map_err(e)?;
        instructions.insert(form.name().to_string(), json!(text));
        let poems: Vec<&&Poem> = test.iter().filter(|p| p.form == form).collect();
        for chunk in poems.chunks(64) {
            let base_seqs: Vec<Vec<u32>> = chunk
                .iter()
                .map(|p| setup.tokenizer.encode_poem(form, &p.text))
                .collect();
            let tuned_seqs: Vec<(Vec<u32>, usize)> = chunk
                .iter()
                .map(|p| setup.vocab.encode_pair(&ids, form, &p.text))
                .collect();
            let b = ids_tensor(&base_seqs.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
            base_sum += base
                .nll(&b)
                .map_err(e)?
                .sum_all()
                .map_err(e)?
                .to_scalar::<f32>()
                .map_err(e)? as f64;
            let seqs: Vec<&[u32]> = tuned_seqs.iter().map(|s| s.0.as_slice()).collect();
            let start = tuned_seqs[0].1;
            let t = ids_tensor(&seqs)?;
            let len = seqs[0].len();
            // Scored: after the form token (at `start`) to the end.
            let logits = tuned_model
                .logits(&t.narrow(1, 0, len - 1).map_err(e)?)
                .map_err(e)?;
            let from = start; // logits[from] predicts token from + 1
            let n = len - 1 - from;
            let log_p = candle_nn::ops::log_softmax(
                &logits
                    .narrow(1, from, n)
                    .map_err(e)?
                    .contiguous()
                    .map_err(e)?,
                candle_core::D::Minus1,
            )
            .map_err(e)?;
            let targets = t
                .narrow(1, from + 1, n)
                .and_then(|x| x.contiguous())
                .and_then(|x| x.unsqueeze(candle_core::D::Minus1))
                .map_err(e)?;
            tuned_sum -= log_p
                .gather(&targets, candle_core::D::Minus1)
                .and_then(|g| g.sum_all())
                .and_then(|s| s.to_scalar::<f32>())
                .map_err(e)? as f64;
            scored += chunk.len() * n;
        }
    }
    let (b, t) = (base_sum / scored as f64, tuned_sum / scored as f64);
    Ok(json!({
        "test_poems": test.len(),
        "scored_tokens": scored,
        "base_nats_per_token": b,
        "tuned_nats_per_token": t,
        "difference": t - b,
        "instructions": instructions,
    }))
}

/// The whole run; writes the shipped model, its metrics, the held-out
/// instructions and the pool.
pub fn run(root: &Path) -> Res<()> {
    let started = Instant::now();
    let setup = Setup::load(root)?;
    let tuned_cfg = setup.tuned_config();
    // Round 0.
    let (pairs, counts) = setup.filler().round0(&setup.poems, PER_POEM, SEED);
    let examples: Vec<Example> = pairs
        .iter()
        .map(|p| Example {
            instruction: p.instruction.clone(),
            constraint: p.constraint.clone(),
            form: setup.poems[p.poem].form,
            poem: setup.poems[p.poem].text.clone(),
        })
        .collect();
    let (seqs0, too_long0) = encode(&setup, &examples);
    eprintln!(
        "instruct: round 0: {} pairs from {} poems ({} left out for sharing a test line, {} not made, {} too long)",
        seqs0.len(),
        counts.poems,
        counts.sharing_a_test_line,
        counts.dropped,
        too_long0
    );
    let model = InstructTrain::new(
        setup.base_config,
        tuned_cfg,
        &setup.base_tensors,
        RANK,
        ALPHA,
        SEED,
    )
    .map_err(e)?;
    let (lora_params, row_params) = model.trainable_params();
    eprintln!("instruct: training {lora_params} LoRA numbers and {row_params} in new rows");
    let t0 = Instant::now();
    let curve0 = train(&model, &seqs0, ROUND0_STEPS, SEED)?;
    let round0_seconds = t0.elapsed().as_secs_f64();
    let (round0_model, _) = ship(&setup, &model)?;
    // Round 1.
    let train_poems: Vec<usize> = (0..setup.poems.len())
        .filter(|&i| setup.poems[i].trains_base())
        .collect();
    let mut pool = seed_pool(&setup.seeds);
    let seeds_in_pool = pool.len();
    let t1 = Instant::now();
    let (kept, funnel) = round1(&setup, &round0_model, &train_poems, &mut pool)?;
    let round1_generation_seconds = t1.elapsed().as_secs_f64();
    eprintln!(
        "instruct: round 1: generated {}, length ok {}, parsed {}, novel {}, answered correctly {}, kept {}",
        funnel.generated, funnel.length_ok, funnel.parsed, funnel.novel, funnel.answered, funnel.kept
    );
    let (seqs1, _) = encode(&setup, &kept);
    let mut all = seqs0;
    all.extend(seqs1);
    let t2 = Instant::now();
    let curve1 = train(&model, &all, ROUND1_STEPS, SEED + 3)?;
    let round1_seconds = t2.elapsed().as_secs_f64();
    let training_seconds = started.elapsed().as_secs_f64();
    let tensors = model.merged().map_err(e)?;
    let (tuned, bytes) = ship(&setup, &model)?;
    // Measurements, on the shipped model.
    let held = setup
        .filler()
        .held_out(&setup.poems, HELD_OUT_PER_KIND, HELD_OUT_SEED);
    let t3 = Instant::now();
    let (accuracy, examples) = evaluate(&setup, &tuned, &held)?;
    let forgetting = forgetting(&setup, &tensors)?;
    let eval_seconds = t3.elapsed().as_secs_f64();
    let assets = root.join("assets");
    let write = |p: &str, bytes: &[u8]| -> Res<()> {
        let path = assets.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).map_err(e)?;
        std::fs::write(&path, bytes).map_err(|x| format!("{p}: {x}"))
    };
    write(WEIGHTS_PATH, &bytes)?;
    write(
        CONFIG_PATH,
        serde_json::to_string_pretty(&tuned_cfg)
            .map_err(e)?
            .as_bytes(),
    )?;
    let mut held_tsv = String::from(
        "# kind\tinstruction (chapter 7's held-out set: slots from test poems only)\n",
    );
    for p in &held {
        held_tsv.push_str(&format!(
            "{}\t{}\n",
            p.constraint.kind().name(),
            p.instruction
        ));
    }
    write(HELD_OUT_PATH, held_tsv.as_bytes())?;
    let mut pool_tsv =
        String::from("# instruction (round 1's kept instructions, after the seeds filled once)\n");
    for p in &pool[seeds_in_pool..] {
        pool_tsv.push_str(p);
        pool_tsv.push('\n');
    }
    write(POOL_PATH, pool_tsv.as_bytes())?;
    let metrics = json!({
        "recipe": {
            "base": BASE_WEIGHTS,
            "lora_rank": RANK,
            "lora_alpha": ALPHA,
            "lora_targets": "every matrix (wq wk wv wo w1 w2 w3)",
            "batch": BATCH,
            "learning_rate": LR,
            "schedule": "AdamW, cosine to a tenth",
            "constrained_weight": CONSTRAINED_WEIGHT,
            "seed": SEED,
            "round0_steps": ROUND0_STEPS,
            "round1_steps": ROUND1_STEPS,
            "trainable_lora_params": lora_params,
            "trainable_new_row_params": row_params,
            "trainable_params": lora_params + row_params,
            "base_params": setup.base_config.params(),
            "new_tokens": setup.vocab.len() - setup.tokenizer.len(),
        },
        "round0": {
            "poems": counts.poems,
            "sharing_a_test_line": counts.sharing_a_test_line,
            "pairs": counts.pairs,
            "not_made": counts.dropped,
            "too_long": too_long0,
        },
        "funnel": {
            "attempts": ROUND1_ATTEMPTS,
            "generated": funnel.generated,
            "length_and_blacklist": funnel.length_ok,
            "parsed": funnel.parsed,
            "novel": funnel.novel,
            "answered_correctly": funnel.answered,
            "kept": funnel.kept,
            "seeds_in_pool": seeds_in_pool,
            "dropped_examples": funnel.dropped,
        },
        "accuracy": {
            "temperature": EVAL.temperature,
            "seed": EVAL_SEED,
            "held_out_seed": HELD_OUT_SEED,
            "per_kind_n": HELD_OUT_PER_KIND,
            "table": accuracy,
        },
        "forgetting": forgetting,
        "examples": examples,
        "training": {
            "round0_seconds": round0_seconds,
            "round1_generation_seconds": round1_generation_seconds,
            "round1_seconds": round1_seconds,
            "training_seconds": training_seconds,
            "evaluation_seconds": eval_seconds,
            "curve_round0": curve0,
            "curve_round1": curve1,
        },
    });
    let text = serde_json::to_string_pretty(&metrics).map_err(e)?;
    write(METRICS_PATH, text.as_bytes())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&metrics["accuracy"]).map_err(e)?
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&metrics["forgetting"]).map_err(e)?
    );
    Ok(())
}

/// `sample-instruct --prompt P --n N --seed S --temperature T`: one poem per
/// line on standard output, in the corpus's script.
pub fn sample(root: &Path, instruction: &str, n: usize, seed: u64, s: Sampling) -> Res<()> {
    let setup = Setup::load(root)?;
    let ids = setup
        .vocab
        .encode_instruction(instruction, &setup.scripts)
        .map_err(|x| format!("--prompt: {x}"))?;
    if ids.len() > compute::instruct::model::MAX_INSTRUCTION_CHARS {
        return Err(format!(
            "--prompt: at most {} characters",
            compute::instruct::model::MAX_INSTRUCTION_CHARS
        ));
    }
    let constraint: Option<Constraint> = parse(instruction, &setup.scripts, &setup.tokenizer).ok();
    let bytes = std::fs::read(root.join("assets").join(WEIGHTS_PATH))
        .map_err(|x| format!("{WEIGHTS_PATH}: {x}; run `cargo xtask train instruct`"))?;
    let tuned = Arc::new(Llama::load(setup.tuned_config(), &bytes).map_err(e)?);
    let mut passed = 0;
    for i in 0..n {
        let r = answer(&setup, &tuned, &ids, s, poem_seed(seed, i))?;
        passed += constraint
            .as_ref()
            .is_some_and(|c| c.verify(&r.text).passed()) as usize;
        println!("{}", r.text);
    }
    match constraint {
        Some(c) => eprintln!("sample: {passed} of {n} pass the verifier ({:?})", c),
        None => eprintln!("sample: the instruction states no constraint a program can check"),
    }
    Ok(())
}
