//! `glassbox-train llama`: builds the character vocabulary, measures the
//! unigram and bigram baselines, trains chapter 4's LLaMA and writes
//! assets/tokenizer/tang-chars.json and assets/models/llama/tang.*.
//! `glassbox-train sample-llama` draws poems from the shipped weights.

use std::{path::Path, sync::Arc, time::Instant};

use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use compute::{
    inputs::SplitMix64,
    models::llama::{
        poem_nll,
        sampling::{generate, Generation, Sampling},
        scaling::{fit as fit_scaling, ScalingPoint},
        Llama, LlamaConfig, CONFIG_PATH, METRICS_PATH, SCALING_PATH, TOKENIZER_PATH, WEIGHTS_PATH,
    },
    tang::{parse_corpus, CharTokenizer, Form, Poem, SimplifiedToTraditional, Split, EOS},
    weights::{load, to_safetensors},
};
use glassbox_train::llama::{mean_nll, LlamaTrain, PoemSet};
use serde::Serialize;
use serde_json::json;

type Res<T> = std::result::Result<T, String>;

fn e(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// The shipped model's shape: about 1.9M parameters, 2.1 MB in Q8_0.
pub const CONFIG: LlamaConfig = LlamaConfig {
    dim: 128,
    n_layers: 4,
    n_heads: 4,
    n_kv_heads: 2,
    hidden_dim: 384,
    vocab_size: 0, // set from the vocabulary
    norm_eps: 1e-5,
    rope_theta: 10_000.0,
    // <bos> <七律> and 64 characters: the longest input (<eos> is never fed).
    max_seq_len: 66,
};

/// Training length for the shipped model, in passes over the training poems.
pub const EPOCHS: f64 = 7.0;

/// How long and how fast to train.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Plan {
    /// Poems per step (all of one form, so no padding).
    pub batch: usize,
    pub peak_lr: f64,
    pub warmup_steps: usize,
    /// Cosine decay from the peak to a tenth of it over the whole run.
    pub weight_decay: f64,
    /// Training tokens (characters and `<eos>`) to see; the run stops at
    /// the first step past it.
    pub tokens: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub step: usize,
    pub tokens_seen: usize,
    pub train_nll: f64,
    pub val_nll: f64,
    pub seconds: f64,
}

pub struct Corpus {
    pub tokenizer: CharTokenizer,
    pub poems: Vec<Poem>,
    pub train: PoemSet,
    pub val: PoemSet,
    pub test: PoemSet,
}

impl Corpus {
    pub fn load(root: &Path) -> Res<Corpus> {
        let path = root.join("assets/data/tang/poems.tsv");
        let tsv = std::fs::read_to_string(&path)
            .map_err(|x| format!("{}: {x}; run `cargo xtask data tang`", path.display()))?;
        let poems = parse_corpus(&tsv).map_err(e)?;
        let tokenizer = CharTokenizer::build(
            poems
                .iter()
                .filter(|p| p.trains_base())
                .map(|p| p.text.as_str()),
        );
        let set = |keep: &dyn Fn(&Poem) -> bool| {
            PoemSet::new(&tokenizer, poems.iter().filter(|p| keep(p)))
        };
        let train = set(&|p| p.trains_base());
        let val = set(&|p| p.split() == Split::Validation);
        let test = set(&|p| p.split() == Split::Test);
        Ok(Corpus {
            tokenizer,
            poems,
            train,
            val,
            test,
        })
    }

    pub fn config(&self, base: LlamaConfig) -> LlamaConfig {
        LlamaConfig {
            vocab_size: self.tokenizer.len(),
            ..base
        }
    }
}

/// Unigram and interpolated-bigram NLL per scored token, counted on the
/// training poems' scored tokens (a character's context is the token before
/// it, the form token for c1). The unigram is add-one smoothed over the
/// vocabulary; the bigram's λ is tuned on validation in steps of 0.01.
pub struct Baselines {
    pub unigram: f64,
    pub bigram: f64,
    pub lambda: f64,
}

pub fn baselines(c: &Corpus) -> Baselines {
    let v = c.tokenizer.len();
    let pairs = |set: &PoemSet| -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for (f, ids) in set.by_form.iter().enumerate() {
            let t = Form::ALL[f].chars() + 3;
            for poem in ids.chunks(t) {
                out.extend(poem[1..].windows(2).map(|w| (w[0], w[1])));
            }
        }
        out
    };
    let train = pairs(&c.train);
    let mut uni = vec![1.0f64; v];
    let mut context = vec![0.0f64; v];
    let mut bi = std::collections::HashMap::<(u32, u32), f64>::new();
    for &(a, b) in &train {
        uni[b as usize] += 1.0;
        context[a as usize] += 1.0;
        *bi.entry((a, b)).or_default() += 1.0;
    }
    let total: f64 = uni.iter().sum();
    let p_uni = |b: u32| uni[b as usize] / total;
    let nll = |set: &[(u32, u32)], lambda: f64| -> f64 {
        set.iter()
            .map(|&(a, b)| {
                let p_bi = if context[a as usize] > 0.0 {
                    bi.get(&(a, b)).copied().unwrap_or(0.0) / context[a as usize]
                } else {
                    0.0
                };
                -(lambda * p_bi + (1.0 - lambda) * p_uni(b)).ln()
            })
            .sum::<f64>()
            / set.len() as f64
    };
    let (val, test) = (pairs(&c.val), pairs(&c.test));
    let lambda = (0..100)
        .map(|k| k as f64 / 100.0)
        .min_by(|a, b| nll(&val, *a).total_cmp(&nll(&val, *b)))
        .unwrap_or(0.5);
    Baselines {
        unigram: nll(&test, 0.0),
        bigram: nll(&test, lambda),
        lambda,
    }
}

/// Trains `model` on the corpus's training poems; keeps the parameters of
/// the evaluation with the best validation NLL (evaluated `evals` times,
/// evenly). Returns the learning curve.
pub fn fit(
    model: &LlamaTrain,
    corpus: &Corpus,
    plan: &Plan,
    evals: usize,
    mut log: impl FnMut(&Evaluation),
) -> Res<Vec<Evaluation>> {
    let start = Instant::now();
    let set = &corpus.train;
    let per_poem = set.scored_tokens as f64 / set.poems as f64;
    let total_steps = (plan.tokens as f64 / (per_poem * plan.batch as f64)).ceil() as usize;
    let eval_every = total_steps.div_ceil(evals.max(1));
    let vars = model.vars();
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: plan.peak_lr,
            weight_decay: plan.weight_decay,
            ..Default::default()
        },
    )
    .map_err(e)?;
    let mut rng = SplitMix64::new(plan.seed);
    let mut batches: Vec<(usize, Vec<usize>)> = Vec::new();
    let (mut step, mut seen, mut train_sum, mut train_tokens) = (0, 0usize, 0.0, 0usize);
    let mut curve = Vec::new();
    let mut best: Option<(f64, Vec<candle_core::Tensor>)> = None;
    while step < total_steps {
        if batches.is_empty() {
            batches = epoch_batches(set, plan.batch, &mut rng);
        }
        let (form, indices) = batches.pop().expect("refilled above");
        let lr = if step < plan.warmup_steps {
            plan.peak_lr * (step + 1) as f64 / plan.warmup_steps as f64
        } else {
            let progress =
                (step - plan.warmup_steps) as f64 / (total_steps - plan.warmup_steps).max(1) as f64;
            plan.peak_lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
        };
        opt.set_learning_rate(lr);
        let tokens = indices.len() * (Form::ALL[form].chars() + 1);
        let summed = model
            .nll(&set.batch(form, &indices).map_err(e)?)
            .map_err(e)?
            .sum_all()
            .map_err(e)?;
        opt.backward_step(&(&summed / tokens as f64).map_err(e)?)
            .map_err(e)?;
        train_sum += summed.to_scalar::<f32>().map_err(e)? as f64;
        train_tokens += tokens;
        seen += tokens;
        step += 1;
        if step % eval_every == 0 || step == total_steps {
            let ev = Evaluation {
                step,
                tokens_seen: seen,
                train_nll: train_sum / train_tokens as f64,
                val_nll: mean_nll(model, &corpus.val, 128).map_err(e)?,
                seconds: start.elapsed().as_secs_f64(),
            };
            log(&ev);
            if best.as_ref().is_none_or(|(v, _)| ev.val_nll < *v) {
                let snapshot = vars
                    .iter()
                    .map(|v| v.as_tensor().copy())
                    .collect::<candle_core::Result<Vec<_>>>()
                    .map_err(e)?;
                best = Some((ev.val_nll, snapshot));
            }
            curve.push(ev);
            (train_sum, train_tokens) = (0.0, 0);
        }
    }
    if let Some((_, values)) = best {
        for (var, value) in vars.iter().zip(&values) {
            var.set(value).map_err(e)?;
        }
    }
    Ok(curve)
}

/// One epoch's batches: a seeded shuffle, cut into same-form batches, in a
/// shuffled order (popped from the back).
fn epoch_batches(set: &PoemSet, batch: usize, rng: &mut SplitMix64) -> Vec<(usize, Vec<usize>)> {
    let mut items = set.items();
    shuffle(&mut items, rng);
    let mut by_form = vec![Vec::new(); 4];
    for (f, i) in items {
        by_form[f].push(i);
    }
    let mut batches: Vec<(usize, Vec<usize>)> = by_form
        .into_iter()
        .enumerate()
        .flat_map(|(f, idx)| {
            idx.chunks(batch)
                .map(|c| (f, c.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect();
    shuffle(&mut batches, rng);
    batches
}

fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
}

/// The share of `n` seeded samples per form (temperature `t`) that have
/// exactly that form and end with `<eos>`.
pub fn form_accuracy(
    model: &Arc<Llama>,
    tokenizer: &CharTokenizer,
    n: usize,
    seed: u64,
    t: f32,
) -> Res<Vec<(Form, f64)>> {
    let s = Sampling {
        temperature: t,
        ..Sampling::default()
    };
    Form::ALL
        .iter()
        .map(|&form| {
            let ok = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..2)
                    .map(|part| {
                        scope.spawn(move || -> Res<usize> {
                            let mut ok = 0;
                            for i in (part..n).step_by(2) {
                                let ids =
                                    generate(model, form, s, poem_seed(seed, i)).map_err(e)?;
                                ok += is_form(tokenizer, &ids, form) as usize;
                            }
                            Ok(ok)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .map_err(|_| "a sampling thread panicked".to_string())?
                    })
                    .sum::<Res<usize>>()
            })?;
            Ok((form, ok as f64 / n as f64))
        })
        .collect()
}

/// Poem i of a run with `seed` is drawn with Philox key seed · 2³² + i.
pub fn poem_seed(seed: u64, i: usize) -> u64 {
    (seed << 32) | i as u64
}

fn is_form(tokenizer: &CharTokenizer, ids: &[u32], form: Form) -> bool {
    ids.last() == Some(&EOS)
        && Form::of(&tokenizer.decode(&ids[..ids.len() - 1])) == Some(form)
        && ids.len() == form.chars() + 1
}

pub fn train(root: &Path, seed: u64, epochs: f64) -> Res<()> {
    let corpus = Corpus::load(root)?;
    let config = corpus.config(CONFIG);
    config.check().map_err(e)?;
    std::fs::write(
        root.join("assets").join(TOKENIZER_PATH),
        corpus.tokenizer.to_json() + "\n",
    )
    .map_err(e)?;
    println!(
        "train: {} training poems ({} scored tokens), vocabulary {}, {} parameters",
        corpus.train.poems,
        corpus.train.scored_tokens,
        config.vocab_size,
        config.params()
    );
    let base = baselines(&corpus);
    println!(
        "train: baselines on test: unigram {:.3}, bigram {:.3} nats/char (λ = {:.2})",
        base.unigram, base.bigram, base.lambda
    );
    let plan = Plan {
        batch: 64,
        peak_lr: 3e-3,
        warmup_steps: 200,
        weight_decay: 0.05,
        tokens: (epochs * corpus.train.scored_tokens as f64) as usize,
        seed,
    };
    let model = LlamaTrain::new(config, seed).map_err(e)?;
    let curve = fit(
        &model,
        &corpus,
        &plan,
        (epochs * 2.0).ceil() as usize,
        |ev| {
            println!(
                "  step {:>5} ({:.2} epochs): train {:.3}, validation {:.3} nats/char ({:.0} s)",
                ev.step,
                ev.tokens_seen as f64 / corpus.train.scored_tokens as f64,
                ev.train_nll,
                ev.val_nll,
                ev.seconds
            );
        },
    )?;
    let train_seconds = curve.last().map_or(0.0, |c| c.seconds);
    let test_f32 = mean_nll(&model, &corpus.test, 128).map_err(e)?;

    // What ships: Q8_0, reloaded through the app's loader.
    let bytes = to_safetensors(&model.export().map_err(e)?).map_err(e)?;
    let shipped = load(WEIGHTS_PATH, &bytes, &config.specs()).map_err(e)?;
    let quantized = LlamaTrain::from_export(config, &shipped.tensors).map_err(e)?;
    let test_q8 = mean_nll(&quantized, &corpus.test, 128).map_err(e)?;
    let val_q8 = mean_nll(&quantized, &corpus.val, 128).map_err(e)?;

    // The app's decoder, token by token through its cache, on test poems:
    // the same likelihood as the trainer's whole-poem pass.
    let decoder_model = Arc::new(Llama::from_weights(config, &shipped).map_err(e)?);
    let checked: Vec<&Poem> = corpus
        .poems
        .iter()
        .filter(|p| p.split() == Split::Test)
        .take(40)
        .collect();
    let mut worst: f64 = 0.0;
    for p in &checked {
        let ids = corpus.tokenizer.encode_poem(p.form, &p.text);
        let (by_decoder, _) = poem_nll(&decoder_model, &ids).map_err(e)?;
        let one = PoemSet::new(&corpus.tokenizer, [*p]);
        let f = glassbox_train::llama::form_index(p.form);
        let by_trainer = quantized
            .nll(&one.batch(f, &[0]).map_err(e)?)
            .map_err(e)?
            .sum_all()
            .map_err(e)?
            .to_scalar::<f32>()
            .map_err(e)? as f64;
        worst = worst.max((by_decoder - by_trainer).abs() / by_trainer.abs().max(1.0));
    }
    if worst > 1e-3 {
        return Err(format!(
            "the decoder and the trainer disagree by {worst:.2e} (relative) on a test poem"
        ));
    }
    let accuracy = form_accuracy(&decoder_model, &corpus.tokenizer, 200, 1, 0.8)?;
    for (form, acc) in &accuracy {
        println!(
            "train: form {}: {:.1}% of 200 samples at T = 0.8",
            form.name(),
            acc * 100.0
        );
    }

    let dir = root.join("assets/models/llama");
    std::fs::create_dir_all(&dir).map_err(e)?;
    std::fs::write(root.join("assets").join(WEIGHTS_PATH), &bytes).map_err(e)?;
    let config_text = serde_json::to_string_pretty(&config).map_err(e)?;
    std::fs::write(root.join("assets").join(CONFIG_PATH), config_text + "\n").map_err(e)?;
    let metrics = json!({
        "test_nll_nats_per_char": test_q8,
        "test_nll_nats_per_char_f32": test_f32,
        "val_nll_nats_per_char": val_q8,
        "baseline_unigram_nats_per_char": base.unigram,
        "baseline_bigram_nats_per_char": base.bigram,
        "baseline_bigram_lambda": base.lambda,
        "quantization_gap_nats_per_char": test_q8 - test_f32,
        "form_accuracy_t0_8": accuracy.iter().map(|(f, a)| (f.name().to_string(), json!(a))).collect::<serde_json::Map<_, _>>(),
        "form_samples_per_form": 200,
        "form_sample_seed": 1,
        "params": config.params(),
        "non_embedding_params": config.non_embedding_params(),
        "weights_bytes": bytes.len(),
        "train_poems": corpus.train.poems,
        "train_tokens_per_epoch": corpus.train.scored_tokens,
        "epochs": epochs,
        "train_seconds": train_seconds,
        "seed": seed,
        "plan": plan,
        "held_out_poets": compute::tang::HELD_OUT_POETS,
        "decoder_check": {"test_poems": checked.len(), "max_relative_diff": worst},
        "scored": "characters (punctuation included) and <eos>; never <bos> or the form token",
        "quant": "Q8_0 for matrices, the token embedding included (blocks of 32 int8 with an f32 scale along each row), f32 for norms",
        "learning_curve": curve,
    });
    let text = serde_json::to_string_pretty(&metrics).map_err(e)?;
    std::fs::write(root.join("assets").join(METRICS_PATH), text + "\n").map_err(e)?;
    println!(
        "train: llama: test {test_q8:.4} nats/char (f32 {test_f32:.4}; bigram {:.4}, unigram {:.4}); {} bytes; decoder agrees within {worst:.1e}",
        base.bigram,
        base.unigram,
        bytes.len()
    );
    Ok(())
}

/// Prints `n` poems of `form` drawn from the shipped weights, one per line;
/// with `heads`, an acrostic whose lines open with them (simplified or
/// traditional).
pub fn sample(
    root: &Path,
    form: &str,
    n: usize,
    seed: u64,
    s: Sampling,
    heads: Option<&str>,
    adapter: Option<&str>,
) -> Res<()> {
    let form = Form::from_name(form)
        .ok_or_else(|| format!("unknown form {form}; expected 五绝, 七绝, 五律 or 七律"))?;
    let assets = root.join("assets");
    let read = |p: &str| std::fs::read(assets.join(p)).map_err(|x| format!("{p}: {x}"));
    let config: LlamaConfig = serde_json::from_slice(&read(CONFIG_PATH)?).map_err(e)?;
    let tokenizer = CharTokenizer::from_json(&read(TOKENIZER_PATH)?).map_err(e)?;
    let model = Arc::new(Llama::load(config, &read(WEIGHTS_PATH)?).map_err(e)?);
    let forced = match heads {
        Some(h) => {
            let s2t = SimplifiedToTraditional::parse(&String::from_utf8_lossy(&read(
                "tokenizer/opencc-st-characters.txt",
            )?));
            tokenizer
                .acrostic(form, h, &s2t)
                .map_err(|x| format!("--heads {h}: {x:?}"))?
        }
        None => Vec::new(),
    };
    // A shipped LoRA adapter beside the base (chapter 5).
    let adapter = match adapter {
        Some(poet) => {
            let path =
                compute::models::llama::lora::shipped_path(crate::lora_recipe::poet_index(poet)?);
            Some(Arc::new(
                compute::models::llama::lora::Adapter::from_safetensors(
                    &path,
                    &config,
                    &read(&path)?,
                )
                .map_err(e)?,
            ))
        }
        None => None,
    };
    let mut ok = 0;
    for i in 0..n {
        let mut g = Generation::poem(form, s, poem_seed(seed, i));
        g.forced = forced.clone();
        let ids =
            compute::models::llama::sampling::generate_cpu_adapted(&model, adapter.clone(), &g)
                .map_err(e)?
                .poem_ids()
                .to_vec();
        ok += is_form(&tokenizer, &ids, form) as usize;
        let text = tokenizer.decode(&ids);
        println!("{text}");
    }
    eprintln!("sample: {ok} of {n} have the form {}", form.name());
    Ok(())
}

/// The scaling grid's model sizes: (dim, layers, heads, kv heads, hidden).
pub const GRID_SIZES: [(usize, usize, usize, usize, usize); 3] =
    [(32, 2, 2, 1, 96), (64, 2, 4, 2, 192), (96, 3, 4, 2, 256)];

/// The grid's training budgets, in scored tokens (an epoch is about 1.36M).
pub const GRID_TOKENS: [usize; 3] = [150_000, 450_000, 1_350_000];

/// `glassbox-train llama-scaling`: every size × budget of the grid with one
/// recipe, the test NLL of each run's last step, and the fitted law, to
/// assets/models/llama/scaling.json.
pub fn scaling(root: &Path, seed: u64) -> Res<()> {
    let corpus = Corpus::load(root)?;
    let started = Instant::now();
    let mut runs = Vec::new();
    for &(dim, n_layers, n_heads, n_kv_heads, hidden_dim) in &GRID_SIZES {
        let config = corpus.config(LlamaConfig {
            dim,
            n_layers,
            n_heads,
            n_kv_heads,
            hidden_dim,
            ..CONFIG
        });
        config.check().map_err(e)?;
        for &tokens in &GRID_TOKENS {
            let steps = tokens / (32 * 45);
            let plan = Plan {
                batch: 32,
                peak_lr: 3e-3,
                warmup_steps: (steps / 10).max(1),
                weight_decay: 0.05,
                tokens,
                seed,
            };
            let model = LlamaTrain::new(config, seed).map_err(e)?;
            let run_start = Instant::now();
            // One evaluation, at the end: the grid measures the run as trained.
            let curve = fit(&model, &corpus, &plan, 1, |_| {})?;
            let test_nll = mean_nll(&model, &corpus.test, 128).map_err(e)?;
            let seconds = run_start.elapsed().as_secs_f64();
            println!(
                "  dim {dim:>3}, {} matmul parameters, {tokens:>9} tokens: test {test_nll:.4} nats/char ({seconds:.0} s)",
                config.matmul_params()
            );
            runs.push(json!({
                "config": config,
                "params": config.matmul_params(),
                "all_params": config.params(),
                "tokens": curve.last().map_or(tokens, |c| c.tokens_seen),
                "test_nll": test_nll,
                "val_nll": curve.last().map_or(f64::NAN, |c| c.val_nll),
                "flops": 6.0 * config.matmul_params() as f64 * curve.last().map_or(tokens, |c| c.tokens_seen) as f64,
                "seconds": seconds,
            }));
        }
    }
    let points: Vec<ScalingPoint> = runs
        .iter()
        .map(|r| ScalingPoint {
            params: r["params"].as_f64().unwrap_or(0.0),
            tokens: r["tokens"].as_f64().unwrap_or(0.0),
            test_nll: r["test_nll"].as_f64().unwrap_or(0.0),
        })
        .collect();
    let law = fit_scaling(&points).ok_or("too few runs to fit")?;
    println!(
        "train: L(N, D) = {:.3} + {:.1}/N^{:.2} + {:.1}/D^{:.2} (rms {:.4} nats)",
        law.e, law.a, law.alpha, law.b, law.beta, law.rms
    );
    let out = json!({
        "about": "Chapter 4's scaling grid: each size trained on each token budget with one recipe (batch 32, AdamW peak lr 3e-3, 10% warmup, cosine to a tenth, weight decay 0.05, seed below); test NLL per character of the last step, in f32. params counts every matrix a token multiplies by (the output head included, the token embedding not); flops = 6 · params · tokens. Written by `cargo xtask train llama-scaling`.",
        "seed": seed,
        "runs": runs,
        "fit": law,
        "fit_method": "L(N, D) = E + A/N^alpha + B/D^beta; alpha and beta on a 0.01 grid in [0.01, 1.5], E, A, B >= 0 by least squares for each",
        "seconds": started.elapsed().as_secs_f64(),
    });
    let text = serde_json::to_string_pretty(&out).map_err(e)?;
    std::fs::write(root.join("assets").join(SCALING_PATH), text + "\n").map_err(e)?;
    Ok(())
}
