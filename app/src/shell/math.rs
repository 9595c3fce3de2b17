//! Formulas in the teaching text: written once as LaTeX between `$`s,
//! typeset to MathML at build time (`build.rs`, with math-core). The page
//! shows the MathML; screen readers that do not read MathML get the spoken
//! form instead. No math font ships: Chrome, Firefox and Safari draw MathML
//! with the system's own math font.

use leptos::prelude::*;

use crate::i18n::{use_i18n, Locale};

include!(concat!(env!("OUT_DIR"), "/formulas.rs"));

/// A run of teaching text: plain words, or a formula's LaTeX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Math(&'a str),
}

/// Splits text on its `$` delimiters.
pub fn pieces(text: &str) -> impl Iterator<Item = Piece<'_>> {
    text.split('$')
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| {
            if i % 2 == 1 {
                Piece::Math(s)
            } else {
                Piece::Text(s)
            }
        })
}

/// The typeset MathML and the spoken form of a formula, in `locale`.
pub fn formula(latex: &str, locale: Locale) -> Option<(&'static str, &'static str)> {
    FORMULAS
        .binary_search_by(|(l, _, _, _)| (*l).cmp(latex))
        .ok()
        .map(|i| {
            let (_, mathml, en, zh) = FORMULAS[i];
            (mathml, if locale == Locale::zh { zh } else { en })
        })
}

/// Text with its formulas typeset, inline in the surrounding element.
#[component]
pub fn Prose(#[prop(into)] text: String) -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    pieces(&text)
        .map(|piece| match piece {
            Piece::Text(words) => words.to_string().into_any(),
            Piece::Math(latex) => match formula(latex, locale) {
                Some((mathml, spoken)) => view! {
                    <span class="formula">
                        <span class="sr-only">{spoken}</span>
                        <span aria-hidden="true" inner_html=mathml></span>
                    </span>
                }
                .into_any(),
                // build.rs typesets every formula in the content files; one
                // from elsewhere shows as its source.
                None => view! { <code>{latex.to_string()}</code> }.into_any(),
            },
        })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    #[test]
    fn text_splits_into_words_and_formulas() {
        let got: Vec<Piece> = pieces("score $-\\log p(x)$ in nats").collect();
        assert_eq!(
            got,
            [
                Piece::Text("score "),
                Piece::Math("-\\log p(x)"),
                Piece::Text(" in nats")
            ]
        );
    }

    #[test]
    fn the_spoken_form_reads_the_formula() {
        let latex = "p(x_i = 1 \\mid x_{<i})";
        let (_, spoken) = formula(latex, Locale::en).unwrap();
        assert_eq!(spoken, "p(x sub i equals 1 given x sub less than i )");
        let (_, spoken) = formula(latex, Locale::zh).unwrap();
        assert_eq!(spoken, "p(x 下标 i 等于 1 给定 x 下标 小于 i )");
        let (_, spoken) = formula(
            "-\\log p(x) = \\sum_i -\\log p(x_i \\mid x_{<i})",
            Locale::zh,
        )
        .unwrap();
        assert!(
            spoken.starts_with("减 log p(x) 等于 求和 下标 i"),
            "{spoken}"
        );
    }
}
