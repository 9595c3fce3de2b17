//! Chapter 8's widgets. They share one URL schema, [`AlignState`]: the
//! poem being checked (either script), the form and seed a poem is written
//! with and by which model, the run the frontier shows, and the
//! labeller's β, so a link, a slide and an embed show the same thing.

pub mod checker;
pub mod frontier;
pub mod implicit;
pub mod labeller;
pub mod proxy;
pub mod stages;

use compute::{
    align::{metrics::Run, rules::Rule},
    tang::Form,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    i18n::{td_string, Locale},
    shell::url_state::{use_widget_state, Invalid, Notice, WidgetState},
};

/// 王之渙《登鸛雀樓》: the checker's first poem.
pub const DEFAULT_POEM: &str = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。";

/// Longest text the checker takes: a 七律 is 64 characters with its
/// punctuation; a little more lets a paste with spaces still say what is
/// wrong with it.
pub const MAX_POEM_CHARS: usize = 80;

pub const METHODS: [&str; 3] = ["base", "dpo", "ppo"];
pub const BETAS: [f32; 3] = [0.1, 0.3, 0.5];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignState {
    /// The poem the checker shows, typed in either script.
    pub poem: String,
    /// The form a poem is written in (五绝, 七绝, 五律, 七律).
    pub form: String,
    pub seed: u64,
    /// Which model writes: base, dpo or ppo.
    pub method: String,
    /// The frontier's chosen run ("" for none).
    pub run: String,
    /// The labeller's DPO β.
    pub beta: f32,
}

impl Default for AlignState {
    fn default() -> Self {
        AlignState {
            poem: DEFAULT_POEM.into(),
            form: "五律".into(),
            seed: 1,
            method: "dpo".into(),
            run: String::new(),
            beta: 0.1,
        }
    }
}

impl AlignState {
    pub fn form(&self) -> Form {
        Form::from_name(&self.form).unwrap_or(Form::Wulv)
    }
}

impl WidgetState for AlignState {
    fn validate(&self) -> Result<(), Invalid> {
        if self.poem.chars().count() > MAX_POEM_CHARS {
            return Err(Invalid::Range {
                field: "poem",
                lo: "0".into(),
                hi: format!("{MAX_POEM_CHARS} characters"),
            });
        }
        if Form::from_name(&self.form).is_none() {
            return Err(Invalid::OneOf {
                field: "form",
                options: "五绝, 七绝, 五律, 七律",
            });
        }
        if self.seed > u32::MAX as u64 {
            return Err(Invalid::Range {
                field: "seed",
                lo: "0".into(),
                hi: u32::MAX.to_string(),
            });
        }
        if !METHODS.contains(&self.method.as_str()) {
            return Err(Invalid::OneOf {
                field: "method",
                options: "base, dpo, ppo",
            });
        }
        if self.run.len() > 40
            || !self
                .run
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
        {
            return Err(Invalid::Parse("run: not a run's name".into()));
        }
        if !BETAS.contains(&self.beta) {
            return Err(Invalid::OneOf {
                field: "beta",
                options: "0.1, 0.3, 0.5",
            });
        }
        Ok(())
    }
}

pub fn use_align_state() -> (
    Memo<AlignState>,
    Signal<Vec<Notice>>,
    impl Fn(AlignState) + Clone + 'static,
) {
    let (parsed, write) = use_widget_state::<AlignState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.get().notices);
    (state, notices, write)
}

/// A rule's name in both scripts, and what it asks, in `locale`'s words.
pub fn rule_names(rule: Rule) -> String {
    let (t, s) = (rule.name(false), rule.name(true));
    if t == s {
        t.to_string()
    } else {
        format!("{t} / {s}")
    }
}

pub fn rule_meaning(locale: Locale, rule: Rule) -> &'static str {
    match rule {
        Rule::Alternate => td_string!(locale, align.rule_alternate),
        Rule::Oppose => td_string!(locale, align.rule_oppose),
        Rule::Stick => td_string!(locale, align.rule_stick),
        Rule::Rhyme => td_string!(locale, align.rule_rhyme),
        Rule::NoLevelTail => td_string!(locale, align.rule_tail),
    }
}

/// A method's name, with its β or KL coefficient.
pub fn run_label(locale: Locale, run: &Run) -> String {
    match run.method.as_str() {
        "dpo" => format!("DPO β = {}", run.parameter),
        "ppo" => format!(
            "PPO {} = {}",
            td_string!(locale, align.kl_coef),
            run.parameter
        ),
        _ => format!(
            "PPO ({}) {} = {}",
            td_string!(locale, align.oracle),
            td_string!(locale, align.kl_coef),
            run.parameter
        ),
    }
}

pub fn percent(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

/// A chart's frame: plot-area size and margins in SVG units.
#[derive(Clone, Copy)]
pub struct Frame {
    pub w: f64,
    pub h: f64,
    pub left: f64,
    pub bottom: f64,
    pub x: (f64, f64),
    pub y: (f64, f64),
}

impl Frame {
    pub fn px(&self, x: f64) -> f64 {
        let (lo, hi) = self.x;
        self.left + (x - lo) / (hi - lo).max(1e-9) * (self.w - self.left - 8.0)
    }

    pub fn py(&self, y: f64) -> f64 {
        let (lo, hi) = self.y;
        8.0 + (1.0 - (y - lo) / (hi - lo).max(1e-9)) * (self.h - self.bottom - 8.0)
    }

    /// The axes, four ticks each, and their labels.
    pub fn axes(&self, x_label: String, y_label: String) -> impl IntoView {
        let f = *self;
        let ticks = |(lo, hi): (f64, f64)| (0..=4).map(move |i| lo + (hi - lo) * i as f64 / 4.0);
        let fmt = |v: f64| {
            if v.abs() >= 10.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        };
        view! {
            <line class="axis" x1=f.left y1=f.py(f.y.0) x2=f.w - 8.0 y2=f.py(f.y.0)/>
            <line class="axis" x1=f.left y1=f.py(f.y.0) x2=f.left y2=8.0/>
            {ticks(f.x).map(|v| view! {
                <text class="tick" x=f.px(v) y=f.h - f.bottom + 14.0 text-anchor="middle">{fmt(v)}</text>
            }).collect_view()}
            {ticks(f.y).map(|v| view! {
                <text class="tick" x=f.left - 4.0 y=f.py(v) + 4.0 text-anchor="end">{fmt(v)}</text>
            }).collect_view()}
            <text class="axis-label" x=(f.left + f.w) / 2.0 y=f.h - 4.0 text-anchor="middle">{x_label}</text>
            <text class="axis-label" x="12" y=f.h / 2.0 text-anchor="middle"
                transform=format!("rotate(-90 12 {})", f.h / 2.0)>{y_label}</text>
        }
    }
}

/// (lo, hi) of `values`, padded a little, never empty.
pub fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    (lo - pad, hi + pad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::url_state::parse_query;

    #[test]
    fn the_state_round_trips_and_refuses_what_it_cannot_show() {
        let pairs = |q: &str| -> Vec<(String, String)> { serde_urlencoded::from_str(q).unwrap() };
        let p = parse_query::<AlignState>(&pairs("form=%E4%BA%94%E7%BB%9D&seed=7&method=ppo"));
        assert_eq!(p.state.form(), Form::Wujue);
        assert_eq!((p.state.seed, p.state.method.as_str()), (7, "ppo"));
        assert!(p.notices.is_empty());
        for bad in [
            "beta=0.2",
            "method=rlhf",
            "form=%E8%A9%9E",
            "run=%3Cscript%3E",
        ] {
            let p = parse_query::<AlignState>(&pairs(bad));
            assert_eq!(p.state, AlignState::default(), "{bad}");
            assert_eq!(p.notices.len(), 1, "{bad}");
        }
        for rule in Rule::ALL {
            for locale in [Locale::en, Locale::zh] {
                assert!(!rule_meaning(locale, rule).is_empty());
            }
        }
    }
}
