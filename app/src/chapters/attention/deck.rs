//! The chapter as a lecture deck (`present=1`): text steps, and widgets
//! with a preset query. Content only; the shell's `present.rs` shows it.

use crate::shell::{chapter::Step, text::text};

pub const DECK: &[Step] = &[
    Step::Text {
        heading: text!(attention.deck_1_heading),
        body: text!(attention.deck_1_body),
    },
    Step::Text {
        heading: text!(attention.deck_2_heading),
        body: text!(attention.deck_2_body),
    },
    Step::Widget {
        widget: super::embeds::CALCULATOR,
        query: "preset=Llama-2-7B&variant=mha&layers=32&heads=32&kv_heads=32&head_dim=128&context=4096",
        caption: text!(attention.deck_3_caption),
    },
    Step::Widget {
        widget: super::embeds::CALCULATOR,
        query: "preset=Llama-3.1-8B&variant=gqa&layers=32&heads=32&kv_heads=8&head_dim=128&context=131072",
        caption: text!(attention.deck_4_caption),
    },
    Step::Widget {
        widget: super::embeds::CALCULATOR,
        query: "preset=DeepSeek-V2&variant=mla&layers=60&heads=128&kv_heads=128&head_dim=128&kv_lora_rank=512&rope_dim=64&context=131072",
        caption: text!(attention.deck_5_caption),
    },
    Step::Text {
        heading: text!(attention.deck_6_heading),
        body: text!(attention.deck_6_body),
    },
    Step::Widget {
        widget: super::embeds::CALCULATOR,
        query: "preset=Gemma-2-9B&variant=gqa&layers=42&heads=16&kv_heads=8&head_dim=256&context=8192&window=4096&window_layers=alternate",
        caption: text!(attention.deck_7_caption),
    },
    Step::Text {
        heading: text!(attention.deck_8_heading),
        body: text!(attention.deck_8_body),
    },
    Step::Widget {
        widget: super::embeds::LIVE,
        query: "live=mha&live_seed=1&live_cache=true",
        caption: text!(attention.deck_9_caption),
    },
    Step::Widget {
        widget: super::embeds::LIVE,
        query: "live=mla&live_seed=1&live_cache=true&live_form=absorbed",
        caption: text!(attention.deck_10_caption),
    },
    Step::Widget {
        widget: super::embeds::LIVE,
        query: "live=gqa&live_seed=1&live_cache=false",
        caption: text!(attention.deck_11_caption),
    },
    Step::Widget {
        widget: super::embeds::MEMORY,
        query: "live_seed=1&mem_steps=12&mem_pos=5",
        caption: text!(attention.deck_memory_caption),
    },
];

#[cfg(test)]
mod tests {
    use compute::kv_cache::parse_presets;

    use super::*;
    use crate::{
        chapters::attention::widgets::KvState,
        shell::{chapter::preset_notices, url_state::parse_query},
    };

    #[test]
    fn every_preset_query_parses_without_notices() {
        assert_eq!(preset_notices::<KvState>(DECK), Vec::<String>::new());
    }

    /// A calculator step naming a preset shows exactly that preset's shape.
    #[test]
    fn calculator_steps_match_their_presets() {
        let presets = parse_presets(include_str!(
            "../../../../assets/reference/kv-cache-models.json"
        ))
        .unwrap();
        let mut checked = 0;
        for step in DECK {
            let Step::Widget { widget, query, .. } = step else {
                continue;
            };
            if *widget != super::super::embeds::CALCULATOR {
                continue;
            }
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
            let state = parse_query::<KvState>(&pairs).state;
            let preset = presets.iter().find(|p| p.name == state.preset).unwrap();
            assert_eq!(state.with_preset(preset).unwrap(), state, "{query}");
            checked += 1;
        }
        assert!(checked >= 3);
    }
}
