//! Every embeddable widget, addressable as `/embed/<slug>`.

pub mod ar;
pub mod asset_check;
pub mod attention;
pub mod detr;
pub mod file_picker;
pub mod gpu_bench;
pub mod gpu_selftest;
pub mod llama;
pub mod lora;
pub mod pad_keys;
pub mod search;

use leptos::prelude::*;

use crate::{
    chapters::Chapter,
    chunks::{Lazy, Part},
    i18n::{td_string, use_i18n, Locale},
    url_state::Notice,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Widget {
    GpuSelfTest,
    GpuBench,
    ArSample,
    ArScore,
    ArComplete,
    ArCosts,
    ArReceptive,
    KvCalculator,
    KvLive,
    KvMemory,
    DetrDetect,
    DetrQueries,
    DetrAttention,
    DetrMatching,
    DetrPipeline,
    LlamaWrite,
    LlamaAcrostic,
    LlamaInside,
    LlamaScaling,
    LlamaSpeed,
    LoraTrain,
    LoraCompare,
    LoraInside,
    LoraTable,
    SearchBuild,
    SearchQuery,
    SearchIntersect,
    SearchPipeline,
}

impl Widget {
    pub const ALL: [Widget; 28] = [
        Widget::GpuSelfTest,
        Widget::GpuBench,
        Widget::ArSample,
        Widget::ArScore,
        Widget::ArComplete,
        Widget::ArCosts,
        Widget::ArReceptive,
        Widget::KvCalculator,
        Widget::KvLive,
        Widget::KvMemory,
        Widget::DetrDetect,
        Widget::DetrQueries,
        Widget::DetrAttention,
        Widget::DetrMatching,
        Widget::DetrPipeline,
        Widget::LlamaWrite,
        Widget::LlamaAcrostic,
        Widget::LlamaInside,
        Widget::LlamaScaling,
        Widget::LlamaSpeed,
        Widget::LoraTrain,
        Widget::LoraCompare,
        Widget::LoraInside,
        Widget::LoraTable,
        Widget::SearchBuild,
        Widget::SearchQuery,
        Widget::SearchIntersect,
        Widget::SearchPipeline,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Widget::GpuSelfTest => "gpu-selftest",
            Widget::GpuBench => "gpu-bench",
            Widget::ArSample => "ar-sample",
            Widget::ArScore => "ar-score",
            Widget::ArComplete => "ar-complete",
            Widget::ArCosts => "ar-costs",
            Widget::ArReceptive => "ar-receptive",
            Widget::KvCalculator => "kv-calculator",
            Widget::KvLive => "kv-live",
            Widget::KvMemory => "kv-memory",
            Widget::DetrDetect => "detr-detect",
            Widget::DetrQueries => "detr-queries",
            Widget::DetrAttention => "detr-attention",
            Widget::DetrMatching => "detr-matching",
            Widget::DetrPipeline => "detr-pipeline",
            Widget::LlamaWrite => "llama-write",
            Widget::LlamaAcrostic => "llama-acrostic",
            Widget::LlamaInside => "llama-inside",
            Widget::LlamaScaling => "llama-scaling",
            Widget::LlamaSpeed => "llama-speed",
            Widget::LoraTrain => "lora-train",
            Widget::LoraCompare => "lora-compare",
            Widget::LoraInside => "lora-inside",
            Widget::LoraTable => "lora-table",
            Widget::SearchBuild => "search-build",
            Widget::SearchQuery => "search-query",
            Widget::SearchIntersect => "search-intersect",
            Widget::SearchPipeline => "search-pipeline",
        }
    }

    /// What the widget shows, in words: an embed's iframe `title`, which
    /// screen readers announce.
    pub fn title(self, locale: Locale) -> &'static str {
        match self {
            Widget::GpuSelfTest => td_string!(locale, shell.widget_gpu_selftest),
            Widget::GpuBench => td_string!(locale, shell.widget_gpu_bench),
            Widget::ArSample => td_string!(locale, shell.widget_ar_sample),
            Widget::ArScore => td_string!(locale, shell.widget_ar_score),
            Widget::ArComplete => td_string!(locale, shell.widget_ar_complete),
            Widget::ArCosts => td_string!(locale, shell.widget_ar_costs),
            Widget::ArReceptive => td_string!(locale, shell.widget_ar_receptive),
            Widget::KvCalculator => td_string!(locale, shell.widget_kv_calculator),
            Widget::KvLive => td_string!(locale, shell.widget_kv_live),
            Widget::KvMemory => td_string!(locale, shell.widget_kv_memory),
            Widget::DetrDetect => td_string!(locale, shell.widget_detr_detect),
            Widget::DetrQueries => td_string!(locale, shell.widget_detr_queries),
            Widget::DetrAttention => td_string!(locale, shell.widget_detr_attention),
            Widget::DetrMatching => td_string!(locale, shell.widget_detr_matching),
            Widget::DetrPipeline => td_string!(locale, shell.widget_detr_pipeline),
            Widget::LlamaWrite => td_string!(locale, shell.widget_llama_write),
            Widget::LlamaAcrostic => td_string!(locale, shell.widget_llama_acrostic),
            Widget::LlamaInside => td_string!(locale, shell.widget_llama_inside),
            Widget::LlamaScaling => td_string!(locale, shell.widget_llama_scaling),
            Widget::LlamaSpeed => td_string!(locale, shell.widget_llama_speed),
            Widget::LoraTrain => td_string!(locale, shell.widget_lora_train),
            Widget::LoraCompare => td_string!(locale, shell.widget_lora_compare),
            Widget::LoraInside => td_string!(locale, shell.widget_lora_inside),
            Widget::LoraTable => td_string!(locale, shell.widget_lora_table),
            Widget::SearchBuild => td_string!(locale, shell.widget_search_build),
            Widget::SearchQuery => td_string!(locale, shell.widget_search_query),
            Widget::SearchIntersect => td_string!(locale, shell.widget_search_intersect),
            Widget::SearchPipeline => td_string!(locale, shell.widget_search_pipeline),
        }
    }

    /// The full page the widget belongs to, for the "open in glassbox" link.
    pub fn page(self) -> &'static str {
        match self {
            Widget::GpuSelfTest | Widget::GpuBench => "/gpu",
            Widget::ArSample
            | Widget::ArScore
            | Widget::ArComplete
            | Widget::ArCosts
            | Widget::ArReceptive => "/autoregressive",
            Widget::KvCalculator | Widget::KvLive | Widget::KvMemory => "/attention",
            Widget::DetrDetect
            | Widget::DetrQueries
            | Widget::DetrAttention
            | Widget::DetrMatching
            | Widget::DetrPipeline => "/detr",
            Widget::LlamaWrite
            | Widget::LlamaAcrostic
            | Widget::LlamaInside
            | Widget::LlamaScaling
            | Widget::LlamaSpeed => "/llama",
            Widget::LoraTrain | Widget::LoraCompare | Widget::LoraInside | Widget::LoraTable => {
                "/lora"
            }
            Widget::SearchBuild
            | Widget::SearchQuery
            | Widget::SearchIntersect
            | Widget::SearchPipeline => "/search",
        }
    }

    /// The chapter the widget belongs to; `None` for the GPU page's.
    pub fn chapter(self) -> Option<Chapter> {
        match self {
            Widget::GpuSelfTest | Widget::GpuBench => None,
            Widget::ArSample
            | Widget::ArScore
            | Widget::ArComplete
            | Widget::ArCosts
            | Widget::ArReceptive => Some(Chapter::Autoregressive),
            Widget::KvCalculator | Widget::KvLive | Widget::KvMemory => Some(Chapter::Attention),
            Widget::DetrDetect
            | Widget::DetrQueries
            | Widget::DetrAttention
            | Widget::DetrMatching
            | Widget::DetrPipeline => Some(Chapter::Detr),
            Widget::LlamaWrite
            | Widget::LlamaAcrostic
            | Widget::LlamaInside
            | Widget::LlamaScaling
            | Widget::LlamaSpeed => Some(Chapter::Llama),
            Widget::LoraTrain | Widget::LoraCompare | Widget::LoraInside | Widget::LoraTable => {
                Some(Chapter::Lora)
            }
            Widget::SearchBuild
            | Widget::SearchQuery
            | Widget::SearchIntersect
            | Widget::SearchPipeline => Some(Chapter::Search),
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Widget::ALL.into_iter().find(|w| w.slug() == slug)
    }
}

/// One widget, drawn by its chapter's chunk (embeds and lecture decks).
#[component]
pub fn WidgetView(widget: Widget) -> impl IntoView {
    view! { <Lazy part=Part::Widget(widget)/> }
}

/// What the URL parser ignored, said once at the top of the widget.
#[component]
pub fn UrlNotices(#[prop(into)] notices: Signal<Vec<Notice>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Show when=move || !notices.read().is_empty()>
            <ul class="notices" role="status" data-testid="url-notices">
                {move || notices.get().into_iter().map(|n| view! { <li>{n.say(i18n.get_locale())}</li> }).collect_view()}
            </ul>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip() {
        for widget in Widget::ALL {
            assert_eq!(Widget::from_slug(widget.slug()), Some(widget));
        }
        assert_eq!(Widget::from_slug("nope"), None);
    }
}
