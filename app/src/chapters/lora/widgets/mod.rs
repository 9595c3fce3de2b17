//! Chapter 5's widgets. They share one URL schema, [`LoraState`]: the
//! poet, the adapter's shape (rank, targets, α), the optimizer's learning
//! rate and steps, which adapter the comparison shows, and the sample's
//! form and seed, so a link, a slide and an embed reproduce the same run.

pub mod compare;
pub mod inside;
pub mod table;
pub mod train;

use compute::{
    models::llama::lora::{LoraConfig, Targets, MAX_RANK, PAGE_DEFAULT, PAGE_LR},
    tang::HELD_OUT_POETS,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    i18n::{td_string, Locale},
    shell::url_state::{use_widget_state, Invalid, Notice, WidgetState},
};

/// The poets as the URL names them, in `HELD_OUT_POETS`' order.
pub const POET_SLUGS: [&str; 3] = ["baijuyi", "dufu", "libai"];
pub const RANKS: [u32; 5] = [1, 2, 4, 8, 16];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraState {
    /// baijuyi, dufu or libai.
    pub poet: String,
    pub rank: u32,
    /// qv, attn or all.
    pub targets: String,
    pub alpha: f32,
    pub lr: f32,
    pub steps: u32,
    /// The comparison's adapter: base, a poet's shipped one, or yours.
    pub swap: String,
    /// The samples' form and seed.
    pub form: String,
    pub seed: u64,
}

impl Default for LoraState {
    fn default() -> Self {
        LoraState {
            poet: "baijuyi".into(),
            rank: PAGE_DEFAULT.rank as u32,
            targets: PAGE_DEFAULT.targets.key().into(),
            alpha: PAGE_DEFAULT.alpha,
            lr: PAGE_LR,
            steps: 60,
            swap: "baijuyi".into(),
            form: "wujue".into(),
            seed: 1,
        }
    }
}

impl WidgetState for LoraState {
    fn validate(&self) -> Result<(), Invalid> {
        if !POET_SLUGS.contains(&self.poet.as_str()) {
            return Err(Invalid::OneOf {
                field: "poet",
                options: "baijuyi, dufu, libai",
            });
        }
        if !RANKS.contains(&self.rank) || self.rank as usize > MAX_RANK {
            return Err(Invalid::OneOf {
                field: "rank",
                options: "1, 2, 4, 8, 16",
            });
        }
        if Targets::from_key(&self.targets).is_none() {
            return Err(Invalid::OneOf {
                field: "targets",
                options: "qv, attn, all",
            });
        }
        if !(0.5..=64.0).contains(&self.alpha) {
            return Err(Invalid::Range {
                field: "alpha",
                lo: "0.5".into(),
                hi: "64".into(),
            });
        }
        if !(1e-5..=0.1).contains(&self.lr) {
            return Err(Invalid::Range {
                field: "lr",
                lo: "0.00001".into(),
                hi: "0.1".into(),
            });
        }
        if !(1..=2000).contains(&self.steps) {
            return Err(Invalid::Range {
                field: "steps",
                lo: "1".into(),
                hi: "2000".into(),
            });
        }
        if !(self.swap == "base"
            || self.swap == "yours"
            || POET_SLUGS.contains(&self.swap.as_str()))
        {
            return Err(Invalid::OneOf {
                field: "swap",
                options: "base, baijuyi, dufu, libai, yours",
            });
        }
        if !crate::chapters::llama::widgets::FORM_SLUGS.contains(&self.form.as_str()) {
            return Err(Invalid::OneOf {
                field: "form",
                options: "wujue, qijue, wulv, qilv",
            });
        }
        Ok(())
    }
}

impl LoraState {
    pub fn poet(&self) -> usize {
        POET_SLUGS.iter().position(|&p| p == self.poet).unwrap_or(0)
    }

    pub fn config(&self) -> LoraConfig {
        LoraConfig {
            rank: self.rank as usize,
            alpha: self.alpha,
            targets: Targets::from_key(&self.targets).unwrap_or(Targets::Qv),
        }
    }

    pub fn form(&self) -> compute::tang::Form {
        crate::chapters::llama::widgets::LlamaState {
            form: self.form.clone(),
            ..Default::default()
        }
        .form()
    }
}

pub fn use_lora_state() -> (
    Memo<LoraState>,
    Signal<Vec<Notice>>,
    impl Fn(LoraState) + Clone + 'static,
) {
    let (parsed, write) = use_widget_state::<LoraState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.get().notices);
    (state, notices, write)
}

/// A poet's name as the corpus writes it; it is a name in both languages.
pub fn poet_name(poet: usize) -> &'static str {
    HELD_OUT_POETS[poet.min(2)]
}

pub fn targets_label(locale: Locale, t: Targets) -> &'static str {
    match t {
        Targets::Qv => td_string!(locale, lora.targets_qv),
        Targets::Attn => td_string!(locale, lora.targets_attn),
        Targets::All => td_string!(locale, lora.targets_all),
    }
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::url_state::{parse_query, to_query};

    #[test]
    fn the_state_round_trips_and_refuses_bad_values() {
        let s = LoraState {
            poet: "libai".into(),
            rank: 16,
            targets: "all".into(),
            swap: "yours".into(),
            ..Default::default()
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&to_query(&s)).unwrap();
        assert_eq!(parse_query::<LoraState>(&pairs).state, s);
        for (k, v) in [
            ("rank", "3"),
            ("targets", "x"),
            ("poet", "wangwei"),
            ("lr", "1"),
            ("steps", "0"),
        ] {
            let bad = vec![(k.to_string(), v.to_string())];
            let parsed = parse_query::<LoraState>(&bad);
            assert_eq!(parsed.state, LoraState::default(), "{k}={v}");
            assert_eq!(parsed.notices.len(), 1, "{k}={v}");
        }
    }
}
