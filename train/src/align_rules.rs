//! `glassbox-train align-rules --strains <tsv>`: chapter 8's data report.
//! Packs the kept poems' strains (`j<TAB>marks`, from `cargo xtask data
//! rhyme`) into `assets/data/rhyme/strains.bin`, and writes
//! `assets/data/rhyme/report.json`: the 平水韵 table's tones against the
//! strains, character by character, and the corpus's own scores under the
//! rules, per form.

use std::{collections::HashMap, path::Path};

use compute::{
    align::{
        rules::{FormScores, Rule, Tone, ToneTable, TABLE_PATH},
        strains::{agreement, decode_strains, encode_strains, STRAINS_PATH},
    },
    tang::{decode_corpus, Form, Poem, CORPUS_PATH},
};
use serde_json::json;

pub const REPORT_PATH: &str = "data/rhyme/report.json";

fn e(err: impl std::fmt::Display) -> String {
    err.to_string()
}

pub fn load_table(root: &Path) -> Result<ToneTable, String> {
    let path = root.join("assets").join(TABLE_PATH);
    let tsv = std::fs::read_to_string(&path)
        .map_err(|err| format!("{}: {err} (run `cargo xtask data rhyme`)", path.display()))?;
    ToneTable::parse(&tsv).map_err(e)
}

pub fn load_corpus(root: &Path) -> Result<Vec<Poem>, String> {
    let bytes = std::fs::read(root.join("assets").join(CORPUS_PATH)).map_err(e)?;
    decode_corpus(&bytes).map_err(e)
}

pub fn run(root: &Path, strains_tsv: &Path) -> Result<(), String> {
    let table = load_table(root)?;
    let poems = load_corpus(root)?;
    let text = std::fs::read_to_string(strains_tsv).map_err(e)?;
    let mut by_j: HashMap<usize, Vec<Tone>> = HashMap::new();
    for line in text.lines() {
        let (j, marks) = line
            .split_once('\t')
            .ok_or("a strains line without a tab")?;
        let tones: Option<Vec<Tone>> = marks.chars().map(Tone::from_mark).collect();
        // A record with any other mark is left out rather than guessed.
        if let Some(tones) = tones {
            by_j.insert(j.parse().map_err(e)?, tones);
        }
    }
    let strains: Vec<Option<Vec<Tone>>> = poems
        .iter()
        .map(|p| {
            by_j.get(&p.j)
                .filter(|t| t.len() == p.form.lines() * p.form.width())
                .cloned()
        })
        .collect();
    let bytes = encode_strains(&strains, &poems);
    if decode_strains(&bytes, &poems).map_err(e)? != strains {
        return Err("strains.bin does not decode to the strains".into());
    }
    let out = root.join("assets").join(STRAINS_PATH);
    std::fs::write(&out, &bytes).map_err(e)?;
    let report = report(&table, &poems, &strains);
    let path = root.join("assets").join(REPORT_PATH);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).map_err(e)? + "\n",
    )
    .map_err(e)?;
    println!("{}", serde_json::to_string_pretty(&report).map_err(e)?);
    Ok(())
}

/// The report: the table against the strains, and per form the corpus's
/// scores (all kept poems).
pub fn report(
    table: &ToneTable,
    poems: &[Poem],
    strains: &[Option<Vec<Tone>>],
) -> serde_json::Value {
    let a = agreement(table, poems, strains);
    let forms: Vec<FormScores> = Form::ALL
        .iter()
        .map(|&f| {
            FormScores::of(
                table,
                f,
                poems
                    .iter()
                    .filter(|p| p.form == f)
                    .map(|p| p.text.as_str()),
            )
        })
        .collect();
    let chars: usize = poems.iter().map(|p| p.text.chars().count()).sum();
    let listed: usize = poems
        .iter()
        .flat_map(|p| p.text.chars())
        .filter(|&c| table.contains(c))
        .count();
    let punctuation: usize = poems
        .iter()
        .flat_map(|p| p.text.chars())
        .filter(|c| matches!(c, '，' | '。'))
        .count();
    json!({
        "table": {
            "groups": table.groups.len(),
            "characters": table.len(),
            "corpus_coverage": listed as f64 / (chars - punctuation).max(1) as f64,
        },
        "agreement": {
            "rate": a.rate(),
            "coverage": a.coverage(),
            "counts": a,
        },
        "rules": Rule::ALL.iter().map(|r| r.name(true)).collect::<Vec<_>>(),
        "corpus": forms,
    })
}
