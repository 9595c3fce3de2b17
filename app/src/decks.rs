//! Presentation mode's decks: each chapter as a sequence of steps for a
//! lecturer. Content only, like `chapters.rs`; `present.rs` shows them.
//!
//! A step is a short text in large type, or one widget with a preset state
//! written as the URL query it would have on the chapter page (parameters
//! left out keep their defaults).

use crate::{
    chapters::Chapter,
    i18n::{td_string, Locale},
    widgets::Widget,
};

/// A text in the page's language, from `locales/<lang>/decks.json`.
pub type Text = fn(Locale) -> &'static str;

/// The deck text under `key` in `decks.json`.
macro_rules! tr {
    ($key:ident) => {
        |locale: Locale| td_string!(locale, decks.$key)
    };
}

#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// A heading and at most about 40 words.
    Text { heading: Text, body: Text },
    /// One widget in a preset state, with a line saying what to look at.
    Widget {
        widget: Widget,
        query: &'static str,
        caption: Text,
    },
}

/// MNIST test digit 699, a 7, as chapter 1's drawing code (what "Load a real
/// test digit" writes for #699; a test checks it against the committed split).
/// A macro, so `concat!` can put it into queries.
macro_rules! test_seven {
    () => {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAfAAAH8AAH_wAA-GAAAA4AAADgAAAcAAABwAAAGAAAA4AAADAAAAMAAABwAAAGAAAA4AAADgAAAMAAAAwAAADgAAAMAAAAAAA"
    };
}
pub const TEST_SEVEN: (usize, &str) = (699, test_seven!());

const AUTOREGRESSIVE: &[Step] = &[
    Step::Text {
        heading: tr!(ar_1_heading),
        body: tr!(ar_1_body),
    },
    Step::Widget {
        widget: Widget::ArScore,
        query: concat!("x=", test_seven!()),
        caption: tr!(ar_2_caption),
    },
    Step::Text {
        heading: tr!(ar_3_heading),
        body: tr!(ar_3_body),
    },
    Step::Widget {
        widget: Widget::ArSample,
        query: "model=nade&seed=3&speed=16",
        caption: tr!(ar_4_caption),
    },
    Step::Widget {
        widget: Widget::ArSample,
        query: "model=pixelcnn&seed=3&speed=16",
        caption: tr!(ar_5_caption),
    },
    Step::Widget {
        widget: Widget::ArReceptive,
        query: concat!("pixel=400&x=", test_seven!()),
        caption: tr!(ar_receptive_caption),
    },
    Step::Text {
        heading: tr!(ar_6_heading),
        body: tr!(ar_6_body),
    },
    Step::Widget {
        widget: Widget::ArComplete,
        query: concat!("rows=14&x=", test_seven!()),
        caption: tr!(ar_7_caption),
    },
    Step::Widget {
        widget: Widget::ArCosts,
        query: "",
        caption: tr!(ar_8_caption),
    },
    Step::Text {
        heading: tr!(ar_9_heading),
        body: tr!(ar_9_body),
    },
];

const ATTENTION: &[Step] = &[
    Step::Text {
        heading: tr!(kv_1_heading),
        body: tr!(kv_1_body),
    },
    Step::Text {
        heading: tr!(kv_2_heading),
        body: tr!(kv_2_body),
    },
    Step::Widget {
        widget: Widget::KvCalculator,
        query: "preset=Llama-2-7B&variant=mha&layers=32&heads=32&kv_heads=32&head_dim=128&context=4096",
        caption: tr!(kv_3_caption),
    },
    Step::Widget {
        widget: Widget::KvCalculator,
        query: "preset=Llama-3.1-8B&variant=gqa&layers=32&heads=32&kv_heads=8&head_dim=128&context=131072",
        caption: tr!(kv_4_caption),
    },
    Step::Widget {
        widget: Widget::KvCalculator,
        query: "preset=DeepSeek-V2&variant=mla&layers=60&heads=128&kv_heads=128&head_dim=128&kv_lora_rank=512&rope_dim=64&context=131072",
        caption: tr!(kv_5_caption),
    },
    Step::Text {
        heading: tr!(kv_6_heading),
        body: tr!(kv_6_body),
    },
    Step::Widget {
        widget: Widget::KvCalculator,
        query: "preset=Gemma-2-9B&variant=gqa&layers=42&heads=16&kv_heads=8&head_dim=256&context=8192&window=4096&window_layers=alternate",
        caption: tr!(kv_7_caption),
    },
    Step::Text {
        heading: tr!(kv_8_heading),
        body: tr!(kv_8_body),
    },
    Step::Widget {
        widget: Widget::KvLive,
        query: "live=mha&live_seed=1&live_cache=true",
        caption: tr!(kv_9_caption),
    },
    Step::Widget {
        widget: Widget::KvLive,
        query: "live=mla&live_seed=1&live_cache=true&live_form=absorbed",
        caption: tr!(kv_10_caption),
    },
    Step::Widget {
        widget: Widget::KvLive,
        query: "live=gqa&live_seed=1&live_cache=false",
        caption: tr!(kv_11_caption),
    },
    Step::Widget {
        widget: Widget::KvMemory,
        query: "live_seed=1&mem_steps=12&mem_pos=5",
        caption: tr!(kv_memory_caption),
    },
];

const DETR: &[Step] = &[
    Step::Text {
        heading: tr!(detr_1_heading),
        body: tr!(detr_1_body),
    },
    Step::Widget {
        widget: Widget::DetrDetect,
        query: "scene=1",
        caption: tr!(detr_2_caption),
    },
    Step::Text {
        heading: tr!(detr_3_heading),
        body: tr!(detr_3_body),
    },
    Step::Widget {
        widget: Widget::DetrQueries,
        query: "scene=1",
        caption: tr!(detr_4_caption),
    },
    Step::Widget {
        widget: Widget::DetrQueries,
        query: "scene=1&layer=0",
        caption: tr!(detr_5_caption),
    },
    Step::Widget {
        widget: Widget::DetrAttention,
        query: "scene=1&query=0&cell=66",
        caption: tr!(detr_6_caption),
    },
    Step::Text {
        heading: tr!(detr_7_heading),
        body: tr!(detr_7_body),
    },
    Step::Widget {
        widget: Widget::DetrMatching,
        query: "scene=1",
        caption: tr!(detr_8_caption),
    },
    Step::Widget {
        widget: Widget::DetrPipeline,
        query: "scene=1&stage=7&query=0",
        caption: tr!(detr_pipeline_caption),
    },
    Step::Widget {
        widget: Widget::DetrDetect,
        query: "scene=7&conf=30",
        caption: tr!(detr_9_caption),
    },
    Step::Text {
        heading: tr!(detr_10_heading),
        body: tr!(detr_10_body),
    },
];

const LLAMA: &[Step] = &[
    Step::Text {
        heading: tr!(llama_1_heading),
        body: tr!(llama_1_body),
    },
    Step::Widget {
        widget: Widget::LlamaWrite,
        query: "form=wujue&seed=1",
        caption: tr!(llama_2_caption),
    },
    Step::Widget {
        widget: Widget::LlamaWrite,
        query: "form=qilv&seed=3&temp=1",
        caption: tr!(llama_3_caption),
    },
    Step::Text {
        heading: tr!(llama_4_heading),
        body: tr!(llama_4_body),
    },
    Step::Widget {
        widget: Widget::LlamaAcrostic,
        query: "heads=%E6%98%A5%E5%A4%8F%E7%A7%8B%E5%86%AC",
        caption: tr!(llama_5_caption),
    },
    Step::Text {
        heading: tr!(llama_6_heading),
        body: tr!(llama_6_body),
    },
    Step::Widget {
        widget: Widget::LlamaInside,
        query: "layer=1",
        caption: tr!(llama_7_caption),
    },
    Step::Widget {
        widget: Widget::LlamaScaling,
        query: "",
        caption: tr!(llama_8_caption),
    },
    Step::Widget {
        widget: Widget::LlamaSpeed,
        query: "",
        caption: tr!(llama_9_caption),
    },
    Step::Text {
        heading: tr!(llama_10_heading),
        body: tr!(llama_10_body),
    },
];

/// 明月 故乡, percent-encoded.
macro_rules! moon_home {
    () => {
        "q=%E6%98%8E%E6%9C%88%20%E6%95%85%E4%B9%A1"
    };
}

const LORA: &[Step] = &[
    Step::Text {
        heading: tr!(lora_1_heading),
        body: tr!(lora_1_body),
    },
    Step::Widget {
        widget: Widget::LoraTrain,
        query: "steps=40",
        caption: tr!(lora_2_caption),
    },
    Step::Text {
        heading: tr!(lora_3_heading),
        body: tr!(lora_3_body),
    },
    Step::Widget {
        widget: Widget::LoraCompare,
        query: "swap=base",
        caption: tr!(lora_4_caption),
    },
    Step::Widget {
        widget: Widget::LoraCompare,
        query: "swap=dufu&poet=dufu",
        caption: tr!(lora_5_caption),
    },
    Step::Widget {
        widget: Widget::LoraInside,
        query: "swap=libai&poet=libai",
        caption: tr!(lora_6_caption),
    },
    Step::Widget {
        widget: Widget::LoraTable,
        query: "poet=baijuyi",
        caption: tr!(lora_7_caption),
    },
    Step::Text {
        heading: tr!(lora_8_heading),
        body: tr!(lora_8_body),
    },
];

const SEARCH: &[Step] = &[
    Step::Text {
        heading: tr!(search_1_heading),
        body: tr!(search_1_body),
    },
    Step::Widget {
        widget: Widget::SearchBuild,
        query: "q=%E6%98%8E%E6%9C%88",
        caption: tr!(search_2_caption),
    },
    Step::Widget {
        widget: Widget::SearchQuery,
        query: "q=%E6%98%8E%E6%9C%88",
        caption: tr!(search_3_caption),
    },
    Step::Text {
        heading: tr!(search_4_heading),
        body: tr!(search_4_body),
    },
    Step::Widget {
        widget: Widget::SearchIntersect,
        query: concat!(moon_home!(), "&mode=merge&at=20"),
        caption: tr!(search_5_caption),
    },
    Step::Widget {
        widget: Widget::SearchIntersect,
        query: concat!(moon_home!(), "&mode=gallop&at=20"),
        caption: tr!(search_6_caption),
    },
    Step::Text {
        heading: tr!(search_7_heading),
        body: tr!(search_7_body),
    },
    Step::Widget {
        widget: Widget::SearchQuery,
        query: concat!(moon_home!(), "&k1=2&b=0.3"),
        caption: tr!(search_8_caption),
    },
    Step::Widget {
        widget: Widget::SearchPipeline,
        query: "q=%E6%98%8E%E6%9C%88&w=0.5",
        caption: tr!(search_9_caption),
    },
    Step::Text {
        heading: tr!(search_10_heading),
        body: tr!(search_10_body),
    },
];

/// The chapter's deck.
pub fn deck(chapter: Chapter) -> &'static [Step] {
    match chapter {
        Chapter::Autoregressive => AUTOREGRESSIVE,
        Chapter::Attention => ATTENTION,
        Chapter::Detr => DETR,
        Chapter::Llama => LLAMA,
        Chapter::Lora => LORA,
        Chapter::Search => SEARCH,
    }
}

/// Every text of every deck (headings, bodies, captions) in `locale`, for
/// checks that cover all content.
pub fn all_text(locale: Locale) -> impl Iterator<Item = &'static str> {
    Chapter::ALL
        .into_iter()
        .flat_map(|c| deck(c).iter())
        .flat_map(move |step| match *step {
            Step::Text { heading, body } => [heading(locale), body(locale)],
            Step::Widget { caption, .. } => [caption(locale), ""],
        })
}

#[cfg(test)]
mod tests {
    use compute::kv_cache::parse_presets;

    use super::*;
    use crate::{
        url_state::{parse_query, WidgetState},
        widgets::{
            ar::ArState, attention::KvState, detr::DetrState, llama::LlamaState, lora::LoraState,
            search::SearchState,
        },
    };

    fn pairs(query: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(query).unwrap()
    }

    fn notices<S: WidgetState>(query: &str) -> Vec<crate::url_state::Notice> {
        parse_query::<S>(&pairs(query)).notices
    }

    #[test]
    fn every_deck_has_eight_steps_and_uses_every_widget_of_its_chapter() {
        for chapter in Chapter::ALL {
            let steps = deck(chapter);
            assert!(steps.len() >= 8, "{chapter:?} has {} steps", steps.len());
            let page = format!("/{}", chapter.slug());
            for widget in Widget::ALL.into_iter().filter(|w| w.page() == page) {
                assert!(
                    steps
                        .iter()
                        .any(|s| matches!(s, Step::Widget { widget: w, .. } if *w == widget)),
                    "{chapter:?}'s deck never shows {widget:?}"
                );
            }
        }
    }

    /// Projected text stays short: at most 45 English words, and at most
    /// 100 characters of Chinese.
    #[test]
    fn text_steps_are_short() {
        for step in Chapter::ALL.into_iter().flat_map(deck) {
            if let Step::Text { heading, body } = step {
                let words = body(Locale::en).split_whitespace().count();
                assert!(words <= 45, "“{}” has {words} words", heading(Locale::en));
                let chars = body(Locale::zh).chars().count();
                assert!(
                    chars <= 100,
                    "“{}” has {chars} characters",
                    heading(Locale::zh)
                );
            }
        }
    }

    #[test]
    fn every_preset_query_parses_without_notices() {
        for step in Chapter::ALL.into_iter().flat_map(deck) {
            let Step::Widget { widget, query, .. } = step else {
                continue;
            };
            let ignored = match widget.page() {
                "/autoregressive" => notices::<ArState>(query),
                "/attention" => notices::<KvState>(query),
                "/detr" => notices::<DetrState>(query),
                "/llama" => notices::<LlamaState>(query),
                "/search" => notices::<SearchState>(query),
                "/lora" => notices::<LoraState>(query),
                other => panic!("{widget:?} belongs to {other}, which has no deck"),
            };
            assert!(ignored.is_empty(), "{widget:?} {query}: {ignored:?}");
        }
    }

    /// A calculator step naming a preset shows exactly that preset's shape.
    #[test]
    fn calculator_steps_match_their_presets() {
        let presets =
            parse_presets(include_str!("../../assets/reference/kv-cache-models.json")).unwrap();
        let mut checked = 0;
        for step in deck(Chapter::Attention) {
            let Step::Widget {
                widget: Widget::KvCalculator,
                query,
                ..
            } = step
            else {
                continue;
            };
            let state = parse_query::<KvState>(&pairs(query)).state;
            let preset = presets.iter().find(|p| p.name == state.preset).unwrap();
            assert_eq!(state.with_preset(preset).unwrap(), state, "{query}");
            checked += 1;
        }
        assert!(checked >= 3);
    }

    /// TEST_SEVEN is what "Load a real test digit" writes for its index.
    #[test]
    fn the_test_seven_is_test_digit_699() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/data/mnist-test.safetensors"
        ))
        .unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let images = st.tensor("images").unwrap();
        let labels = st.tensor("labels").unwrap();
        let (index, code) = TEST_SEVEN;
        assert_eq!(labels.data()[index], 7);
        let image: Vec<f32> = images.data()[index * 784..(index + 1) * 784]
            .iter()
            .map(|&p| (p >= 128) as u8 as f32)
            .collect();
        assert_eq!(compute::models::ar::image_to_code(&image), code);
        for step in deck(Chapter::Autoregressive) {
            if let Step::Widget { query, .. } = step {
                if let Some(x) = query.split('&').find_map(|p| p.strip_prefix("x=")) {
                    assert_eq!(x, code, "{query}");
                }
            }
        }
    }
}
