//! Two things the app's source needs at build time:
//! - the translations: `locales/<lang>/<namespace>.json` become the typed
//!   `i18n` module (`$OUT_DIR/i18n/mod.rs`), through leptos_i18n's parser
//!   and code generator. A key missing from either language stops the build.
//! - the formulas: every `$…$` span in the content files is LaTeX; math-core
//!   turns it into MathML, and a short spoken form is made for screen
//!   readers that do not read MathML. The table lands in
//!   `$OUT_DIR/formulas.rs`, which `math.rs` includes. A formula math-core
//!   cannot typeset stops the build.

use std::{collections::BTreeMap, env, fs, path::Path};

use leptos_i18n_parser::parse_locales::{
    options::{Config, ParseOptions},
    parse_locales,
};
use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};

/// The languages, English first (the default). Each has the same translation
/// files, `locales/<lang>/<namespace>.json`: the shell's, and one per chapter
/// named by its slug, so a new chapter's texts need no change here.
const LANGUAGES: [&str; 2] = ["en", "zh"];

/// The namespaces: the names of `locales/en/*.json`, sorted.
fn namespaces() -> Vec<String> {
    println!("cargo:rerun-if-changed=locales/en");
    let mut names: Vec<String> = fs::read_dir("locales/en")
        .expect("locales/en")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// The files whose text may hold `$…$` formulas, besides the translations.
const CONTENT: [&str; 4] = [
    "src/chapters/autoregressive/widgets/costs.rs",
    "src/chapters/autoregressive/widgets/sample.rs",
    "src/chapters/autoregressive/widgets/score.rs",
    "src/chapters/attention/widgets/calculator.rs",
];

fn main() {
    translations();
    formulas();
}

fn translations() {
    let config = Config::new(LANGUAGES[0])
        .and_then(|c| c.add_locales(&LANGUAGES[1..]))
        .and_then(|c| c.add_namespaces(namespaces()))
        .map(|c| c.parse_options(ParseOptions::new().interpolate_display(true)))
        .unwrap_or_else(|e| panic!("translations' config: {e}"));
    let parsed = parse_locales(None, config).unwrap_or_else(|e| panic!("translations: {e}"));
    for file in parsed.tracked_files.iter().flatten() {
        println!("cargo:rerun-if-changed={file}");
    }
    // leptos_i18n only warns about a key one language lacks (and shows the
    // default's text); here every key must exist in both.
    let (errors, warnings) = parsed.diag.borrow();
    let problems: Vec<String> = errors
        .iter()
        .map(|e| e.to_string())
        .chain(warnings.iter().map(|w| w.to_string()))
        .collect();
    if !problems.is_empty() {
        panic!("translations:\n{}", problems.join("\n"));
    }
    drop((errors, warnings));
    let lints: proc_macro2::TokenStream = "#![allow(clippy::all, missing_docs)]".parse().unwrap();
    let code = leptos_i18n_codegen::gen_code(&parsed, None, false, Some(&lints), false)
        .unwrap_or_else(|e| panic!("translations' code: {e}"));
    let dir = Path::new(&env::var("OUT_DIR").unwrap()).join("i18n");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("mod.rs"), code.to_string()).unwrap();
}

fn formulas() {
    let converter = LatexToMathML::new(MathCoreConfig::default()).expect("math-core's config");
    let mut formulas = BTreeMap::new();
    let locale_files = LANGUAGES.iter().flat_map(|l| {
        namespaces()
            .into_iter()
            .map(move |n| format!("locales/{l}/{n}.json"))
    });
    for file in CONTENT.iter().map(|f| f.to_string()).chain(locale_files) {
        let file = file.as_str();
        println!("cargo:rerun-if-changed={file}");
        let source = fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (n, line) in source.lines().enumerate() {
            let spans: Vec<&str> = line.split('$').collect();
            if spans.len().is_multiple_of(2) {
                panic!(
                    "{file}:{}: a `$` without its pair (a formula stays on one line)",
                    n + 1
                );
            }
            for latex in spans.iter().skip(1).step_by(2) {
                // The files are Rust (or JSON) source: `\\` is one backslash.
                let latex = latex.replace("\\\\", "\\");
                let typeset = converter
                    .convert_with_local_state(&latex, MathDisplay::Inline)
                    .unwrap_or_else(|e| panic!("{file}:{}: `{latex}`: {e}", n + 1));
                if typeset.warnings.has_any() {
                    panic!("{file}:{}: `{latex}`: math-core warns about it", n + 1);
                }
                let said = (
                    spoken(&latex, Voice::English),
                    spoken(&latex, Voice::Chinese),
                );
                formulas.insert(latex.clone(), (typeset.mathml, said));
            }
        }
    }
    let mut out = String::from(
        "/// (LaTeX, MathML, spoken in English, spoken in Chinese), sorted by\n\
         /// LaTeX; written by build.rs.\n\
         pub static FORMULAS: &[(&str, &str, &str, &str)] = &[\n",
    );
    for (latex, (mathml, (en, zh))) in &formulas {
        out.push_str(&format!("    ({latex:?}, {mathml:?}, {en:?}, {zh:?}),\n"));
    }
    out.push_str("];\n");
    let path = Path::new(&env::var("OUT_DIR").unwrap()).join("formulas.rs");
    fs::write(path, out).unwrap();
}

/// How each LaTeX token is read aloud: (token, English, Chinese); anything
/// else is read as written. Longer commands come first (`\cdots` before
/// `\cdot`).
const SPOKEN: &[(&str, &str, &str)] = &[
    ("\\prod", " the product over ", " 连乘 "),
    ("\\sum", " the sum over ", " 求和 "),
    ("\\mid", " given ", " 给定 "),
    ("\\cdots", " and so on ", " 依此类推 "),
    ("\\cdot", " times ", " 乘 "),
    ("\\times", " by ", " 乘 "),
    ("\\log", " log ", " log "),
    ("\\ln", " ln ", " ln "),
    ("\\sigma", " sigma ", " sigma "),
    ("\\propto", " proportional to ", " 正比于 "),
    ("\\exp", " exp ", " exp "),
    ("\\pi", " pi ", " pi "),
    ("\\alpha", " alpha ", " alpha "),
    ("\\beta", " beta ", " beta "),
    ("\\epsilon", " epsilon ", " epsilon "),
    ("\\sqrt", " the square root of ", " 平方根 "),
    ("\\frac", " the fraction ", " 分式 "),
    ("\\top", " transposed ", " 转置 "),
    ("\\gamma", " gamma ", " gamma "),
    ("\\Delta", " delta ", " delta "),
    ("\\odot", " times, element by element, ", " 逐元素乘 "),
    ("\\varnothing", " no object ", " 无目标 "),
    ("\\emptyset", " no object ", " 无目标 "),
    ("\\ldots", " and so on ", " 依此类推 "),
    ("\\dots", " and so on ", " 依此类推 "),
    ("\\le", " at most ", " 小于等于 "),
    ("\\approx", " approximately ", " 约等于 "),
    ("\\ge", " at least ", " 大于等于 "),
    ("\\quad", ", ", "，"),
    ("\\,", " ", " "),
    ("\\left", "", ""),
    ("\\right", "", ""),
    ("\\mathrm", "", ""),
    ("\\text", "", ""),
    ("\\operatorname", "", ""),
    ("\\mathcal", "", ""),
    ("-", " minus ", " 减 "),
    ("−", " minus ", " 减 "),
    ("+", " plus ", " 加 "),
    ("=", " equals ", " 等于 "),
    ("<", " less than ", " 小于 "),
    (">", " greater than ", " 大于 "),
    ("^", " superscript ", " 上标 "),
    ("_", " sub ", " 下标 "),
    ("}{", " over ", " 除以 "),
    ("{", " ", " "),
    ("}", " ", " "),
];

#[derive(Clone, Copy, PartialEq)]
enum Voice {
    English,
    Chinese,
}

/// A formula in words, for screen readers where MathML is not read:
/// `p(x_i \mid x_{<i})` becomes "p(x sub i given x sub less than i )" in
/// English and "p(x 下标 i 给定 x 下标 小于 i )" in Chinese.
fn spoken(latex: &str, voice: Voice) -> String {
    let mut text = String::new();
    let mut rest = latex;
    'scan: while let Some(c) = rest.chars().next() {
        for &(pattern, english, chinese) in SPOKEN {
            if let Some(after) = rest.strip_prefix(pattern) {
                // A command's name ends where its letters do (\le, not \left).
                let is_command = pattern.starts_with('\\')
                    && pattern[1..].chars().all(|c| c.is_ascii_alphabetic());
                if is_command && after.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    continue;
                }
                text.push_str(match voice {
                    Voice::English => english,
                    Voice::Chinese => chinese,
                });
                rest = after;
                continue 'scan;
            }
        }
        text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    // "the sum over sub i" reads better as "the sum over i".
    let text = text.replace("over  sub ", "over ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
