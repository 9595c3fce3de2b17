//! Chapter 7's widgets. They share one URL schema, [`InstructState`]: the
//! instruction (either script), the seed and the temperature, so a link, a
//! slide and an embed show the same answers.

pub mod accuracy;
pub mod funnel;
pub mod recipe;
pub mod try_it;

use compute::instruct::{model::MAX_INSTRUCTION_CHARS, CheckKind, Kind, ParseError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    i18n::{t, td_string, use_i18n, Locale},
    shell::{
        format::fill,
        url_state::{use_widget_state, Invalid, Notice, WidgetState},
    },
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructState {
    /// The instruction, typed in either script.
    pub instruction: String,
    pub seed: u64,
    pub temperature: f32,
}

impl Default for InstructState {
    fn default() -> Self {
        InstructState {
            instruction: "以「春风秋月」为藏头写一首五绝".into(),
            seed: 1,
            temperature: 0.8,
        }
    }
}

/// Longer than any instruction the model can read, so a URL can still
/// carry one that is too long and the widget say so.
pub const MAX_URL_CHARS: usize = 60;

impl WidgetState for InstructState {
    fn validate(&self) -> Result<(), Invalid> {
        if self.instruction.chars().count() > MAX_URL_CHARS {
            return Err(Invalid::Range {
                field: "instruction",
                lo: "0".into(),
                hi: format!("{MAX_URL_CHARS} characters"),
            });
        }
        if self.seed > u32::MAX as u64 {
            return Err(Invalid::Range {
                field: "seed",
                lo: "0".into(),
                hi: u32::MAX.to_string(),
            });
        }
        if !(0.1..=2.0).contains(&self.temperature) {
            return Err(Invalid::Range {
                field: "temperature",
                lo: "0.1".into(),
                hi: "2".into(),
            });
        }
        Ok(())
    }
}

pub fn use_instruct_state() -> (
    Memo<InstructState>,
    Signal<Vec<Notice>>,
    impl Fn(InstructState) + Clone + 'static,
) {
    let (parsed, write) = use_widget_state::<InstructState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.get().notices);
    (state, notices, write)
}

/// The instruction's text box, shared by the widgets that read it: `set`
/// gets the new text when the visitor commits it.
pub fn instruction_field(
    testid: &'static str,
    state: Memo<InstructState>,
    set: impl Fn(String) + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label class="instruct-box">
            <span>{t!(i18n, instruct.instruction_label)}</span>
            <input type="text" lang="zh" data-testid=testid maxlength="60"
                prop:value=move || state.get().instruction
                on:change=move |ev| set(event_target_value(&ev))/>
        </label>
    }
}

/// Why an instruction cannot be answered or checked, in `locale`'s words.
pub fn say_parse_error(locale: Locale, e: &ParseError) -> String {
    let ch = |c: &char| c.to_string();
    match e {
        ParseError::Empty => td_string!(locale, instruct.err_empty).to_string(),
        ParseError::NoForm => td_string!(locale, instruct.err_no_form).to_string(),
        ParseError::TwoForms => td_string!(locale, instruct.err_two_forms).to_string(),
        ParseError::Unrecognised => td_string!(locale, instruct.err_unrecognised).to_string(),
        ParseError::Unquoted => td_string!(locale, instruct.err_unquoted).to_string(),
        ParseError::Unclosed => td_string!(locale, instruct.err_unclosed).to_string(),
        ParseError::EmptyQuote => td_string!(locale, instruct.err_empty_quote).to_string(),
        ParseError::Unknown(c) => fill(
            td_string!(locale, instruct.err_unknown),
            &[("char", &ch(c))],
        ),
        ParseError::Punctuation(c) => fill(
            td_string!(locale, instruct.err_punctuation),
            &[("char", &ch(c))],
        ),
        ParseError::HeadCount { got, lines } => fill(
            td_string!(locale, instruct.err_head_count),
            &[("got", got), ("lines", lines), ("half", &(lines / 2))],
        ),
        ParseError::LineWidth(w) => {
            fill(td_string!(locale, instruct.err_line_width), &[("width", w)])
        }
        ParseError::FormWidth { form, width } => fill(
            td_string!(locale, instruct.err_form_width),
            &[
                ("form", &form.name()),
                ("width", width),
                ("needs", &form.width()),
            ],
        ),
    }
}

pub fn say_too_long(locale: Locale) -> String {
    fill(
        td_string!(locale, instruct.err_too_long),
        &[("max", &MAX_INSTRUCTION_CHARS)],
    )
}

/// A verifier check, in words.
pub fn say_check(locale: Locale, kind: &CheckKind) -> String {
    match kind {
        CheckKind::Form(f) => fill(
            td_string!(locale, instruct.check_form),
            &[("form", &f.name())],
        ),
        CheckKind::FormOfWidth(w) => {
            fill(td_string!(locale, instruct.check_width), &[("width", w)])
        }
        CheckKind::Contains(c) => fill(
            td_string!(locale, instruct.check_contains),
            &[("char", &c.to_string())],
        ),
        CheckKind::Avoids(c) => fill(
            td_string!(locale, instruct.check_avoids),
            &[("char", &c.to_string())],
        ),
        CheckKind::Heads => td_string!(locale, instruct.check_heads).to_string(),
        CheckKind::OpensWith => td_string!(locale, instruct.check_opens).to_string(),
    }
}

/// An instruction type's name.
pub fn kind_name(locale: Locale, kind: Kind) -> &'static str {
    match kind {
        Kind::Form => td_string!(locale, instruct.kind_form),
        Kind::Keyword => td_string!(locale, instruct.kind_keyword),
        Kind::Exclusion => td_string!(locale, instruct.kind_exclusion),
        Kind::Acrostic => td_string!(locale, instruct.kind_acrostic),
        Kind::Continuation => td_string!(locale, instruct.kind_continuation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::url_state::parse_query;

    #[test]
    fn the_state_round_trips_and_refuses_what_it_cannot_show() {
        let pairs = |q: &str| -> Vec<(String, String)> { serde_urlencoded::from_str(q).unwrap() };
        let p = parse_query::<InstructState>(&pairs(
            "instruction=%E5%86%99%E4%B8%80%E9%A6%96%E4%BA%94%E7%BB%9D&seed=7",
        ));
        assert_eq!(p.state.instruction, "写一首五绝");
        assert_eq!(p.state.seed, 7);
        assert!(p.notices.is_empty());
        let p = parse_query::<InstructState>(&pairs("temperature=9"));
        assert_eq!(p.state.temperature, InstructState::default().temperature);
        assert_eq!(p.notices.len(), 1);
        // Every parse error has words in both languages.
        for e in [
            ParseError::Empty,
            ParseError::Unknown('x'),
            ParseError::HeadCount { got: 3, lines: 4 },
        ] {
            for locale in [Locale::en, Locale::zh] {
                let said = say_parse_error(locale, &e);
                assert!(!said.is_empty() && !said.contains('{'), "{said}");
            }
        }
    }
}
