//! Chapter 4's widgets. They share one URL schema, [`LlamaState`]: the form,
//! the sampling settings and seed, the characters the visitor forced, the
//! position being inspected, and the acrostic's heads, so a link, a lecture
//! slide and an embed reproduce the same poem.

pub mod acrostic;
pub mod inside;
pub mod scaling;
pub mod write;

use compute::{
    models::llama::sampling::{Generation, Sampling},
    tang::{CharTokenizer, Form},
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    i18n::{td_string, Locale},
    shell::url_state::{use_widget_state, Invalid, Notice, WidgetState},
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaState {
    /// wujue, qijue, wulv or qilv.
    pub form: String,
    pub temp: f32,
    /// 0 keeps every character.
    pub top_k: u32,
    /// 1 keeps every character.
    pub top_p: f32,
    pub seed: u64,
    /// Characters the visitor picked: `position:character`, comma-separated,
    /// positions counting `<bos>` as 0 (the first character is 2).
    pub force: String,
    /// The position whose distribution and insides are shown; 0 for the
    /// poem's last character.
    pub at: u32,
    /// The acrostic's heads: one character per line, or per couplet.
    pub heads: String,
    pub layer: u32,
    /// The query head the RoPE and GQA views follow.
    pub head: u32,
}

impl Default for LlamaState {
    fn default() -> Self {
        LlamaState {
            form: "wujue".into(),
            temp: 0.8,
            top_k: 0,
            top_p: 1.0,
            seed: 1,
            force: String::new(),
            at: 0,
            heads: "春夏秋冬".into(),
            layer: 0,
            head: 0,
        }
    }
}

/// The forms as the URL names them, in `Form::ALL`'s order.
pub const FORM_SLUGS: [&str; 4] = ["wujue", "qijue", "wulv", "qilv"];

/// The most layers and heads a URL may ask for; the model's own sizes are
/// checked when it has loaded.
const MAX_LAYERS: u32 = 16;

impl WidgetState for LlamaState {
    fn validate(&self) -> Result<(), Invalid> {
        if !FORM_SLUGS.contains(&self.form.as_str()) {
            return Err(Invalid::OneOf {
                field: "form",
                options: "wujue, qijue, wulv, qilv",
            });
        }
        if !(0.1..=2.0).contains(&self.temp) {
            return Err(Invalid::Range {
                field: "temp",
                lo: "0.1".into(),
                hi: "2".into(),
            });
        }
        if self.top_k > 500 {
            return Err(Invalid::Range {
                field: "top_k",
                lo: "0".into(),
                hi: "500".into(),
            });
        }
        if !(0.05..=1.0).contains(&self.top_p) {
            return Err(Invalid::Range {
                field: "top_p",
                lo: "0.05".into(),
                hi: "1".into(),
            });
        }
        if parse_force(&self.force).is_none() {
            return Err(Invalid::Config(format!(
                "force={} is not position:character pairs",
                self.force
            )));
        }
        if self.at as usize > Form::Qilv.chars() + 2 {
            return Err(Invalid::Range {
                field: "at",
                lo: "0".into(),
                hi: (Form::Qilv.chars() + 2).to_string(),
            });
        }
        if self.heads.chars().count() > 8 {
            return Err(Invalid::Range {
                field: "heads",
                lo: "0".into(),
                hi: "8 characters".into(),
            });
        }
        if self.layer >= MAX_LAYERS || self.head >= MAX_LAYERS {
            return Err(Invalid::Range {
                field: "layer, head",
                lo: "0".into(),
                hi: (MAX_LAYERS - 1).to_string(),
            });
        }
        Ok(())
    }
}

/// `12:風,20:月` as (position, character) pairs; None if malformed or a
/// position could not hold a character (before 2 or past the longest poem).
pub fn parse_force(text: &str) -> Option<Vec<(usize, char)>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let pairs: Vec<(usize, char)> = text
        .split(',')
        .map(|pair| {
            let (pos, c) = pair.split_once(':')?;
            let pos: usize = pos.trim().parse().ok()?;
            let mut chars = c.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return None;
            };
            (2..=Form::Qilv.chars() + 2)
                .contains(&pos)
                .then_some((pos, c))
        })
        .collect::<Option<_>>()?;
    // One character per position.
    let mut positions: Vec<usize> = pairs.iter().map(|p| p.0).collect();
    positions.sort_unstable();
    positions.dedup();
    (positions.len() == pairs.len()).then_some(pairs)
}

pub fn format_force(pairs: &[(usize, char)]) -> String {
    pairs
        .iter()
        .map(|(p, c)| format!("{p}:{c}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl LlamaState {
    pub fn form(&self) -> Form {
        FORM_SLUGS
            .iter()
            .position(|&s| s == self.form)
            .map_or(Form::Wujue, |i| Form::ALL[i])
    }

    pub fn sampling(&self) -> Sampling {
        Sampling {
            temperature: self.temp,
            top_k: self.top_k as usize,
            top_p: self.top_p,
        }
    }

    /// The write widget's generation: the form's prompt, the seed, and the
    /// forced characters the vocabulary has (in either script).
    pub fn generation(
        &self,
        tokenizer: &CharTokenizer,
        s2t: &compute::tang::SimplifiedToTraditional,
    ) -> Generation {
        let mut g = Generation::poem(self.form(), self.sampling(), self.seed);
        g.forced = parse_force(&self.force)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(pos, c)| Some((pos, tokenizer.typed_id(c, s2t)?)))
            .collect();
        g
    }

    /// The state with `c` forced at `pos`: later choices go, since the
    /// poem after `pos` is rewritten.
    pub fn with_forced(&self, pos: usize, c: char) -> LlamaState {
        let mut pairs: Vec<(usize, char)> = parse_force(&self.force)
            .unwrap_or_default()
            .into_iter()
            .filter(|&(p, _)| p < pos)
            .collect();
        pairs.push((pos, c));
        LlamaState {
            force: format_force(&pairs),
            at: pos as u32,
            ..self.clone()
        }
    }
}

/// The chapter state from the URL, and its writer.
pub fn use_llama_state() -> (
    Memo<LlamaState>,
    Signal<Vec<Notice>>,
    impl Fn(LlamaState) + Clone + 'static,
) {
    let (parsed, write) = use_widget_state::<LlamaState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.get().notices);
    (state, notices, write)
}

/// The form's name in the page's language ("五绝 (4 × 5)").
pub fn form_label(locale: Locale, form: Form) -> String {
    let name = match form {
        Form::Wujue => td_string!(locale, llama.form_wujue),
        Form::Qijue => td_string!(locale, llama.form_qijue),
        Form::Wulv => td_string!(locale, llama.form_wulv),
        Form::Qilv => td_string!(locale, llama.form_qilv),
    };
    name.to_string()
}

/// A signed value in [−1, 1] as a CSS colour (the shared diverging scale).
pub fn signed_css(v: f32) -> String {
    let [r, g, b, _] = crate::chapters::autoregressive::widgets::pixels::diverging(v);
    format!("rgb({r},{g},{b})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::url_state::{parse_query, to_query};

    #[test]
    fn forced_characters_round_trip_through_the_url() {
        let s = LlamaState::default()
            .with_forced(8, '風')
            .with_forced(14, '月');
        assert_eq!(s.force, "8:風,14:月");
        // Forcing earlier drops the later choice: the rest is rewritten.
        assert_eq!(s.with_forced(5, '花').force, "5:花");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&to_query(&s)).unwrap();
        assert_eq!(parse_query::<LlamaState>(&pairs).state, s);
        assert_eq!(parse_force("1:風"), None, "position 1 is the form token");
        assert_eq!(parse_force("8:風月"), None);
        assert_eq!(parse_force("x:風"), None);
        assert_eq!(parse_force("5:風,5:月"), None, "one character per position");
        let bad: Vec<(String, String)> = vec![("force".into(), "nonsense".into())];
        let parsed = parse_query::<LlamaState>(&bad);
        assert_eq!(parsed.state.force, "");
        assert_eq!(parsed.notices.len(), 1);
    }
}
