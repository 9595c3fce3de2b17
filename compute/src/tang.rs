//! The Tang-poem corpus that chapters 4–6 share, and its character
//! tokenizer.
//!
//! `assets/data/tang/poems.tsv` (written by `cargo xtask data tang`) holds
//! the regulated poems of `chinese-poetry@2.0.1`'s Tang collection, one per
//! line: `j<TAB>author<TAB>title<TAB>text`. j is the poem's index over all
//! 57,607 Tang poems; it fixes the split, so the split never depends on
//! which poems were kept.
//!
//! A poem is the token sequence `<bos> <form> c1 … cN <eos>`, c1…cN its
//! characters with the punctuation. Its NLL per character averages −log p
//! over c1…cN and `<eos>`: the first two tokens are given.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::ComputeError;

/// The four regulated forms: lines × characters per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Form {
    /// 五绝: four lines of five.
    Wujue,
    /// 七绝: four lines of seven.
    Qijue,
    /// 五律: eight lines of five.
    Wulv,
    /// 七律: eight lines of seven.
    Qilv,
}

impl Form {
    pub const ALL: [Form; 4] = [Form::Wujue, Form::Qijue, Form::Wulv, Form::Qilv];

    /// The form's name, as in its token.
    pub fn name(self) -> &'static str {
        match self {
            Form::Wujue => "五绝",
            Form::Qijue => "七绝",
            Form::Wulv => "五律",
            Form::Qilv => "七律",
        }
    }

    pub fn from_name(name: &str) -> Option<Form> {
        Form::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn token(self) -> String {
        format!("<{}>", self.name())
    }

    /// Lines of verse (a paragraph is two lines: "，" ends the first, "。"
    /// the second).
    pub fn lines(self) -> usize {
        match self {
            Form::Wujue | Form::Qijue => 4,
            Form::Wulv | Form::Qilv => 8,
        }
    }

    /// Characters per line.
    pub fn width(self) -> usize {
        match self {
            Form::Wujue | Form::Wulv => 5,
            Form::Qijue | Form::Qilv => 7,
        }
    }

    /// Characters in the poem, punctuation included.
    pub fn chars(self) -> usize {
        self.lines() * (self.width() + 1)
    }

    /// The punctuation that ends line `line` (0-based).
    pub fn line_end(line: usize) -> char {
        if line.is_multiple_of(2) {
            '，'
        } else {
            '。'
        }
    }

    /// The form `text` has exactly: the right number of lines, each of the
    /// right width, punctuation in place and nowhere else.
    pub fn of(text: &str) -> Option<Form> {
        let chars: Vec<char> = text.chars().collect();
        Form::ALL.into_iter().find(|f| {
            chars.len() == f.chars()
                && chars.chunks(f.width() + 1).enumerate().all(|(line, c)| {
                    let (body, end) = c.split_at(f.width());
                    end[0] == Form::line_end(line) && body.iter().all(|&ch| !is_punctuation(ch))
                })
        })
    }
}

fn is_punctuation(c: char) -> bool {
    matches!(c, '，' | '。')
}

/// Which part of the data a poem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Validation,
    Test,
}

impl Split {
    /// Test if j % 20 == 19, validation if j % 20 == 18, otherwise train.
    pub fn of(j: usize) -> Split {
        match j % 20 {
            19 => Split::Test,
            18 => Split::Validation,
            _ => Split::Train,
        }
    }
}

/// The compact corpus the app ships, under `assets/` ([`encode_corpus`]).
pub const CORPUS_PATH: &str = "data/tang/corpus.bin";

/// Each kept poem's popularity, one byte per poem in corpus order: Google's
/// hit count for its author and title (the package's `rank/poet/`), as
/// ln(1 + hits) scaled to the most-found poem's 255; 0 where the package has
/// no count. Chapter 6's pipeline re-ranks with it.
pub const POPULARITY_PATH: &str = "data/tang/popularity.bin";

/// [`POPULARITY_PATH`]'s bytes as priors in [0, 1], one per poem.
pub fn decode_popularity(bytes: &[u8], poems: usize) -> Result<Vec<f32>, ComputeError> {
    if bytes.len() != poems {
        return Err(ComputeError::Cpu(format!(
            "the popularity file has {} entries for {poems} poems",
            bytes.len()
        )));
    }
    Ok(bytes.iter().map(|&b| f32::from(b) / 255.0).collect())
}

/// The poets the base model never sees: chapter 5 adapts it to them.
pub const HELD_OUT_POETS: [&str; 3] = ["白居易", "杜甫", "李白"];

#[derive(Debug, Clone, PartialEq)]
pub struct Poem {
    /// Index over all 57,607 Tang poems of the package.
    pub j: usize,
    pub author: String,
    pub title: String,
    /// The paragraphs concatenated, punctuation included.
    pub text: String,
    pub form: Form,
}

impl Poem {
    pub fn split(&self) -> Split {
        Split::of(self.j)
    }

    pub fn held_out(&self) -> bool {
        HELD_OUT_POETS.contains(&self.author.as_str())
    }

    /// In the base model's training data: the train split, less the
    /// held-out poets.
    pub fn trains_base(&self) -> bool {
        self.split() == Split::Train && !self.held_out()
    }
}

/// Parses `poems.tsv`; every line must be a poem of one of the four forms.
pub fn parse_corpus(tsv: &str) -> Result<Vec<Poem>, ComputeError> {
    tsv.lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(n, line)| {
            let bad = |why: &str| ComputeError::Cpu(format!("poems.tsv line {}: {why}", n + 1));
            let mut fields = line.split('\t');
            let mut next = || fields.next().ok_or_else(|| bad("fewer than 4 fields"));
            let j = next()?.parse().map_err(|_| bad("j is not a number"))?;
            let (author, title, text) = (next()?, next()?, next()?);
            let form = Form::of(text).ok_or_else(|| bad("the text is not a regulated poem"))?;
            Ok(Poem {
                j,
                author: author.into(),
                title: title.into(),
                text: text.into(),
                form,
            })
        })
        .collect()
}

/// The magic line that opens `corpus.bin`.
const CORPUS_MAGIC: &[u8] = b"glassbox tang corpus 1\n";

/// The poems as the app ships them (`assets/data/tang/corpus.bin`, written
/// by `cargo xtask data tang`): every character as its rank by frequency, a
/// variable-byte integer (one byte for the 128 commonest, two for the rest),
/// authors once in a table, ids as gaps, and no punctuation, which each
/// form puts in fixed places. 2,886,252 bytes, 2,306,047 gzipped (level 9),
/// against 6,227,172 and 3,205,197 for `poems.tsv`.
pub fn encode_corpus(poems: &[Poem]) -> Vec<u8> {
    use crate::search::varint::push;
    let mut counts: HashMap<char, usize> = HashMap::new();
    for p in poems {
        for c in p
            .title
            .chars()
            .chain(p.author.chars())
            .chain(p.text.chars())
        {
            *counts.entry(c).or_default() += 1;
        }
    }
    let mut chars: Vec<(char, usize)> = counts.into_iter().collect();
    chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rank: HashMap<char, u32> = chars
        .iter()
        .enumerate()
        .map(|(k, (c, _))| (*c, k as u32))
        .collect();
    let mut authors: Vec<&str> = Vec::new();
    let mut author_index: HashMap<&str, u32> = HashMap::new();
    for p in poems {
        author_index.entry(p.author.as_str()).or_insert_with(|| {
            authors.push(p.author.as_str());
            authors.len() as u32 - 1
        });
    }
    let mut out = CORPUS_MAGIC.to_vec();
    let table: String = chars.iter().map(|(c, _)| *c).collect();
    push(table.len() as u32, &mut out);
    out.extend(table.as_bytes());
    let string = |s: &str, out: &mut Vec<u8>| {
        push(s.chars().count() as u32, out);
        for c in s.chars() {
            push(rank[&c], out);
        }
    };
    push(authors.len() as u32, &mut out);
    for a in &authors {
        string(a, &mut out);
    }
    push(poems.len() as u32, &mut out);
    let mut last = 0;
    for p in poems {
        push((p.j - last) as u32, &mut out);
        last = p.j;
        push(author_index[p.author.as_str()], &mut out);
        out.push(Form::ALL.iter().position(|f| *f == p.form).unwrap_or(0) as u8);
        string(&p.title, &mut out);
        for c in p.text.chars().filter(|c| !is_punctuation(*c)) {
            push(rank[&c], &mut out);
        }
    }
    out
}

/// The poems of [`encode_corpus`]'s bytes; a typed error for anything else.
pub fn decode_corpus(bytes: &[u8]) -> Result<Vec<Poem>, ComputeError> {
    use crate::search::varint::read;
    let bad = |why: &str| ComputeError::Cpu(format!("corpus.bin: {why}"));
    let body = bytes
        .strip_prefix(CORPUS_MAGIC)
        .ok_or_else(|| bad("not a glassbox Tang corpus"))?;
    let mut at = 0;
    let table_len = read(body, &mut at)? as usize;
    let table = body
        .get(at..at + table_len)
        .and_then(|t| std::str::from_utf8(t).ok())
        .ok_or_else(|| bad("the character table is cut short or not UTF-8"))?;
    at += table_len;
    let table: Vec<char> = table.chars().collect();
    let char_at = |at: &mut usize| -> Result<char, ComputeError> {
        let r = read(body, at)? as usize;
        table
            .get(r)
            .copied()
            .ok_or_else(|| bad("a character rank is out of range"))
    };
    let string = |at: &mut usize| -> Result<String, ComputeError> {
        let n = read(body, at)? as usize;
        (0..n).map(|_| char_at(at)).collect()
    };
    let author_count = read(body, &mut at)? as usize;
    let authors = (0..author_count)
        .map(|_| string(&mut at))
        .collect::<Result<Vec<_>, _>>()?;
    let count = read(body, &mut at)? as usize;
    let mut poems = Vec::with_capacity(count.min(100_000));
    let mut j = 0usize;
    for _ in 0..count {
        j += read(body, &mut at)? as usize;
        let author = authors
            .get(read(body, &mut at)? as usize)
            .ok_or_else(|| bad("an author index is out of range"))?
            .clone();
        let form = *body
            .get(at)
            .and_then(|&f| Form::ALL.get(f as usize))
            .ok_or_else(|| bad("a poem's form is unknown"))?;
        at += 1;
        let title = string(&mut at)?;
        let mut text = String::with_capacity(form.chars() * 3);
        for line in 0..form.lines() {
            for _ in 0..form.width() {
                text.push(char_at(&mut at)?);
            }
            text.push(Form::line_end(line));
        }
        poems.push(Poem {
            j,
            author,
            title,
            text,
            form,
        });
    }
    if at != body.len() {
        return Err(bad("bytes are left after the last poem"));
    }
    Ok(poems)
}

pub const UNK: u32 = 0;
pub const BOS: u32 = 1;
pub const EOS: u32 = 2;
/// `<五绝>` … `<七律>` are 3…6, in [`Form::ALL`]'s order; characters follow.
pub const FIRST_FORM: u32 = 3;
pub const SPECIALS: usize = 7;

/// Characters that occur at least this often in the base model's training
/// poems get a token; the rest read as `<unk>`.
pub const MIN_COUNT: usize = 5;

/// One token per character, plus `<unk>`, `<bos>`, `<eos>` and the four
/// form tokens. Stored as a Hugging Face `tokenizer.json` (a WordLevel model
/// behind a one-character Split), so the `tokenizers` library reads it too.
#[derive(Debug, Clone, PartialEq)]
pub struct CharTokenizer {
    /// Token text by id.
    pub tokens: Vec<String>,
    ids: HashMap<char, u32>,
}

impl CharTokenizer {
    /// The vocabulary of `texts`: characters with at least [`MIN_COUNT`]
    /// occurrences, most frequent first (ties by code point).
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>) -> CharTokenizer {
        let mut counts: HashMap<char, usize> = HashMap::new();
        for text in texts {
            for c in text.chars() {
                *counts.entry(c).or_default() += 1;
            }
        }
        let mut chars: Vec<(char, usize)> = counts
            .into_iter()
            .filter(|&(_, n)| n >= MIN_COUNT)
            .collect();
        chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut tokens: Vec<String> = vec!["<unk>".into(), "<bos>".into(), "<eos>".into()];
        tokens.extend(Form::ALL.iter().map(|f| f.token()));
        tokens.extend(chars.into_iter().map(|(c, _)| c.to_string()));
        CharTokenizer::from_tokens(tokens).expect("built from distinct characters")
    }

    fn from_tokens(tokens: Vec<String>) -> Result<CharTokenizer, ComputeError> {
        let bad = |why: String| ComputeError::Cpu(format!("the character vocabulary: {why}"));
        let mut specials = vec!["<unk>".to_string(), "<bos>".into(), "<eos>".into()];
        specials.extend(Form::ALL.iter().map(|f| f.token()));
        if tokens.len() < SPECIALS || tokens[..SPECIALS] != specials[..] {
            return Err(bad(format!("ids 0–6 must be {specials:?}")));
        }
        let mut ids = HashMap::new();
        for (id, t) in tokens.iter().enumerate().skip(SPECIALS) {
            let mut chars = t.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(bad(format!("token {id} ({t:?}) is not one character")));
            };
            if ids.insert(c, id as u32).is_some() {
                return Err(bad(format!("{t:?} appears twice")));
            }
        }
        Ok(CharTokenizer { tokens, ids })
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn id(&self, c: char) -> u32 {
        self.ids.get(&c).copied().unwrap_or(UNK)
    }

    pub fn form_id(form: Form) -> u32 {
        FIRST_FORM + Form::ALL.iter().position(|&f| f == form).unwrap_or(0) as u32
    }

    /// `<bos> <form> c1 … cN <eos>`.
    pub fn encode_poem(&self, form: Form, text: &str) -> Vec<u32> {
        let mut ids = vec![BOS, CharTokenizer::form_id(form)];
        ids.extend(text.chars().map(|c| self.id(c)));
        ids.push(EOS);
        ids
    }

    /// The text of the character tokens among `ids`; specials are skipped
    /// except `<unk>`, shown as "□".
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter()
            .filter_map(|&id| match id {
                UNK => Some("□"),
                i if (i as usize) < SPECIALS => None,
                i => self.tokens.get(i as usize).map(String::as_str),
            })
            .collect()
    }

    /// The Hugging Face `tokenizer.json`.
    pub fn to_json(&self) -> String {
        let added: Vec<serde_json::Value> = self.tokens[..SPECIALS]
            .iter()
            .enumerate()
            .map(|(id, t)| {
                serde_json::json!({"id": id, "content": t, "single_word": false, "lstrip": false,
                    "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let vocab: serde_json::Map<String, serde_json::Value> = self
            .tokens
            .iter()
            .enumerate()
            .map(|(id, t)| (t.clone(), id.into()))
            .collect();
        let doc = serde_json::json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "."}, "behavior": "Isolated", "invert": false},
            "post_processor": null,
            "decoder": {"type": "Fuse"},
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
        });
        serde_json::to_string(&doc).expect("a JSON value serializes")
    }

    /// Reads a `tokenizer.json` written by [`CharTokenizer::to_json`].
    pub fn from_json(bytes: &[u8]) -> Result<CharTokenizer, ComputeError> {
        let bad = |why: &str| ComputeError::Cpu(format!("the tokenizer file is unusable: {why}"));
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
        if doc["model"]["type"] != "WordLevel" {
            return Err(bad("it is not a WordLevel model"));
        }
        let vocab = doc["model"]["vocab"]
            .as_object()
            .ok_or_else(|| bad("no model.vocab"))?;
        let mut tokens = vec![String::new(); vocab.len()];
        for (t, id) in vocab {
            let id = id
                .as_u64()
                .filter(|&i| (i as usize) < tokens.len())
                .ok_or_else(|| bad("the ids are not 0..n"))?;
            tokens[id as usize] = t.clone();
        }
        CharTokenizer::from_tokens(tokens)
    }
}

/// OpenCC's simplified-to-traditional character table
/// (`assets/tokenizer/opencc-st-characters.txt`): each line a simplified
/// character, a tab, and its traditional forms, most usual first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimplifiedToTraditional {
    map: HashMap<char, Vec<char>>,
}

impl SimplifiedToTraditional {
    pub fn parse(text: &str) -> SimplifiedToTraditional {
        let map = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (from, to) = l.split_once('\t')?;
                let mut from = from.chars();
                let (Some(c), None) = (from.next(), from.next()) else {
                    return None;
                };
                Some((c, to.split(' ').filter_map(|t| t.chars().next()).collect()))
            })
            .collect();
        SimplifiedToTraditional { map }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The usual traditional form of `c`, if the table lists one.
    pub fn first(&self, c: char) -> Option<char> {
        self.map.get(&c).and_then(|forms| forms.first().copied())
    }
}

/// Why a visitor's characters cannot head an acrostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcrosticError {
    /// The form has `lines` lines; an acrostic needs that many characters,
    /// or half as many for the couplets' first lines.
    Count { got: usize, lines: usize },
    /// No token stands for this character, in either script.
    Unknown(char),
    /// Punctuation cannot open a line.
    Punctuation(char),
}

impl CharTokenizer {
    /// The token for a character the visitor typed: itself when the
    /// vocabulary has it, else the first of its traditional forms that it has.
    pub fn typed_id(&self, c: char, s2t: &SimplifiedToTraditional) -> Option<u32> {
        if let Some(&id) = self.ids.get(&c) {
            return Some(id);
        }
        s2t.map
            .get(&c)?
            .iter()
            .find_map(|t| self.ids.get(t).copied())
    }

    /// The forced tokens of an acrostic (藏头诗): each line of `form`
    /// opens with the next of `heads` (or, with half as many, each couplet's
    /// first line). Positions count `<bos>` as 0.
    pub fn acrostic(
        &self,
        form: Form,
        heads: &str,
        s2t: &SimplifiedToTraditional,
    ) -> Result<Vec<(usize, u32)>, AcrosticError> {
        let chars: Vec<char> = heads.chars().filter(|c| !c.is_whitespace()).collect();
        let lines = form.lines();
        let stride = if chars.len() == lines {
            1
        } else if chars.len() * 2 == lines {
            2
        } else {
            return Err(AcrosticError::Count {
                got: chars.len(),
                lines,
            });
        };
        chars
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if is_punctuation(c) || !c.is_alphanumeric() {
                    return Err(AcrosticError::Punctuation(c));
                }
                let id = self.typed_id(c, s2t).ok_or(AcrosticError::Unknown(c))?;
                Ok((2 + i * stride * (form.width() + 1), id))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_recognised_exactly() {
        let five = "秦川雄帝宅，函谷壯皇居。綺殿千尋起，離宮百雉餘。";
        assert_eq!(Form::of(five), Some(Form::Wujue));
        assert_eq!(Form::of(&five.repeat(2)), Some(Form::Wulv));
        // Punctuation swapped, a line too long, a stop inside a line.
        assert_eq!(
            Form::of("秦川雄帝宅。函谷壯皇居，綺殿千尋起，離宮百雉餘。"),
            None
        );
        assert_eq!(
            Form::of("秦川雄帝宅宅，函谷壯皇居。綺殿千尋起，離宮百雉餘。"),
            None
        );
        assert_eq!(
            Form::of("秦川雄。帝，函谷壯皇居。綺殿千尋起，離宮百雉餘。"),
            None
        );
        assert_eq!(Form::of(""), None);
        let seven = "一二三四五六七，一二三四五六七。";
        assert_eq!(Form::of(&seven.repeat(2)), Some(Form::Qijue));
        assert_eq!(Form::of(&seven.repeat(4)), Some(Form::Qilv));
    }

    #[test]
    fn splits_follow_j() {
        assert_eq!(Split::of(19), Split::Test);
        assert_eq!(Split::of(38), Split::Validation);
        assert_eq!(Split::of(40), Split::Train);
    }

    #[test]
    fn the_tokenizer_round_trips_through_its_json() {
        let text = "秦川雄帝宅，函谷壯皇居。".repeat(10);
        let tok = CharTokenizer::build([text.as_str(), "秦秦秦秦秦"]);
        // 10 of each character (15 of 秦) and 10 of each punctuation mark.
        assert_eq!(tok.len(), SPECIALS + 12);
        assert_eq!(tok.tokens[SPECIALS], "秦");
        let back = CharTokenizer::from_json(tok.to_json().as_bytes()).unwrap();
        assert_eq!(back, tok);
        let ids = tok.encode_poem(Form::Wujue, "秦川雄帝宅，函谷壯皇居。綺");
        assert_eq!(&ids[..3], &[BOS, 3, tok.id('秦')]);
        assert_eq!(ids[ids.len() - 2], UNK);
        assert_eq!(*ids.last().unwrap(), EOS);
        assert_eq!(tok.decode(&ids), "秦川雄帝宅，函谷壯皇居。□");
        assert!(CharTokenizer::from_json(b"{\"model\": {\"type\": \"BPE\"}}").is_err());
    }

    #[test]
    fn acrostics_read_simplified_characters() {
        let tok = CharTokenizer::build(["風花雪月春".repeat(5).as_str()]);
        let s2t = SimplifiedToTraditional::parse("# comment\n风\t風 颩\n云\t雲 云\n");
        assert_eq!(s2t.len(), 2);
        assert_eq!(tok.typed_id('风', &s2t), Some(tok.id('風')));
        assert_eq!(tok.typed_id('風', &s2t), Some(tok.id('風')));
        let forced = tok.acrostic(Form::Wujue, "风花 雪月", &s2t).unwrap();
        assert_eq!(
            forced.iter().map(|f| f.0).collect::<Vec<_>>(),
            [2, 8, 14, 20]
        );
        assert_eq!(forced[0].1, tok.id('風'));
        // Four heads on eight lines: the couplets' first lines.
        let forced = tok.acrostic(Form::Qilv, "风花雪月", &s2t).unwrap();
        assert_eq!(
            forced.iter().map(|f| f.0).collect::<Vec<_>>(),
            [2, 18, 34, 50]
        );
        assert_eq!(
            tok.acrostic(Form::Wujue, "风花雪", &s2t),
            Err(AcrosticError::Count { got: 3, lines: 4 })
        );
        assert_eq!(
            tok.acrostic(Form::Wujue, "风花雪云", &s2t),
            Err(AcrosticError::Unknown('云'))
        );
        assert_eq!(
            tok.acrostic(Form::Wujue, "风花雪。", &s2t),
            Err(AcrosticError::Punctuation('。'))
        );
    }

    #[test]
    fn the_committed_corpus_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/data/tang/poems.tsv");
        let poems = parse_corpus(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(poems.len(), 36_772);
        let count = |f| poems.iter().filter(|p| p.form == f).count();
        assert_eq!(
            Form::ALL.map(count),
            [3_911, 10_506, 14_439, 7_916],
            "五绝, 七绝, 五律, 七律"
        );
        let split = |s| poems.iter().filter(|p| p.split() == s).count();
        assert_eq!(
            [Split::Train, Split::Validation, Split::Test].map(split),
            [33_074, 1_834, 1_864]
        );
    }
}
