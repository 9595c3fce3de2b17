//! A poet's poems as training batches: each batch holds poems of one form,
//! so every sequence in it has the same length and nothing is padded.

use crate::{
    inputs::SplitMix64,
    tang::{CharTokenizer, Form, Poem, Split},
};

/// Encoded poems grouped by form.
#[derive(Debug, Clone, Default)]
pub struct PoemSet {
    /// Per form (in `Form::ALL` order), the poems' ids back to back.
    pub by_form: [Vec<u32>; 4],
    pub poems: usize,
    /// Characters plus `<eos>`: the tokens a mean NLL averages over.
    pub scored_tokens: usize,
}

/// A batch: `rows` poems of one form, each `len` tokens
/// (`<bos> <form> c1 … cN <eos>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub form: Form,
    pub rows: usize,
    pub len: usize,
    pub tokens: Vec<u32>,
}

impl Batch {
    /// Tokens the loss scores: positions 2.. of each row (the form token is
    /// given, not predicted).
    pub fn scored(&self) -> usize {
        self.rows * (self.len - 2)
    }
}

pub fn seq_len(form: Form) -> usize {
    form.chars() + 3
}

fn form_index(form: Form) -> usize {
    Form::ALL.iter().position(|&f| f == form).unwrap_or(0)
}

impl PoemSet {
    pub fn new<'a>(
        tokenizer: &CharTokenizer,
        poems: impl IntoIterator<Item = &'a Poem>,
    ) -> PoemSet {
        let mut set = PoemSet::default();
        for p in poems {
            let ids = tokenizer.encode_poem(p.form, &p.text);
            set.scored_tokens += ids.len() - 2;
            set.poems += 1;
            set.by_form[form_index(p.form)].extend(ids);
        }
        set
    }

    pub fn count(&self, form: usize) -> usize {
        self.by_form[form].len() / seq_len(Form::ALL[form])
    }

    pub fn batch(&self, form: usize, indices: &[usize]) -> Batch {
        let len = seq_len(Form::ALL[form]);
        let mut tokens = Vec::with_capacity(indices.len() * len);
        for &i in indices {
            tokens.extend_from_slice(&self.by_form[form][i * len..(i + 1) * len]);
        }
        Batch {
            form: Form::ALL[form],
            rows: indices.len(),
            len,
            tokens,
        }
    }

    /// Every poem, in batches of at most `batch` poems: for evaluation.
    pub fn all_batches(&self, batch: usize) -> Vec<Batch> {
        (0..4)
            .flat_map(|f| {
                let idx: Vec<usize> = (0..self.count(f)).collect();
                idx.chunks(batch.max(1))
                    .map(|c| self.batch(f, c))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The first `n` poems of each form: a fixed, smaller evaluation set.
    pub fn first(&self, n: usize) -> PoemSet {
        let mut out = PoemSet::default();
        for f in 0..4 {
            let len = seq_len(Form::ALL[f]);
            let k = self.count(f).min(n);
            out.by_form[f] = self.by_form[f][..k * len].to_vec();
            out.poems += k;
            out.scored_tokens += k * (len - 2);
        }
        out
    }

    /// `steps` training batches of `batch` poems: epochs of a seeded
    /// shuffle, each cut into same-form batches in a shuffled order. The
    /// same seed gives the same batches on every backend.
    pub fn plan(&self, batch: usize, steps: usize, seed: u64) -> Vec<Batch> {
        let mut rng = SplitMix64::new(seed);
        let mut out = Vec::with_capacity(steps);
        if self.poems == 0 {
            return out;
        }
        while out.len() < steps {
            let mut by_form: Vec<Vec<usize>> =
                (0..4).map(|f| (0..self.count(f)).collect()).collect();
            let mut epoch: Vec<(usize, Vec<usize>)> = Vec::new();
            for (f, idx) in by_form.iter_mut().enumerate() {
                shuffle(idx, &mut rng);
                epoch.extend(idx.chunks(batch.max(1)).map(|c| (f, c.to_vec())));
            }
            shuffle(&mut epoch, &mut rng);
            for (f, idx) in epoch {
                if out.len() == steps {
                    break;
                }
                out.push(self.batch(f, &idx));
            }
        }
        out
    }
}

fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
}

/// A held-out poet's poems, split as chapter 4 splits the corpus (test:
/// j % 20 == 19), and every other poet's test poems: what an adapter might
/// make the model forget.
pub struct PoetData {
    pub poet: String,
    /// The poet's poems in the train split (j % 20 < 18).
    pub train: PoemSet,
    pub test: PoemSet,
    pub others_test: PoemSet,
}

impl PoetData {
    pub fn new(tokenizer: &CharTokenizer, poems: &[Poem], poet: &str) -> PoetData {
        let set = |keep: &dyn Fn(&Poem) -> bool| {
            PoemSet::new(tokenizer, poems.iter().filter(|p| keep(p)))
        };
        PoetData {
            poet: poet.to_string(),
            train: set(&|p| p.author == poet && p.split() == Split::Train),
            test: set(&|p| p.author == poet && p.split() == Split::Test),
            others_test: set(&|p| p.author != poet && p.split() == Split::Test),
        }
    }
}
