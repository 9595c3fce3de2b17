//! Chapter 4's LLaMA: the trainer's whole-poem likelihood equals compute's
//! token-by-token decoder on the same (Q8_0) weights, and training learns.

use std::{path::Path, sync::Arc};

use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use compute::{
    models::llama::{poem_nll, Llama, LlamaConfig, WEIGHTS_PATH},
    tang::{parse_corpus, CharTokenizer, Form, Poem},
    weights::{load, to_safetensors},
};
use glassbox_train::llama::{form_index, mean_nll, LlamaTrain, PoemSet};

fn poems() -> Vec<Poem> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/data/tang/poems.tsv");
    parse_corpus(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn small(vocab_size: usize) -> LlamaConfig {
    LlamaConfig {
        dim: 64,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 2,
        hidden_dim: 96,
        vocab_size,
        norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_seq_len: 66,
    }
}

#[test]
fn trainer_and_decoder_agree_on_every_form() {
    let poems = poems();
    let tokenizer = CharTokenizer::build(poems.iter().take(3000).map(|p| p.text.as_str()));
    let config = small(tokenizer.len());
    let model = LlamaTrain::new(config, 3).unwrap();
    let bytes = to_safetensors(&model.export().unwrap()).unwrap();
    let shipped = load(WEIGHTS_PATH, &bytes, &config.specs()).unwrap();
    let quantized = LlamaTrain::from_export(config, &shipped.tensors).unwrap();
    let decoder = Arc::new(Llama::from_weights(config, &shipped).unwrap());
    for form in Form::ALL {
        let poem = poems.iter().find(|p| p.form == form).unwrap();
        let set = PoemSet::new(&tokenizer, [poem]);
        let by_trainer = quantized
            .nll(&set.batch(form_index(form), &[0]).unwrap())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()[0] as f64;
        let ids = tokenizer.encode_poem(form, &poem.text);
        let (by_decoder, scored) = poem_nll(&decoder, &ids).unwrap();
        assert_eq!(scored, form.chars() + 1);
        assert!(
            (by_trainer - by_decoder).abs() < 1e-4 * by_trainer.abs(),
            "{form:?}: trainer {by_trainer}, decoder {by_decoder}"
        );
        // Untrained: about ln(vocab) per token.
        assert!(by_trainer / scored as f64 > 4.0, "{by_trainer}");
    }
}

#[test]
fn training_steps_lower_the_loss() {
    let poems = poems();
    let some: Vec<&Poem> = poems
        .iter()
        .filter(|p| p.form == Form::Wujue)
        .take(32)
        .collect();
    let tokenizer = CharTokenizer::build(poems.iter().take(3000).map(|p| p.text.as_str()));
    let set = PoemSet::new(&tokenizer, some.iter().copied());
    let model = LlamaTrain::new(small(tokenizer.len()), 1).unwrap();
    let mut opt = AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: 3e-3,
            ..Default::default()
        },
    )
    .unwrap();
    let before = mean_nll(&model, &set, 32).unwrap();
    let x = set.batch(0, &(0..32).collect::<Vec<_>>()).unwrap();
    for _ in 0..8 {
        let loss = (model.nll(&x).unwrap().sum_all().unwrap() / set.scored_tokens as f64).unwrap();
        opt.backward_step(&loss).unwrap();
    }
    let after = mean_nll(&model, &set, 32).unwrap();
    assert!(after < before - 0.5, "{before} -> {after}");
}
