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
